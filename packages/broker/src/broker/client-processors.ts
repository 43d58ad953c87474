// Consumer and admin requests: HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, offsets,
// VIEW_MESSAGE_BY_ID, CONSUMER_SEND_MSG_BACK, UPDATE_AND_CREATE_TOPIC, CHECK_CLIENT_CONFIG, LOCK/UNLOCK_BATCH_MQ.
import {
  inJavaOrder,
  MessageConst,
  RequestCode,
  ResponseCode,
  createOffsetMsgId,
  createResponse,
  decodeStoredMessages,
  isSystemTopic,
  parseLenientJson,
  validateGroup,
  validateTopic,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import type { Connection, RemotingServer } from '../remoting-server.js';
import { applyDelay, storeMessage, type BrokerContext } from './context.js';
import { parseTagExpression, type Subscription } from './consumer-manager.js';
import { StoreNotWritableError } from '../store/errors.js';
import type { PutResult } from '../store/message-store.js';
import { notWritableRemark, splitHost } from './send.js';
import { DLQ_PREFIX, PERM_READ, PERM_WRITE, RETRY_PREFIX, topicConfig } from './topic-config.js';

const utf8 = new TextEncoder();
/** RequestCode.GET_PRODUCER_CONNECTION_LIST (admin). */
export const GET_PRODUCER_CONNECTION_LIST = 204;
const utf8d = new TextDecoder();

function num(v: string | undefined, fallback: number): number {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

function json(body: Uint8Array | undefined): Record<string, unknown> {
  if (!body || body.length === 0) return {};
  const o = parseLenientJson(utf8d.decode(body));
  return o && typeof o === 'object' ? (o as Record<string, unknown>) : {};
}

function validGroup(group: string): boolean {
  try {
    validateGroup(group);
    return true;
  } catch {
    return false;
  }
}

interface MQ {
  topic: string;
  brokerName: string;
  queueId: number;
}

export function registerClientProcessors(server: RemotingServer, ctx: BrokerContext): { close(): void } {
  const ok = (req: RemotingCommand, ext?: Record<string, string>, body?: Uint8Array) => createResponse(req, ResponseCode.SUCCESS, undefined, ext, body);

  server.register(RequestCode.HEART_BEAT, (req, conn) => {
    const hb = json(req.body);
    const clientId = typeof hb.clientID === 'string' ? hb.clientID : conn.remoteAddr;
    for (const cd of (Array.isArray(hb.consumerDataSet) ? hb.consumerDataSet : []) as Record<string, unknown>[]) {
      const group = typeof cd.groupName === 'string' ? cd.groupName : '';
      if (!validGroup(group)) continue;
      const subs: Subscription[] = [];
      for (const s of (Array.isArray(cd.subscriptionDataSet) ? cd.subscriptionDataSet : []) as Record<string, unknown>[]) {
        if (typeof s.topic !== 'string') continue;
        const expressionType = typeof s.expressionType === 'string' ? s.expressionType : 'TAG';
        const subString = typeof s.subString === 'string' ? s.subString : '*';
        let codeSet: Set<number> | undefined;
        if (Array.isArray(s.codeSet) && s.codeSet.length) codeSet = new Set((s.codeSet as unknown[]).map(Number));
        else codeSet = parseTagExpression(subString);
        subs.push({ topic: s.topic, subString, expressionType, subVersion: Number(s.subVersion) || 0, codeSet });
      }
      // The retry topic of every clustering group (1 queue), published with the next registration.
      if (cd.messageModel !== 'BROADCASTING') ctx.topics.ensure(RETRY_PREFIX + group, 1);
      ctx.consumers.register(group, clientId, conn, subs, {
        consumeFromWhere: typeof cd.consumeFromWhere === 'string' ? cd.consumeFromWhere : undefined,
        messageModel: typeof cd.messageModel === 'string' ? cd.messageModel : undefined,
      });
    }
    // ProducerManager.registerProducer for each producer group.
    for (const pd of (Array.isArray(hb.producerDataSet) ? hb.producerDataSet : []) as Record<string, unknown>[]) {
      if (pd && typeof pd.groupName === 'string' && pd.groupName) ctx.producers.register(pd.groupName, clientId, conn, req.language, req.version);
    }
    return ok(req);
  });

  server.register(RequestCode.UNREGISTER_CLIENT, (req, conn) => {
    const h = req.extFields ?? {};
    if (h.producerGroup) ctx.producers.unregister(h.producerGroup, h.clientID ?? '', conn);
    if (h.consumerGroup) ctx.consumers.unregister(h.consumerGroup, conn);
    return ok(req, {});
  });

  // AdminBrokerProcessor.getProducerConnectionList (mqadmin producerConnection).
  server.register(GET_PRODUCER_CONNECTION_LIST, (req) => {
    const group = req.extFields?.producerGroup ?? '';
    const list = ctx.producers.connections(group);
    if (list.length === 0) return createResponse(req, ResponseCode.SYSTEM_ERROR, `the producer group[${group}] not exist`);
    const set = list.map((p) => `{"clientAddr":${JSON.stringify(p.conn.remoteAddr)},"clientId":${JSON.stringify(p.clientId)},"language":${JSON.stringify(p.language)},"version":${p.version}}`);
    return ok(req, undefined, utf8.encode(`{"connectionSet":[${set.join(',')}]}`));
  });

  server.register(RequestCode.GET_CONSUMER_LIST_BY_GROUP, (req) => {
    const group = req.extFields?.consumerGroup ?? '';
    const ids = ctx.consumers.consumerIds(group);
    if (ids.length === 0) return createResponse(req, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`, {});
    return ok(req, {}, utf8.encode(JSON.stringify({ consumerIdList: ids })));
  });

  // ConsumerManageProcessor.queryConsumerOffset (4.9.8): the committed offset; for a group without one,
  // 0 while the queue is young (min offset 0 and its first message, if any, still in memory) so that
  // a new group reads it from the start, else QUERY_NOT_FOUND and the client applies consumeFromWhere.
  server.register(RequestCode.QUERY_CONSUMER_OFFSET, (req) => {
    const h = req.extFields ?? {};
    const topic = h.topic ?? '';
    const queueId = num(h.queueId, 0);
    const o = ctx.offsets.get(h.consumerGroup ?? '', topic, queueId);
    if (o !== undefined) return ok(req, { offset: String(o) });
    // 5.x clients may ask for QUERY_NOT_FOUND instead of the 0 (setZeroIfNotFound=false).
    const young = h.setZeroIfNotFound !== 'false' && ctx.store.minOffset(topic, queueId) <= 0 && !ctx.store.checkInDiskByConsumeOffset(topic, queueId, 0);
    if (young) return ok(req, { offset: '0' });
    return createResponse(req, ResponseCode.QUERY_NOT_FOUND, 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first', {});
  });

  server.register(RequestCode.UPDATE_CONSUMER_OFFSET, (req) => {
    const h = req.extFields ?? {};
    const offset = num(h.commitOffset, -1);
    if (h.consumerGroup && h.topic && offset >= 0) ctx.offsets.set(h.consumerGroup, h.topic, num(h.queueId, 0), offset);
    return ok(req, {});
  });

  const queueArgs = (req: RemotingCommand) => ({ topic: req.extFields?.topic ?? '', queueId: num(req.extFields?.queueId, 0) });
  server.register(RequestCode.GET_MAX_OFFSET, (req) => {
    const { topic, queueId } = queueArgs(req);
    return ok(req, { offset: String(ctx.store.maxOffset(topic, queueId)) });
  });
  server.register(RequestCode.GET_MIN_OFFSET, (req) => {
    const { topic, queueId } = queueArgs(req);
    return ok(req, { offset: String(ctx.store.minOffset(topic, queueId)) });
  });
  // Without boundaryType (4.9.8 clients): the nearest message; 5.x clients choose LOWER or UPPER.
  server.register(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, (req) => {
    const { topic, queueId } = queueArgs(req);
    const b = req.extFields?.boundaryType?.toUpperCase();
    const boundary = b === 'LOWER' || b === 'UPPER' ? b : 'NEAREST';
    return ok(req, { offset: String(ctx.store.searchOffsetByTime(topic, queueId, num(req.extFields?.timestamp, 0), boundary)) });
  });
  server.register(RequestCode.GET_EARLIEST_MSG_STORETIME, (req) => {
    const { topic, queueId } = queueArgs(req);
    return ok(req, { timestamp: String(ctx.store.earliestStoreTime(topic, queueId)) });
  });

  // "Message lookup by offset id": the header offset is the commit-log offset decoded from the id.
  server.register(RequestCode.VIEW_MESSAGE_BY_ID, (req) => {
    const offset = num(req.extFields?.offset, -1);
    const rec = offset >= 0 ? ctx.store.readRecord(offset) : undefined;
    if (!rec) return createResponse(req, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${req.extFields?.offset}`);
    return ok(req, undefined, rec);
  });

  server.register(RequestCode.CONSUMER_SEND_MSG_BACK, (req, conn) => sendBack(ctx, req, conn));

  server.register(RequestCode.UPDATE_AND_CREATE_TOPIC, (req) => {
    const h = req.extFields ?? {};
    const topic = h.topic ?? '';
    try {
      validateTopic(topic);
    } catch (e) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, (e as Error).message);
    }
    if (topic === ctx.clusterName || isSystemTopic(topic)) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, `The topic[${topic}] is conflict with system topic.`);
    }
    const read = num(h.readQueueNums, 16);
    const write = num(h.writeQueueNums, 16);
    if (read <= 0 || write <= 0 || read > 1024 || write > 1024) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, `illegal queue numbers read=${read} write=${write} (1..1024)`);
    }
    ctx.topics.put({
      ...topicConfig(topic, read),
      writeQueueNums: write,
      perm: num(h.perm, PERM_READ | PERM_WRITE) & 0xf,
      topicFilterType: h.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG',
      topicSysFlag: num(h.topicSysFlag, 0),
      order: h.order === 'true',
    });
    return ctx.topics.whenPersisted(topic)?.then(
      () => ok(req),
      (e: unknown) => createResponse(req, ResponseCode.SYSTEM_ERROR, `the topic is created but could not be saved: ${(e as Error).message}`),
    ) ?? ok(req);
  });

  server.register(RequestCode.CHECK_CLIENT_CONFIG, (req) => ok(req));

  // Queue locks for orderly consumers: held per client, expire after 60 s without renewal.
  const locks = new Map<string, { clientId: string; group: string; at: number }>();
  const LOCK_TTL = 60_000;
  const mqKey = (group: string, mq: MQ) => `${group}\u0001${mq.topic}\u0001${mq.brokerName}\u0001${mq.queueId}`;
  const mqs = (b: Record<string, unknown>): MQ[] =>
    (Array.isArray(b.mqSet) ? b.mqSet : []).filter((x): x is MQ => !!x && typeof x === 'object' && typeof (x as MQ).topic === 'string');
  server.register(RequestCode.LOCK_BATCH_MQ, (req) => {
    const b = json(req.body);
    const group = String(b.consumerGroup ?? '');
    const clientId = String(b.clientId ?? '');
    const now = Date.now();
    const okSet: MQ[] = [];
    for (const mq of mqs(b)) {
      const k = mqKey(group, mq);
      const cur = locks.get(k);
      if (!cur || cur.clientId === clientId || now - cur.at > LOCK_TTL) {
        locks.set(k, { clientId, group, at: now });
        okSet.push({ topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId });
      }
    }
    const body = `{"lockOKMQSet":[${okSet.map((m) => `{"brokerName":${JSON.stringify(m.brokerName)},"queueId":${m.queueId},"topic":${JSON.stringify(m.topic)}}`).join(',')}]}`;
    return ok(req, undefined, utf8.encode(body));
  });
  server.register(RequestCode.UNLOCK_BATCH_MQ, (req) => {
    const b = json(req.body);
    const group = String(b.consumerGroup ?? '');
    const clientId = String(b.clientId ?? '');
    for (const mq of mqs(b)) {
      const k = mqKey(group, mq);
      if (locks.get(k)?.clientId === clientId) locks.delete(k);
    }
    return ok(req);
  });

  return { close() {} };
}

