// SEND_MESSAGE (10, V1 header), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320): section 11.3.
import {
  DEFAULT_MAX_BATCH_MESSAGES,
  CodecError,
  inJavaOrder,
  MessageConst,
  ResponseCode,
  createOffsetMsgId,
  createResponse,
  javaHashMapOrder,
  decodeBatchBody,
  decodeProperties,
  encodeProperties,
  isNotAllowedSendTopic,
  validateTopic,
  type RemotingCommand,
  type WireMessage,
} from '@rocketmq-edge/core/internal';
import type { Connection } from '../remoting-server.js';
import { StoreNotWritableError, describeWriteError } from '../store/errors.js';
import type { PutResult } from '../store/message-store.js';
import { applyDelay, IllegalMessageError, notDelayed, storeMessage, type BrokerContext, type InnerMessage } from './context.js';
import { parseSendHeader } from './send-header.js';
import { isHalfMessage, toHalfMessage } from './transaction.js';
import { DLQ_PREFIX, PERM_WRITE, RETRY_PREFIX, TIMER_TOPIC } from './topic-config.js';

/** Per-context constants of the send responses (computed once: they do not change). */
interface ReplyShape {
  key: string;
  extras: Record<string, string>;
  /** JSON replies: all five fields in HashMap order. */
  jsonOrder: readonly string[];
  /** Binary replies: header fields, then the extras in HashMap order. */
  extrasInOrder: Record<string, string>;
  /** Upper-case hex of the store host's ip + port (the first part of every offset message id). */
  idPrefix: string;
}
const shapes = new WeakMap<BrokerContext, ReplyShape>();

function shapeOf(ctx: BrokerContext): ReplyShape {
  let s = shapes.get(ctx);
  const key = `${ctx.storeHost}\n${ctx.regionId}\n${ctx.traceOn}`;
  if (!s || s.key !== key) {
    const extras = { MSG_REGION: ctx.regionId, TRACE_ON: String(ctx.traceOn) };
    const [ip, port] = splitHost(ctx.storeHost);
    // The offset id of offset 0 is prefix + 16 zeros.
    const zero = createOffsetMsgId(ip, port, 0);
    s = {
      key,
      extras,
      jsonOrder: javaHashMapOrder(['msgId', 'queueId', 'queueOffset', ...Object.keys(extras)]),
      extrasInOrder: inJavaOrder(extras),
      idPrefix: zero.slice(0, zero.length - 16),
    };
    shapes.set(ctx, s);
  }
  return s;
}

/** createOffsetMsgId(store host, offset), with the host part computed once. */
function offsetMsgId(ctx: BrokerContext, commitLogOffset: number): string {
  if (!Number.isSafeInteger(commitLogOffset) || commitLogOffset < 0) {
    const [ip, port] = splitHost(ctx.storeHost);
    return createOffsetMsgId(ip, port, commitLogOffset);
  }
  return shapeOf(ctx).idPrefix + commitLogOffset.toString(16).toUpperCase().padStart(16, '0');
}

function extras(ctx: BrokerContext): Record<string, string> {
  return { ...shapeOf(ctx).extras };
}

/** Send responses always carry MSG_REGION and TRACE_ON (the Java client reads them unchecked). */
function errorResponse(ctx: BrokerContext, req: RemotingCommand, code: number, remark: string): RemotingCommand {
  return createResponse(req, code, remark, inJavaOrder(extras(ctx)));
}

function okResponse(ctx: BrokerContext, req: RemotingCommand, msgId: string, queueId: number, queueOffset: number): RemotingCommand {
  const shape = shapeOf(ctx);
  const header: Record<string, string> = { msgId, queueId: String(queueId), queueOffset: String(queueOffset) };
  // JSON: Java writes the whole map in HashMap order; binary: header fields first, then the extras.
  let ext: Record<string, string>;
  if (req.serializeType === 'ROCKETMQ') ext = { ...header, ...shape.extrasInOrder };
  else {
    ext = {};
    for (const k of shape.jsonOrder) ext[k] = header[k] ?? shape.extras[k]!;
  }
  return createResponse(req, ResponseCode.SUCCESS, undefined, ext);
}

const FAQ = '\nSee http://rocketmq.apache.org/docs/faq/ for further details.';

/** Records one SEND_BATCH_MESSAGE may hold (the broker option maxBatchMessages): core's one number. */
export { DEFAULT_MAX_BATCH_MESSAGES };

export function tooManyRemark(max: number): string {
  return `the batch holds more than ${max} messages, the most this broker takes in one batch (maxBatchMessages); send it as several batches of at most ${max} messages`;
}

