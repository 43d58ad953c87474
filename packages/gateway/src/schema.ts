// What a relayed request may contain, per request code: the header fields its Java header class
// declares (no others), each value well-formed, and the body the gateway understands. The result
// is the one view of the request that policy reads and that the gateway encodes upstream, so no
// parser behind the gateway can see a field or value that was not checked (ARCHITECTURE.md).
import {
  CodecError,
  GROUP_MAX_LENGTH,
  RequestCode,
  ResponseCode,
  TOPIC_MAX_LENGTH,
  countBatchRecords,
  nameOfCode,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import type { RefusalReason } from './metrics.js';
import { isValidTopic } from './topics.js';

type Kind = 'topic' | 'group' | 'int' | 'long' | 'bool' | 'name' | 'properties' | 'expression' | 'createTopicKey';
/** Field name → kind; a trailing `?` on the kind marks an optional field. */
type Fields = Record<string, `${Kind}` | `${Kind}?`>;
type BodyKind = 'none' | 'message' | 'batch' | 'heartbeat' | 'lockBatch';

interface Schema {
  fields: Fields;
  body: BodyKind;
  /** Request codes a client sends to the name server; every other one goes to a broker alias. */
  namesrv?: true;
  /** Consumer requests: relayed only when the gateway relays consumers. */
  consumer?: true;
}

// SendMessageRequestHeaderV2 letters (protocol 3.2); V1 carries the same under long names.
const SEND_V2: Fields = {
  a: 'group', b: 'topic', c: 'createTopicKey', d: 'int', e: 'int', f: 'int', g: 'long', h: 'int',
  i: 'properties?', j: 'int?', k: 'bool?', l: 'int?', m: 'bool?', n: 'name?',
};
const SEND_V1: Fields = {
  producerGroup: 'group', topic: 'topic', defaultTopic: 'createTopicKey', defaultTopicQueueNums: 'int', queueId: 'int',
  sysFlag: 'int', bornTimestamp: 'long', flag: 'int', properties: 'properties?', reconsumeTimes: 'int?', unitMode: 'bool?',
  maxReconsumeTimes: 'int?', batch: 'bool?', bname: 'name?',
};
const QUEUE: Fields = { topic: 'topic', queueId: 'int', bname: 'name?' };

/** Every request code the gateway can check. A code without a schema is never relayed. */
export const SCHEMAS: ReadonlyMap<number, Schema> = new Map<number, Schema>([
  [RequestCode.GET_ROUTEINFO_BY_TOPIC, { fields: { topic: 'topic' }, body: 'none', namesrv: true }],
  [RequestCode.SEND_MESSAGE_V2, { fields: SEND_V2, body: 'message' }],
  [RequestCode.SEND_BATCH_MESSAGE, { fields: SEND_V2, body: 'batch' }],
  [RequestCode.SEND_MESSAGE, { fields: SEND_V1, body: 'message' }],
  // A reply (MessageUtil.createReplyMessage) is sent like a message, under codes of its own (7.2).
  [RequestCode.SEND_REPLY_MESSAGE_V2, { fields: SEND_V2, body: 'message' }],
  [RequestCode.SEND_REPLY_MESSAGE, { fields: SEND_V1, body: 'message' }],
  // EndTransactionRequestHeader (7.3); bname and topic are 5.x additions a 4.9.8 broker ignores.
  [RequestCode.END_TRANSACTION, {
    fields: {
      producerGroup: 'group', tranStateTableOffset: 'long', commitLogOffset: 'long', commitOrRollback: 'int',
      fromTransactionCheck: 'bool?', msgId: 'name', transactionId: 'name?', bname: 'name?', topic: 'topic?',
    },
    body: 'none',
  }],
  [RequestCode.HEART_BEAT, { fields: {}, body: 'heartbeat' }],
  [RequestCode.UNREGISTER_CLIENT, { fields: { clientID: 'name', producerGroup: 'group?', consumerGroup: 'group?' }, body: 'none' }],
  [RequestCode.PULL_MESSAGE, {
    fields: {
      consumerGroup: 'group', ...QUEUE, queueOffset: 'long', maxMsgNums: 'int', sysFlag: 'int', commitOffset: 'long',
      suspendTimeoutMillis: 'long', subscription: 'expression?', subVersion: 'long', expressionType: 'name?', maxMsgBytes: 'int?',
    },
    body: 'none', consumer: true,
  }],
  [RequestCode.QUERY_CONSUMER_OFFSET, { fields: { consumerGroup: 'group', ...QUEUE, setZeroIfNotFound: 'bool?' }, body: 'none', consumer: true }],
  [RequestCode.UPDATE_CONSUMER_OFFSET, { fields: { consumerGroup: 'group', ...QUEUE, commitOffset: 'long' }, body: 'none', consumer: true }],
  [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { fields: { ...QUEUE, timestamp: 'long', boundaryType: 'name?' }, body: 'none', consumer: true }],
  [RequestCode.GET_MAX_OFFSET, { fields: { ...QUEUE, committed: 'bool?' }, body: 'none', consumer: true }],
  [RequestCode.GET_MIN_OFFSET, { fields: QUEUE, body: 'none', consumer: true }],
  [RequestCode.GET_CONSUMER_LIST_BY_GROUP, { fields: { consumerGroup: 'group' }, body: 'none', consumer: true }],
  [RequestCode.LOCK_BATCH_MQ, { fields: {}, body: 'lockBatch', consumer: true }],
  [RequestCode.UNLOCK_BATCH_MQ, { fields: {}, body: 'lockBatch', consumer: true }],
]);

/** A request as the gateway checked it: forward `cmd` (re-encoded), decide on `topics`. */
export interface CheckedRequest {
  cmd: RemotingCommand;
  /** Every topic the request names, in its header and its body. */
  topics: string[];
  /** The request registers consumers (heartbeat with consumer data). */
  registersConsumers: boolean;
  /** Every consumer group the request names (header "consumerGroup", heartbeat and lock bodies). */
  groups: string[];
  /** HEART_BEAT only: the client id and the producer groups it registers. */
  heartbeat?: { clientID: string; producerGroups: string[] };
}

export interface Refusal { code: number; reason: RefusalReason; remark: string }

export interface SchemaContext {
  createTopicKey: string;
  maxBatchMessages: number;
}

const INT32 = /^-?\d{1,10}$/;
const INT64 = /^-?\d{1,19}$/;
/** Topics by RocketMQ's rules, the same check the token's topic matching makes (topics.ts). */
const TOPIC = { test: isValidTopic };
const GROUP = new RegExp(`^[%|\\w-]{1,${GROUP_MAX_LENGTH}}$`);
// Broker names, client ids, enum names: printable, no control characters.
const NAME = /^[^\x00-\x1f\x7f]{1,255}$/;
const EXPRESSION = /^[^\x00-\x1f\x7f]{1,4096}$/;
const MAX_PROPERTIES_BYTES = 0x7fff;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

export const codeName = (code: number): string => `${code} (${nameOfCode(RequestCode, code)})`;

/** Why `value` is not a well-formed `kind`, or undefined when it is. */
function problem(kind: Kind, value: string, ctx: SchemaContext): string | undefined {
  switch (kind) {
    case 'topic': return TOPIC.test(value) ? undefined : `is not a topic name (1..${TOPIC_MAX_LENGTH} characters of letters, digits, %, |, _ and -)`;
    case 'group': return GROUP.test(value) ? undefined : `is not a group name (1..${GROUP_MAX_LENGTH} characters of letters, digits, %, |, _ and -)`;
    case 'int': return INT32.test(value) && Math.abs(+value) <= 0x7fffffff ? undefined : 'is not a 32-bit integer';
    case 'long': return INT64.test(value) && (value.length < 19 || BigInt.asIntN(64, BigInt(value)) === BigInt(value)) ? undefined : 'is not a 64-bit integer';
    case 'bool': return value === 'true' || value === 'false' ? undefined : 'is not true or false';
    case 'name': return NAME.test(value) ? undefined : 'is not 1..255 printable characters';
    case 'expression': return EXPRESSION.test(value) ? undefined : 'is not 1..4096 printable characters';
    case 'properties':
      // Two bytes per UTF-16 unit bound the UTF-8 size from above in the common case; measure only when close.
      return value.length * 3 <= MAX_PROPERTIES_BYTES || utf8.encode(value).length <= MAX_PROPERTIES_BYTES ? undefined : `is over ${MAX_PROPERTIES_BYTES} bytes`;
    case 'createTopicKey': return value === ctx.createTopicKey ? undefined : `must be this gateway's default topic "${ctx.createTopicKey}"`;
  }
}

const refusal = (remark: string, reason: RefusalReason = 'malformed', code: number = ResponseCode.MESSAGE_ILLEGAL): Refusal => ({ code, reason, remark });

/**
 * Checks a decoded request against the schema of its code. Returns the checked request (its
 * extFields are exactly the known, well-formed fields; bodies the gateway parses are replaced by
 * their canonical encoding) or why it is refused.
 */
export function checkRequest(cmd: RemotingCommand, ctx: SchemaContext): CheckedRequest | Refusal {
  const schema = SCHEMAS.get(cmd.code);
  if (!schema) return refusal(`request code ${codeName(cmd.code)} is not relayed by this gateway`, 'code_not_allowed', ResponseCode.NO_PERMISSION);
  const ext = cmd.extFields ?? {};
  const topics: string[] = [];
  const groups: string[] = [];
  for (const key in ext) {
    const spec = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
    if (spec === undefined) {
      return refusal(`header field ${JSON.stringify(key.slice(0, 40))} is not part of request code ${codeName(cmd.code)}; the gateway relays only the fields the RocketMQ header declares`, 'unknown_field');
    }
    const kind = (spec.endsWith('?') ? spec.slice(0, -1) : spec) as Kind;
    const value = ext[key]!;
    const why = problem(kind, value, ctx);
    if (why) return refusal(`header field "${key}" ${why}`);
    if (kind === 'topic') topics.push(value);
    else if (key === 'consumerGroup') groups.push(value);
  }
  for (const key in schema.fields) {
    if (!schema.fields[key]!.endsWith('?') && !Object.hasOwn(ext, key)) return refusal(`header field "${key}" is required for request code ${codeName(cmd.code)}`);
  }
  const body = cmd.body;
  let registersConsumers = false;
  let heartbeat: CheckedRequest['heartbeat'];
  switch (schema.body) {
    case 'none':
      if (body?.length) return refusal(`request code ${codeName(cmd.code)} carries no body`);
      break;
    case 'message':
      if (!body?.length) return refusal('the message body is empty');
      break;
    case 'batch': {
      if (!body?.length) return refusal('the batch is empty');
      let n: number;
      try {
        n = countBatchRecords(body, ctx.maxBatchMessages);
      } catch (e) {
        return refusal((e as CodecError).message);
      }
      if (n > ctx.maxBatchMessages) {
        return refusal(`a batch may hold at most ${ctx.maxBatchMessages} messages on this gateway; split it into smaller batches`, 'batch_too_large');
      }
      break;
    }
    case 'heartbeat':
    case 'lockBatch': {
      const parsed = schema.body === 'heartbeat' ? heartbeatBody(body) : lockBatchBody(body);
      if (typeof parsed === 'string') return refusal(parsed);
      topics.push(...parsed.topics);
      groups.push(...parsed.groups);
      registersConsumers = parsed.groups.length > 0 && schema.body === 'heartbeat';
      if (parsed.heartbeat) heartbeat = parsed.heartbeat;
      cmd.body = utf8.encode(JSON.stringify(parsed.canonical));
      break;
    }
  }
  return heartbeat ? { cmd, topics, registersConsumers, groups, heartbeat } : { cmd, topics, registersConsumers, groups };
}

/** Whether a check failed. */
export const isRefusal = (r: CheckedRequest | Refusal): r is Refusal => 'remark' in r;

/** Whether a code goes to the name server (else to a broker alias). */
export const toNamesrv = (code: number): boolean => SCHEMAS.get(code)?.namesrv === true;
/** Whether a code is a consumer request. */
export const isConsumerCode = (code: number): boolean => SCHEMAS.get(code)?.consumer === true;

// ---------- JSON bodies: parsed, checked, re-serialised with the known fields only ----------

interface ParsedBody { canonical: object; topics: string[]; groups: string[]; heartbeat?: CheckedRequest['heartbeat'] }

const MAX_LIST = 256;

function json(body: Uint8Array | undefined): unknown {
  if (!body?.length || body.length > 1024 * 1024) return undefined;
  try {
    return JSON.parse(utf8d.decode(body));
  } catch {
    return undefined;
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown, re: { test(s: string): boolean }): x is string => typeof x === 'string' && re.test(x);
const list = (x: unknown): x is unknown[] => Array.isArray(x) && x.length <= MAX_LIST;
const CONSUME_FROM = /^CONSUME_FROM_(LAST_OFFSET|FIRST_OFFSET|TIMESTAMP|LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST|MIN_OFFSET|MAX_OFFSET)$/;

/** HeartbeatData (protocol 8.2). */
function heartbeatBody(body: Uint8Array | undefined): ParsedBody | string {
  const hb = json(body);
  if (!isObject(hb)) return 'heartbeat body is not a HeartbeatData JSON object';
  if (!str(hb.clientID, NAME)) return 'heartbeat "clientID" is not 1..255 printable characters';
  const producers = hb.producerDataSet ?? [];
  const consumers = hb.consumerDataSet ?? [];
  if (!list(producers) || !list(consumers)) return `heartbeat data sets must be arrays of at most ${MAX_LIST}`;
  const producerDataSet: object[] = [];
  for (const p of producers) {
    if (!isObject(p) || !str(p.groupName, GROUP)) return 'heartbeat producerDataSet entry without a valid "groupName"';
    producerDataSet.push({ groupName: p.groupName });
  }
  const topics: string[] = [];
  const consumerDataSet: object[] = [];
  for (const c of consumers) {
    if (!isObject(c) || !str(c.groupName, GROUP)) return 'heartbeat consumerDataSet entry without a valid "groupName"';
    if (!str(c.consumeType, /^CONSUME_(PASSIVELY|ACTIVELY)$/) || !str(c.messageModel, /^(CLUSTERING|BROADCASTING)$/) || !str(c.consumeFromWhere, CONSUME_FROM)) {
      return `heartbeat consumer "${c.groupName}": consumeType, messageModel or consumeFromWhere is not a RocketMQ enum name`;
    }
    const subs = c.subscriptionDataSet ?? [];
    if (!list(subs)) return `heartbeat consumer "${c.groupName}": subscriptionDataSet must be an array of at most ${MAX_LIST}`;
    const subscriptionDataSet: object[] = [];
    for (const s of subs) {
      if (!isObject(s) || !str(s.topic, TOPIC)) return `heartbeat consumer "${c.groupName}": a subscription without a valid "topic"`;
      if (!str(s.subString, EXPRESSION) || !str(s.expressionType ?? 'TAG', /^(TAG|SQL92)$/)) return `heartbeat subscription to "${s.topic}": bad expression`;
      const tags = s.tagsSet ?? [];
      const codes = s.codeSet ?? [];
      if (!list(tags) || !tags.every((t) => str(t, EXPRESSION)) || !list(codes) || !codes.every((n) => Number.isInteger(n))) {
        return `heartbeat subscription to "${s.topic}": tagsSet / codeSet are not lists of tags / integers`;
      }
      if (!Number.isSafeInteger(s.subVersion ?? 0)) return `heartbeat subscription to "${s.topic}": subVersion is not an integer`;
      topics.push(s.topic);
      subscriptionDataSet.push({
        classFilterMode: s.classFilterMode === true, codeSet: codes, expressionType: s.expressionType ?? 'TAG',
        subString: s.subString, subVersion: s.subVersion ?? 0, tagsSet: tags, topic: s.topic,
      });
    }
    consumerDataSet.push({
      consumeFromWhere: c.consumeFromWhere, consumeType: c.consumeType, groupName: c.groupName, messageModel: c.messageModel,
      subscriptionDataSet, unitMode: c.unitMode === true,
    });
  }
  return {
    canonical: { clientID: hb.clientID, consumerDataSet, producerDataSet }, topics,
    groups: consumerDataSet.map((c) => (c as { groupName: string }).groupName),
    heartbeat: { clientID: hb.clientID, producerGroups: producerDataSet.map((p) => (p as { groupName: string }).groupName) },
  };
}

/** LockBatchRequestBody / UnlockBatchRequestBody: a consumer group's queue set. */
function lockBatchBody(body: Uint8Array | undefined): ParsedBody | string {
  const b = json(body);
  if (!isObject(b) || !str(b.consumerGroup, GROUP) || !str(b.clientId, NAME) || !list(b.mqSet)) {
    return 'lock body needs "consumerGroup", "clientId" and an "mqSet" of at most 256 queues';
  }
  const topics: string[] = [];
  const mqSet: object[] = [];
  for (const q of b.mqSet) {
    if (!isObject(q) || !str(q.topic, TOPIC) || !str(q.brokerName, NAME) || !Number.isInteger(q.queueId)) {
      return 'lock body "mqSet" entries need "topic", "brokerName" and an integer "queueId"';
    }
    topics.push(q.topic);
    mqSet.push({ brokerName: q.brokerName, queueId: q.queueId, topic: q.topic });
  }
  const canonical: Record<string, unknown> = { clientId: b.clientId, consumerGroup: b.consumerGroup, mqSet };
  if (typeof b.onlyThisBroker === 'boolean') canonical.onlyThisBroker = b.onlyThisBroker;
  if (typeof b.oneway === 'boolean') canonical.oneway = b.oneway;
  return { canonical, topics, groups: [b.consumerGroup] };
}
