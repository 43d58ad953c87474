// Numbers from RocketMQ 4.9.8 (RequestCode, ResponseCode, ClientErrorCode, LanguageCode).
// Names match the Java constants so RocketMQ users can grep for them.
//
// The codes core itself sends or tests are also plain `const`s below: esbuild inlines those into
// the bundle, while the objects (the public API) are only bundled when an app uses them. esbuild
// (0.28) inlines only the primitive `const`s a module declares before anything else, and only in a
// module that imports nothing: so they come first here, and so other modules' numbers that core
// uses at run time (flags, frame limit, MASTER_ID, PERM_WRITE) are defined here and re-exported there.

/** RemotingCommand flag bit 0: this is a response. Bit 1: oneway request, the peer must not answer. */
export const FLAG_RESPONSE = 0x1;
export const FLAG_ONEWAY = 0x2;
/** The Java decoder's default frame limit (NettyDecoder, com.rocketmq.remoting.frameMaxLength). */
export const DEFAULT_MAX_FRAME_SIZE = 16_777_216; // 16 MiB
/** MixAll.MASTER_ID: producers only ever talk to the master (re-exported by route/topic-route.ts). */
export const MASTER_ID = '0';
/** PermName.PERM_WRITE. */
export const PERM_WRITE = 2;
export const RC_HEART_BEAT = 34;
export const RC_UNREGISTER_CLIENT = 35;
export const RC_END_TRANSACTION = 37;
export const RC_CHECK_TRANSACTION_STATE = 39;
export const RC_GET_ROUTEINFO_BY_TOPIC = 105;
export const RC_SEND_MESSAGE_V2 = 310;
export const RC_SEND_BATCH_MESSAGE = 320;
export const RC_SEND_REPLY_MESSAGE_V2 = 325;
export const RC_PUSH_REPLY_MESSAGE_TO_CLIENT = 326;
export const RS_SUCCESS = 0;
export const RS_SYSTEM_ERROR = 1;
export const RS_REQUEST_CODE_NOT_SUPPORTED = 3;
export const RS_MESSAGE_ILLEGAL = 13;
export const RS_TOPIC_NOT_EXIST = 17;
export const CE_CONNECT_BROKER_EXCEPTION = 10001;
export const CE_ACCESS_BROKER_TIMEOUT = 10002;
export const CE_BROKER_NOT_EXIST_EXCEPTION = 10003;
export const CE_NO_NAME_SERVER_EXCEPTION = 10004;
export const CE_NOT_FOUND_TOPIC_EXCEPTION = 10005;
export const CE_REQUEST_TIMEOUT_EXCEPTION = 10006;
export const CE_CREATE_REPLY_MESSAGE_EXCEPTION = 10007;
/**
 * Starts the remark of a refusal by the rocketmq-edge gateway's policy (a topic outside the
 * token's claim, a request code it does not relay): no other broker would answer otherwise, so the
 * producer never retries it, whatever its code (16 NO_PERMISSION is retried when a broker says it).
 */
export const GATEWAY_DENIED = '[GATEWAY_DENIED]';

/** MQVersion ordinal of 4.9.8. >= 401 makes name servers answer with standard JSON. */
export const VERSION_4_9_8 = 409;