export function createSendProcessor(ctx: BrokerContext) {
  return (req: RemotingCommand, conn: Connection): RemotingCommand | Promise<RemotingCommand> => {
    try {
      const r = send(ctx, req, conn);
      return r instanceof Promise ? r.catch((e: unknown) => sendFailed(ctx, req, conn, e)) : r;
    } catch (e) {
      return sendFailed(ctx, req, conn, e);
    }
  };
}

function sendFailed(ctx: BrokerContext, req: RemotingCommand, conn: Connection, e: unknown): RemotingCommand {
  if (e instanceof StoreNotWritableError) return errorResponse(ctx, req, ResponseCode.SERVICE_NOT_AVAILABLE, notWritableRemark(e.cause));
  ctx.log('warn', `send from ${conn.remoteAddr} failed: ${(e as Error).message}`);
  return errorResponse(ctx, req, ResponseCode.SYSTEM_ERROR, (e as Error).message || 'store error');
}

/** SERVICE_NOT_AVAILABLE's remark while the store takes no writes (Java: "service not available now, maybe disk full"). */
export function notWritableRemark(reason: unknown): string {
  return `service not available now, maybe disk full: this broker's store takes no writes since a write failed (${describeWriteError(reason)}); ` +
    'nothing of this request was stored. Send to another broker (this one is registered without write permission until it recovers) or retry later: ' +
    'it takes writes again by itself once the disk has room.';
}

/**
 * The topic part of AbstractSendMessageProcessor.msgCheck: the topic exists (or is auto-created
 * from the default topic), takes writes, and has the queue; a negative queue id picks one at random.
 * Returns the queue id, or the error response.
 */
export function checkQueue(
  ctx: BrokerContext, req: RemotingCommand, conn: Connection, topic: string, requestedQueueId: number,
  h: { defaultTopic: string; defaultTopicQueueNums: number },
): { queueId: number } | RemotingCommand {
  let tc = ctx.topics.get(topic);
  if (!tc) {
    tc = ctx.topics.createFromDefault(topic, h.defaultTopic, h.defaultTopicQueueNums);
    if (!tc) return errorResponse(ctx, req, ResponseCode.TOPIC_NOT_EXIST, `topic[${topic}] not exist, apply first please!${FAQ}`);
  }
  if (!(tc.perm & PERM_WRITE)) return errorResponse(ctx, req, ResponseCode.NO_PERMISSION, `the topic[${topic}] sending message is forbidden`);
  const queueNums = Math.max(tc.readQueueNums, tc.writeQueueNums);
  let queueId = requestedQueueId;
  if (queueId >= queueNums) {
    return errorResponse(ctx, req, ResponseCode.SYSTEM_ERROR, `request queueId[${queueId}] is illegal, topic ${topic} has ${queueNums} queues, Producer: ${conn.remoteAddr}`);
  }
  if (queueId < 0) queueId = Math.floor(Math.random() * Math.max(1, tc.writeQueueNums));
  return { queueId };
}

