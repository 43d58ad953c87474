// Producer options: one object of named DEFAULT_* constants (DefaultMQProducer / ClientConfig, 5.2),
// validated once in the constructor.
import { MQClientError } from '../errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE, validateGroup } from '../message/index.js';
import type { SerializeType } from '../remoting/command.js';
import type { Transport } from '../transport.js';
import type { Clock, LatencyTableName } from './fault.js';

export const DEFAULT_PRODUCER_GROUP = 'DEFAULT_PRODUCER';
export const CLIENT_INNER_PRODUCER_GROUP = 'CLIENT_INNER_PRODUCER';
export const DEFAULT_SEND_MSG_TIMEOUT = 3000;
export const DEFAULT_RETRY_TIMES_WHEN_SEND_FAILED = 2;
export const DEFAULT_RETRY_TIMES_WHEN_SEND_ASYNC_FAILED = 2;
export const DEFAULT_COMPRESS_MSG_BODY_OVER_HOWMUCH = 4096;
export const DEFAULT_TOPIC_QUEUE_NUMS = 4;
export const DEFAULT_CREATE_TOPIC_KEY = 'TBW102';
export const DEFAULT_MQ_CLIENT_API_TIMEOUT = 3000;
export const DEFAULT_POLL_NAME_SERVER_INTERVAL = 30_000;
export const DEFAULT_HEARTBEAT_BROKER_INTERVAL = 30_000;
export const DEFAULT_MAX_ASYNC_IN_FLIGHT = 10_000;
export const DEFAULT_MAX_ASYNC_IN_FLIGHT_BYTES = 100 * 1024 * 1024;
/** Placeholder client IP: browsers cannot learn their address; only used in the client id. */
export const DEFAULT_CLIENT_IP = '127.0.0.1';
/** 4.9.8 retry set: TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, NO_PERMISSION, NO_BUYER_ID, NOT_IN_CURRENT_UNIT (SYSTEM_BUSY is not retried). */
export const DEFAULT_RETRY_RESPONSE_CODES: readonly number[] = [17, 14, 1, 16, 204, 205];
/**
 * '5.x' penalties (isolation → 10 s, slow send ≥ 550 ms → 2 s) rather than 4.9.8's (isolation →
 * 10 min): an edge client is short-lived and often has few brokers, so one hiccup must not bench
 * a broker for ten minutes. Only used when sendLatencyFaultEnable is on (default off, as in Java).
 */
export const DEFAULT_LATENCY_TABLE: LatencyTableName = '5.x';

export interface ProducerOptions {
  transport: Transport;
  producerGroup?: string;
  /** Total budget of one send, covering route lookup and every retry. */
  sendMsgTimeout?: number;
  retryTimesWhenSendFailed?: number;
  retryTimesWhenSendAsyncFailed?: number;
  retryAnotherBrokerWhenNotStoreOK?: boolean;
  /** Broker response codes that make a sync send retry on another broker. */
  retryResponseCodes?: readonly number[];
  compressMsgBodyOverHowmuch?: number;
  maxMessageSize?: number;
  defaultTopicQueueNums?: number;
  createTopicKey?: string;
  sendLatencyFaultEnable?: boolean;
  latencyTable?: LatencyTableName;
  mqClientApiTimeout?: number;
  pollNameServerInterval?: number;
  heartbeatBrokerInterval?: number;
  maxAsyncInFlight?: number;
  maxAsyncInFlightBytes?: number;
  /** 'wait': wait for capacity within the send's timeout; 'reject': fail at once. */
  asyncBackpressure?: 'wait' | 'reject';
  serializeType?: SerializeType;
  /** Used in the client id only; web runtimes cannot know their address. */
  clientIP?: string;
  /** Client id suffix; default random per Producer (Java: `<pid>#<nanoTime>`). */
  instanceName?: string;
  clock?: Clock;
}

export type ResolvedProducerOptions = Required<Omit<ProducerOptions, 'clock' | 'instanceName'>> & Pick<ProducerOptions, 'clock' | 'instanceName'>;

const DEFAULTS = {
  producerGroup: DEFAULT_PRODUCER_GROUP,
  sendMsgTimeout: DEFAULT_SEND_MSG_TIMEOUT,
  retryTimesWhenSendFailed: DEFAULT_RETRY_TIMES_WHEN_SEND_FAILED,
  retryTimesWhenSendAsyncFailed: DEFAULT_RETRY_TIMES_WHEN_SEND_ASYNC_FAILED,
  retryAnotherBrokerWhenNotStoreOK: false,
  retryResponseCodes: DEFAULT_RETRY_RESPONSE_CODES,
  compressMsgBodyOverHowmuch: DEFAULT_COMPRESS_MSG_BODY_OVER_HOWMUCH,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS,
  createTopicKey: DEFAULT_CREATE_TOPIC_KEY,
  sendLatencyFaultEnable: false,
  latencyTable: DEFAULT_LATENCY_TABLE,
  mqClientApiTimeout: DEFAULT_MQ_CLIENT_API_TIMEOUT,
  pollNameServerInterval: DEFAULT_POLL_NAME_SERVER_INTERVAL,
  heartbeatBrokerInterval: DEFAULT_HEARTBEAT_BROKER_INTERVAL,
  maxAsyncInFlight: DEFAULT_MAX_ASYNC_IN_FLIGHT,
  maxAsyncInFlightBytes: DEFAULT_MAX_ASYNC_IN_FLIGHT_BYTES,
  asyncBackpressure: 'wait',
  serializeType: 'JSON',
  clientIP: DEFAULT_CLIENT_IP,
} as const;

/** Whole-number options and their minimum, `name:min` separated by spaces. */
const MINIMUMS =
  'sendMsgTimeout:1 retryTimesWhenSendFailed:0 retryTimesWhenSendAsyncFailed:0 compressMsgBodyOverHowmuch:0 maxMessageSize:1 ' +
  'defaultTopicQueueNums:1 mqClientApiTimeout:1 pollNameServerInterval:10 heartbeatBrokerInterval:10 maxAsyncInFlight:1 maxAsyncInFlightBytes:1';

export function resolveProducerOptions(o: ProducerOptions): ResolvedProducerOptions {
  const bad = (name: string, why: string): never => {
    throw new MQClientError(-1, `ProducerOptions.${name} ${why}`);
  };
  if (typeof o?.transport?.connect !== 'function') bad('transport', 'is required (e.g. a TcpTransport or WebSocketTransport)');
  const r: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) r[k] = v;
  validateGroup(r.producerGroup as string);
  for (const item of MINIMUMS.split(' ')) {
    const [k, min] = item.split(':') as [string, string];
    const v = r[k];
    if (!Number.isInteger(v) || (v as number) < +min) bad(k, `must be a whole number ≥ ${min}, got ${String(v)}`);
  }
  for (const [k, allowed] of [['latencyTable', '4.9 5.x'], ['asyncBackpressure', 'wait reject'], ['serializeType', 'JSON ROCKETMQ']] as const) {
    if (!allowed.split(' ').includes(r[k] as string)) bad(k, `must be one of ${allowed}`);
  }
  if (!r.createTopicKey) bad('createTopicKey', 'must not be empty');
  if (!/^[^@]+$/.test(r.clientIP as string)) bad('clientIP', 'must be a non-empty address without "@"');
  return r as ResolvedProducerOptions;
}