/**
 * CONSUMER_SEND_MSG_BACK (10.6): retry topic with a delay level, or the DLQ after max retries.
 * Answered once the re-parked copy is stored: the consumer then commits past the original.
 */
function sendBack(ctx: BrokerContext, req: RemotingCommand, conn: Connection): RemotingCommand | Promise<RemotingCommand> {
  if (!ctx.store.writable) return createResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, notWritableRemark(ctx.store.notWritableReason));
  const h = req.extFields ?? {};
  const group = h.group ?? '';
  const offset = num(h.offset, -1);
  const rec = offset >= 0 ? ctx.store.readRecord(offset) : undefined;
  const [orig] = rec ? decodeStoredMessages(rec) : [];
  if (!validGroup(group)) return createResponse(req, ResponseCode.SYSTEM_ERROR, `invalid consumer group "${group}"`);
  if (!orig) return createResponse(req, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${h.offset}`);
  const maxReconsume = num(h.maxReconsumeTimes, 16);
  let delayLevel = num(h.delayLevel, 0);
  const props: Record<string, string> = { ...orig.properties };
  if (!props[MessageConst.RETRY_TOPIC]) props[MessageConst.RETRY_TOPIC] = orig.topic;
  if (!props[MessageConst.ORIGIN_MESSAGE_ID]) props[MessageConst.ORIGIN_MESSAGE_ID] = h.originMsgId || orig.msgId;
  delete props[MessageConst.DELAY];
  delete props[MessageConst.REAL_TOPIC];
  delete props[MessageConst.REAL_QID];
  const reconsumeTimes = orig.reconsumeTimes;
  let topic: string;
  if (reconsumeTimes >= maxReconsume || delayLevel < 0) {
    topic = DLQ_PREFIX + group;
    ctx.topics.ensure(topic, 1);
  } else {
    topic = RETRY_PREFIX + group;
    ctx.topics.ensure(topic, 1);
    if (delayLevel === 0) delayLevel = 3 + reconsumeTimes;
    props[MessageConst.DELAY] = String(delayLevel);
  }
  props[MessageConst.CLUSTER] = ctx.clusterName;
  const now = Date.now();
  const msg = applyDelay(
    ctx,
    {
      topic,
      queueId: 0,
      body: orig.body,
      flag: orig.flag,
      sysFlag: orig.sysFlag,
      bornTimestamp: orig.bornTimestamp,
      bornHost: orig.bornHost,
      reconsumeTimes: reconsumeTimes + 1,
      properties: inJavaOrder(props),
    },
    now,
  );
  const failed = (e: unknown) =>
    e instanceof StoreNotWritableError
      ? createResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, notWritableRemark(e.cause))
      : createResponse(req, ResponseCode.SYSTEM_ERROR, (e as Error).message);
  let r: PutResult;
  try {
    r = storeMessage(ctx, msg, now);
  } catch (e) {
    return failed(e);
  }
  void conn;
  const [ip, port] = splitHost(ctx.storeHost);
  ctx.log('debug', `send-back ${createOffsetMsgId(ip, port, offset)} → ${topic} (${r.commitLogOffset})`);
  return ctx.store.durable(r).then(() => createResponse(req, ResponseCode.SUCCESS), failed);
}