export const RequestCode = {
  SEND_MESSAGE: 10,
  PULL_MESSAGE: 11,
  QUERY_MESSAGE: 12,
  QUERY_CONSUMER_OFFSET: 14,
  UPDATE_CONSUMER_OFFSET: 15,
  UPDATE_AND_CREATE_TOPIC: 17,
  GET_ALL_TOPIC_CONFIG: 21,
  SEARCH_OFFSET_BY_TIMESTAMP: 29,
  GET_MAX_OFFSET: 30,
  GET_MIN_OFFSET: 31,
  GET_EARLIEST_MSG_STORETIME: 32,
  VIEW_MESSAGE_BY_ID: 33,
  HEART_BEAT: RC_HEART_BEAT,
  UNREGISTER_CLIENT: RC_UNREGISTER_CLIENT,
  CONSUMER_SEND_MSG_BACK: 36,
  END_TRANSACTION: RC_END_TRANSACTION,
  GET_CONSUMER_LIST_BY_GROUP: 38,
  CHECK_TRANSACTION_STATE: RC_CHECK_TRANSACTION_STATE,
  NOTIFY_CONSUMER_IDS_CHANGED: 40,
  LOCK_BATCH_MQ: 41,
  UNLOCK_BATCH_MQ: 42,
  CHECK_CLIENT_CONFIG: 46,
  REGISTER_BROKER: 103,
  UNREGISTER_BROKER: 104,
  GET_ROUTEINFO_BY_TOPIC: RC_GET_ROUTEINFO_BY_TOPIC,
  GET_BROKER_CLUSTER_INFO: 106,
  GET_ALL_TOPIC_LIST_FROM_NAMESERVER: 206,
  SEND_MESSAGE_V2: RC_SEND_MESSAGE_V2,
  SEND_BATCH_MESSAGE: RC_SEND_BATCH_MESSAGE,
  SEND_REPLY_MESSAGE: 324,
  SEND_REPLY_MESSAGE_V2: RC_SEND_REPLY_MESSAGE_V2,
  PUSH_REPLY_MESSAGE_TO_CLIENT: RC_PUSH_REPLY_MESSAGE_TO_CLIENT,
} as const;

export const ResponseCode = {
  SUCCESS: RS_SUCCESS,
  SYSTEM_ERROR: RS_SYSTEM_ERROR,
  SYSTEM_BUSY: 2,
  REQUEST_CODE_NOT_SUPPORTED: RS_REQUEST_CODE_NOT_SUPPORTED,
  TRANSACTION_FAILED: 4,
  FLUSH_DISK_TIMEOUT: 10,
  SLAVE_NOT_AVAILABLE: 11,
  FLUSH_SLAVE_TIMEOUT: 12,
  MESSAGE_ILLEGAL: RS_MESSAGE_ILLEGAL,
  SERVICE_NOT_AVAILABLE: 14,
  VERSION_NOT_SUPPORTED: 15,
  NO_PERMISSION: 16,
  TOPIC_NOT_EXIST: RS_TOPIC_NOT_EXIST,
  TOPIC_EXIST_ALREADY: 18,
  PULL_NOT_FOUND: 19,
  PULL_RETRY_IMMEDIATELY: 20,
  PULL_OFFSET_MOVED: 21,
  QUERY_NOT_FOUND: 22,
  SUBSCRIPTION_PARSE_FAILED: 23,
  SUBSCRIPTION_NOT_EXIST: 24,
  SUBSCRIPTION_NOT_LATEST: 25,
  SUBSCRIPTION_GROUP_NOT_EXIST: 26,
  NO_BUYER_ID: 204,
  NOT_IN_CURRENT_UNIT: 205,
  FLOW_CONTROL: 215,
  GO_AWAY: 1500,
} as const;

/** Codes the client itself puts on MQClientError (ClientErrorCode.java). */
export const ClientErrorCode = {
  CONNECT_BROKER_EXCEPTION: CE_CONNECT_BROKER_EXCEPTION,
  ACCESS_BROKER_TIMEOUT: CE_ACCESS_BROKER_TIMEOUT,
  BROKER_NOT_EXIST_EXCEPTION: CE_BROKER_NOT_EXIST_EXCEPTION,
  NO_NAME_SERVER_EXCEPTION: CE_NO_NAME_SERVER_EXCEPTION,
  NOT_FOUND_TOPIC_EXCEPTION: CE_NOT_FOUND_TOPIC_EXCEPTION,
  REQUEST_TIMEOUT_EXCEPTION: CE_REQUEST_TIMEOUT_EXCEPTION,
  CREATE_REPLY_MESSAGE_EXCEPTION: CE_CREATE_REPLY_MESSAGE_EXCEPTION,
} as const;

/** LanguageCode.java: the name travels in JSON headers, the byte in binary headers. */
export const LANGUAGE_CODES: readonly string[] = 'JAVA CPP DOTNET PYTHON DELPHI ERLANG RUBY OTHER HTTP GO PHP OMS RUST NODE_JS'.split(' ');

export function nameOfCode(table: Record<string, number>, code: number): string {
  for (const [k, v] of Object.entries(table)) if (v === code) return k;
  return `CODE_${code}`;
}