/** The response, or a promise of it once the stored message is durable per the flush policy. */
function send(ctx: BrokerContext, req: RemotingCommand, conn: Connection): RemotingCommand | Promise<RemotingCommand> {
    const h = parseSendHeader(req);

    try {
      validateTopic(h.topic);
    } catch (e) {
      return errorResponse(ctx, req, ResponseCode.SYSTEM_ERROR, (e as Error).message);
    }
    if (isNotAllowedSendTopic(h.topic) || h.topic === TIMER_TOPIC) return errorResponse(ctx, req, ResponseCode.NO_PERMISSION, `Sending message to topic[${h.topic}] is forbidden.`);
    if (h.batch && h.topic.length > 127) return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, `message topic length too long ${h.topic.length}`);
    const body = req.body ?? new Uint8Array(0);
    if (body.length > ctx.maxMessageSize) {
      return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, `the message body size ${body.length} exceeds the maximum message size ${ctx.maxMessageSize}`);
    }
    if (Buffer.byteLength(h.properties, 'utf8') > 0x7fff) {
      return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, 'the message is illegal, maybe msg properties length limit 32k.');
    }
    // A batch is split (and counted against maxBatchMessages) before anything else happens for it.
    let records: WireMessage[] | undefined;
    if (h.batch) {
      try {
        records = decodeBatchBody(body, h.topic, ctx.maxBatchMessages);
      } catch (e) {
        if (e instanceof CodecError && e.reason === 'OVERSIZE') return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, tooManyRemark(ctx.maxBatchMessages));
        return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, (e as Error).message);
      }
      if (records.length === 0) return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, 'the batch is empty');
    }

    // Refused at once while the store takes no writes: nothing may be acknowledged that is not stored.
    if (!ctx.store.writable) return errorResponse(ctx, req, ResponseCode.SERVICE_NOT_AVAILABLE, notWritableRemark(ctx.store.notWritableReason));

    let topic = h.topic;
    let props = decodeProperties(h.properties);
    let reconsumeTimes = h.reconsumeTimes;
    // %RETRY% topics (a consumer's own fallback send-back): one queue; dead-letter after max retries.
    if (topic.startsWith(RETRY_PREFIX)) {
      ctx.topics.ensure(topic, 1);
      const max = h.maxReconsumeTimes ?? 16;
      if (reconsumeTimes >= max) {
        topic = DLQ_PREFIX + topic.slice(RETRY_PREFIX.length);
        ctx.topics.ensure(topic, 1);
        props = { ...props };
        delete props[MessageConst.DELAY];
      }
    }
    const checked = checkQueue(ctx, req, conn, topic, topic !== h.topic ? 0 : h.queueId, h);
    if ('code' in checked) return checked;
    const { queueId } = checked;

    const base = {
      topic,
      queueId,
      flag: h.flag,
      sysFlag: h.sysFlag,
      bornTimestamp: h.bornTimestamp,
      bornHost: conn.remoteAddr,
      reconsumeTimes,
    };
    const now = Date.now();
    const results: PutResult[] = [];
    let reply: { queueId: number; queueOffset: number };
    try {
      if (!records) {
        const wait = props[MessageConst.WAIT];
        const stored: Record<string, string> = { ...props, [MessageConst.CLUSTER]: ctx.clusterName };
        // A single message's stored string leaves WAIT out (4.9.8); a delayed one gets it back below.
        delete stored[MessageConst.WAIT];
        let msg: InnerMessage = { ...base, body, properties: inJavaOrder(stored) };
        if (isHalfMessage(props)) {
          // A transaction's half message (TransactionalMessageBridge.parseHalfMessageInner), WAIT put back as 4.9.8 does.
          if (ctx.rejectTransactionMessage) {
            return errorResponse(ctx, req, ResponseCode.NO_PERMISSION, `the broker[${splitHost(ctx.storeHost)[0]}] sending transaction message is forbidden`);
          }
          msg = toHalfMessage(wait !== undefined ? { ...msg, properties: { ...stored, [MessageConst.WAIT]: wait } } : msg);
        } else if (!notDelayed(props)) {
          const parked = applyDelay(ctx, { ...msg, properties: wait !== undefined ? { ...msg.properties, [MessageConst.WAIT]: wait } : msg.properties }, now);
          if (parked.topic !== topic) msg = parked;
        }
        results.push(storeMessage(ctx, msg, now));
        reply = { queueId, queueOffset: results[0]!.queueOffset };
      } else {
        // Batch records keep their own string, then the batch-level CLUSTER and WAIT (so WAIT twice).
        const tail = encodeProperties({ [MessageConst.CLUSTER]: ctx.clusterName, ...(props[MessageConst.WAIT] ? { WAIT: props[MessageConst.WAIT]! } : {}) });
        for (const r of records) {
          const own = encodeProperties(r.properties);
          results.push(
            storeMessage(
              ctx,
              {
                ...base,
                flag: r.flag,
                body: r.body,
                properties: { ...r.properties, [MessageConst.CLUSTER]: ctx.clusterName },
                propertiesString: own ? `${own}\u0002${tail}` : tail,
              },
              now,
            ),
          );
        }
        reply = { queueId, queueOffset: results[0]!.queueOffset };
      }
    } catch (e) {
      if (e instanceof IllegalMessageError) return errorResponse(ctx, req, ResponseCode.MESSAGE_ILLEGAL, e.message);
      throw e;
    }
    let msgId = offsetMsgId(ctx, results[0]!.commitLogOffset);
    for (let i = 1; i < results.length; i++) msgId += ',' + offsetMsgId(ctx, results[i]!.commitLogOffset);
    const { queueId: replyQueue, queueOffset: replyOffset } = reply;
    return ctx.store.durable(results[results.length - 1]!).then(() => {
      ctx.store.stats.recordPutTime(Date.now() - now);
      return okResponse(ctx, req, msgId, replyQueue, replyOffset);
    });
}

export function splitHost(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), Number(addr.slice(i + 1))];
}

