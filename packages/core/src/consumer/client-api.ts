// The consumer's broker calls (MQClientAPIImpl): headers built as the 4.9.8 client writes them
// (10.1, 10.4, 10.5, 8.3), responses mapped to results or MQBrokerError.
import { MQBrokerError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import type { RemotingClient } from '../remoting/client.js';
import { RC_UNREGISTER_CLIENT, RS_SUCCESS } from '../remoting/codes.js';
import { RC_GET_CONSUMER_LIST_BY_GROUP, RC_PULL_MESSAGE, RC_QUERY_CONSUMER_OFFSET, RC_UPDATE_CONSUMER_OFFSET, RS_PULL_NOT_FOUND, RS_PULL_OFFSET_MOVED, RS_PULL_RETRY_IMMEDIATELY } from './codes.js';
import { createRequest, type RemotingCommand, type SerializeType } from '../remoting/command.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { parseLenientJson } from '../remoting/json.js';
import { utf8Decoder } from '../utf8.js';

/** PullSysFlag bits (10.1). */
export const PullSysFlag = { COMMIT_OFFSET: 0x1, SUSPEND: 0x2, SUBSCRIPTION: 0x4, CLASS_FILTER: 0x8, LITE_PULL: 0x10 } as const;

export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

export interface PullResult {
  pullStatus: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  suggestWhichBrokerId: number;
  /** Stored records, one after another (FOUND only). */
  body?: Uint8Array;
}

/** PullMessageRequestHeader fields, as numbers and strings. */
export interface PullMessageRequestHeader {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  /** Sent only with the SUBSCRIPTION flag. */
  subscription?: string;
  subVersion: number;
  expressionType?: string;
  bname?: string;
}

/** What every call needs: the client, the header serialization, and the timeout of non-pull calls. */
export interface ClientApi {
  client: RemotingClient;
  serializeType: SerializeType;
  timeoutMs: number;
}

const str = (fields: Record<string, string | number | undefined>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = `${v}`;
  return out;
};

/** A header in Java HashMap order (how both serializations write headers without a hand-written encoder). */
const header = (fields: Record<string, string | number | undefined>): Record<string, string> => inJavaOrder(str(fields));

const num = (res: RemotingCommand, key: string): number => Number(res.extFields?.[key] ?? 0);

const brokerError = (res: RemotingCommand, addr: string): MQBrokerError => new MQBrokerError(res.code, res.remark ?? '', addr);

/**
 * PULL_MESSAGE. The JSON header is a HashMap; the binary one is written by a hand-written encoder in
 * field declaration order, which is how `h` lists them (1.3).
 */
export function buildPullRequest(h: PullMessageRequestHeader, serializeType: SerializeType): RemotingCommand {
  const fields = str({
    consumerGroup: h.consumerGroup, topic: h.topic, queueId: h.queueId, queueOffset: h.queueOffset, maxMsgNums: h.maxMsgNums,
    sysFlag: h.sysFlag, commitOffset: h.commitOffset, suspendTimeoutMillis: h.suspendTimeoutMillis, subscription: h.subscription,
    subVersion: h.subVersion, expressionType: h.expressionType, bname: h.bname,
  });
  return createRequest(RC_PULL_MESSAGE, serializeType === 'JSON' ? inJavaOrder(fields) : fields, { serializeType });
}

/** processPullResponse: response code → PullStatus; any other code is an MQBrokerError. */
export function processPullResponse(res: RemotingCommand, addr: string): PullResult {
  const status: Record<number, PullStatus> = {
    [RS_SUCCESS]: 'FOUND',
    [RS_PULL_NOT_FOUND]: 'NO_NEW_MSG',
    [RS_PULL_RETRY_IMMEDIATELY]: 'NO_MATCHED_MSG',
    [RS_PULL_OFFSET_MOVED]: 'OFFSET_ILLEGAL',
  };
  const pullStatus = status[res.code];
  if (!pullStatus) throw brokerError(res, addr);
  const r: PullResult = {
    pullStatus,
    nextBeginOffset: num(res, 'nextBeginOffset'),
    minOffset: num(res, 'minOffset'),
    maxOffset: num(res, 'maxOffset'),
    suggestWhichBrokerId: num(res, 'suggestWhichBrokerId'),
  };
  if (res.body) r.body = res.body;
  return r;
}

export async function pullMessage(api: ClientApi, addr: string, h: PullMessageRequestHeader, timeoutMs: number, signal?: AbortSignal): Promise<PullResult> {
  return processPullResponse(await api.client.invoke(addr, buildPullRequest(h, api.serializeType), timeoutMs, signal), addr);
}

/**
 * The header of QUERY_CONSUMER_OFFSET and UPDATE_CONSUMER_OFFSET. Java fills the HashMap from a
 * HashSet of the header's fields, so keys sharing a bucket (bname, commitOffset) come in that set's
 * order; this insertion order reproduces the captured frames.
 */
const offsetHeader = (group: string, mq: MessageQueue, commitOffset?: number) =>
  header({ topic: mq.topic, consumerGroup: group, queueId: mq.queueId, bname: mq.brokerName, commitOffset });

/** QUERY_CONSUMER_OFFSET (14): the group's committed offset; MQBrokerError (QUERY_NOT_FOUND…) when it has none. */
export async function queryConsumerOffset(api: ClientApi, addr: string, group: string, mq: MessageQueue): Promise<number> {
  const req = createRequest(RC_QUERY_CONSUMER_OFFSET, offsetHeader(group, mq), { serializeType: api.serializeType });
  const res = await api.client.invoke(addr, req, api.timeoutMs);
  if (res.code !== RS_SUCCESS) throw brokerError(res, addr);
  return num(res, 'offset');
}

/** UPDATE_CONSUMER_OFFSET (15); oneway (the periodic persist) or two-way (commitSync). */
export async function updateConsumerOffset(api: ClientApi, addr: string, group: string, mq: MessageQueue, offset: number, oneway: boolean): Promise<void> {
  const req = createRequest(RC_UPDATE_CONSUMER_OFFSET, offsetHeader(group, mq, offset), { serializeType: api.serializeType, oneway });
  if (oneway) return api.client.invokeOneway(addr, req);
  const res = await api.client.invoke(addr, req, api.timeoutMs);
  if (res.code !== RS_SUCCESS) throw brokerError(res, addr);
}

/** GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29): the header `offset` of the answer. */
export async function queueOffset(api: ClientApi, addr: string, code: number, mq: MessageQueue, timestamp?: number): Promise<number> {
  // A 5.x broker reads boundaryType LOWER as "the first message stored at or after"; 4.9.8 ignores it.
  const fields = header({ topic: mq.topic, queueId: mq.queueId, timestamp, boundaryType: timestamp === undefined ? undefined : 'LOWER', bname: mq.brokerName });
  const res = await api.client.invoke(addr, createRequest(code, fields, { serializeType: api.serializeType }), api.timeoutMs);
  if (res.code !== RS_SUCCESS) throw brokerError(res, addr);
  return num(res, 'offset');
}

/** GET_CONSUMER_LIST_BY_GROUP (38): the client ids of a group's members. */
export async function getConsumerIdListByGroup(api: ClientApi, addr: string, consumerGroup: string): Promise<string[]> {
  const req = createRequest(RC_GET_CONSUMER_LIST_BY_GROUP, { consumerGroup }, { serializeType: api.serializeType });
  const res = await api.client.invoke(addr, req, api.timeoutMs);
  if (res.code !== RS_SUCCESS) throw brokerError(res, addr);
  const body = res.body?.length ? (parseLenientJson(utf8Decoder.decode(res.body)) as { consumerIdList?: unknown }) : undefined;
  const ids = body?.consumerIdList;
  return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
}

/** UNREGISTER_CLIENT (35) for one group. */
export async function unregisterClient(api: ClientApi, addr: string, clientID: string, group: { consumerGroup: string } | { producerGroup: string }): Promise<void> {
  const req = createRequest(RC_UNREGISTER_CLIENT, header({ clientID, ...group }), { serializeType: api.serializeType });
  const res = await api.client.invoke(addr, req, api.timeoutMs);
  if (res.code !== RS_SUCCESS) throw brokerError(res, addr);
}
