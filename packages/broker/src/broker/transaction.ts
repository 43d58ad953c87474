// Transactional messages as a 4.9.8 broker keeps them (TransactionalMessageBridge,
// TransactionalMessageServiceImpl, EndTransactionProcessor, the check service): half messages wait
// in RMQ_SYS_TRANS_HALF_TOPIC queue 0 with REAL_TOPIC / REAL_QID; a commit re-stores one into its
// real topic, and both commit and rollback write an op ("d", body = the half queue offset) to
// RMQ_SYS_TRANS_OP_HALF_TOPIC. Half and op topics are ordinary durable queues of the store, and the
// check progress is the consumer offset of group CID_RMQ_SYS_TRANS, so all of it survives restarts.
// They are not in the topic table: no route publishes them and no client can pull them.
import {
  MessageConst,
  MessageSysFlag,
  RequestCode,
  ResponseCode,
  createOffsetMsgId,
  createRequest,
  createResponse,
  createUniqId,
  decodeStoredMessages,
  encodeProperties,
  inJavaOrder,
  type MessageExt,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import type { Connection, RemotingServer } from '../remoting-server.js';
import { encodeRecord } from '../store/record.js';
import { storeMessage, type BrokerContext, type InnerMessage } from './context.js';
import { splitHost } from './send.js';
import { PERM_READ, PERM_WRITE } from './topic-config.js';

export const HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
export const OP_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
/** Where half messages checked transactionCheckMax times end up (DefaultTransactionalMessageCheckListener). */
export const CHECK_MAX_TIME_TOPIC = 'TRANS_CHECK_MAX_TIME_TOPIC';
/** MixAll.CID_SYS_RMQ_TRANS: the group whose offsets record how far the check has come. */
export const TRANS_GROUP = 'CID_RMQ_SYS_TRANS';
const REMOVE_TAG = 'd';

/** BrokerConfig defaults. */
export const DEFAULT_TRANSACTION_CHECK_INTERVAL_MS = 60_000;
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 6_000;
export const DEFAULT_TRANSACTION_CHECK_MAX = 15;

const TX_MASK = 0xc;
const resetTransactionValue = (sysFlag: number, type: number): number => (sysFlag & ~TX_MASK) | type;

export function isTransactionTopic(topic: string): boolean {
  return topic === HALF_TOPIC || topic === OP_TOPIC;
}

/** Boolean.parseBoolean(TRAN_MSG). */
export function isHalfMessage(props: Record<string, string>): boolean {
  return props[MessageConst.TRAN_MSG]?.toLowerCase() === 'true';
}

/** parseHalfMessageInner: the same message parked in the half queue, its destination in REAL_TOPIC / REAL_QID. */
export function toHalfMessage(msg: InnerMessage): InnerMessage {
  const props = { ...msg.properties, [MessageConst.REAL_TOPIC]: msg.topic, [MessageConst.REAL_QID]: String(msg.queueId) };
  return {
    ...msg,
    topic: HALF_TOPIC,
    queueId: 0,
    sysFlag: resetTransactionValue(msg.sysFlag, MessageSysFlag.TRANSACTION_NOT_TYPE),
    properties: inJavaOrder(props),
    propertiesString: undefined,
  };
}

export interface TransactionOptions {
  checkIntervalMs: number;
  timeoutMs: number;
  checkMax: number;
  /** Half messages born longer ago than this are skipped by the check (fileReservedTime). */
  fileReservedTimeMs: number;
}

function num(v: string | undefined): number {
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : NaN;
}

/** Resolved transactions: a repeated END_TRANSACTION, or one for another half copy of the same transaction, stores nothing twice. */
interface Resolved {
  /** Half queue offsets that have an op (from the op offset on). */
  offsets: Set<number>;
  /** PGROUP + UNIQ_KEY → the half queue's end when it was resolved (every copy of it lies below). */
  txs: Map<string, number>;
}

/**
 * Each check puts a half message back as a new copy, so one transaction can have several copies,
 * each checked back; 4.9.8 commits every copy it is told to commit (twice, when an answer arrives
 * after the next round checked again). Here a transaction is resolved once, by its first answer.
 */
function txKey(m: MessageExt): string | undefined {
  const uniq = m.properties[MessageConst.UNIQ_KEY];
  return uniq === undefined ? undefined : `${m.properties[MessageConst.PGROUP] ?? ''}\u0001${uniq}`;
}

/** Resolved transactions kept before the check prunes those whose copies it has all passed. */
const RESOLVED_TXS_KEPT = 10_000;

export class TransactionService {
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** What has been committed or rolled back (see resolved()). */
  private resolvedCache: Resolved | undefined;

  constructor(private readonly ctx: BrokerContext, private readonly opts: TransactionOptions) {
    this.timer = setInterval(() => this.check(Date.now()), opts.checkIntervalMs);
    this.timer.unref();
  }

  register(server: RemotingServer): void {
    server.register(RequestCode.END_TRANSACTION, (req, conn) => this.endTransaction(req, conn));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private readAt(commitLogOffset: number): MessageExt | undefined {
    const rec = commitLogOffset >= 0 ? this.ctx.store.readRecord(commitLogOffset) : undefined;
    return rec ? decodeStoredMessages(rec)[0] : undefined;
  }

  private readQueue(topic: string, offset: number): MessageExt | undefined {
    const e = this.ctx.store.entry(topic, 0, offset);
    if (!e || e.size === 0) return undefined;
    const rec = this.ctx.store.readRecord(e.commitLogOffset, e.size);
    return rec ? decodeStoredMessages(rec)[0] : undefined;
  }

  /** fetchConsumeOffset: the group's offset, else the queue's min offset. */
  private offsetOf(topic: string): number {
    return this.ctx.offsets.get(TRANS_GROUP, topic, 0) ?? this.ctx.store.minOffset(topic, 0);
  }

  /** Half queue offsets with an op at or after the op offset (the removeMap of the check). */
  private opsFrom(opOffset: number): Map<number, number> {
    const ops = new Map<number, number>();
    const max = this.ctx.store.maxOffset(OP_TOPIC, 0);
    for (let o = Math.max(opOffset, this.ctx.store.minOffset(OP_TOPIC, 0)); o < max; o++) {
      const m = this.readQueue(OP_TOPIC, o);
      if (!m || m.properties[MessageConst.TAGS] !== REMOVE_TAG) continue;
      const half = num(new TextDecoder().decode(m.body));
      if (Number.isSafeInteger(half) && !ops.has(half)) ops.set(half, o);
    }
    return ops;
  }

  /** EndTransactionProcessor (37, oneway from Java clients). */
  private async endTransaction(req: RemotingCommand, conn: Connection): Promise<RemotingCommand | undefined> {
    const h = req.extFields ?? {};
    const type = num(h.commitOrRollback);
    const fromCheck = h.fromTransactionCheck === 'true';
    const commit = type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
    if (!commit && type !== MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) {
      // UNKNOW (0) or anything else: the half message stays and is checked back later; no answer.
      if (type === MessageSysFlag.TRANSACTION_NOT_TYPE) {
        this.ctx.log('debug', `${fromCheck ? 'check answer' : 'end transaction'} from ${conn.remoteAddr}: UNKNOW for ${h.msgId ?? '?'}`);
      }
      return undefined;
    }
    const commitLogOffset = num(h.commitLogOffset);
    const half = this.readAt(commitLogOffset);
    // getHalfMessageByOffset; a record that is not a half message is not found either.
    if (!half || half.topic !== HALF_TOPIC) return createResponse(req, ResponseCode.SYSTEM_ERROR, 'Find prepared transaction message failed');
    // checkPrepareMessage
    if (half.properties[MessageConst.PGROUP] !== h.producerGroup) return createResponse(req, ResponseCode.SYSTEM_ERROR, 'The producer group wrong');
    if (half.queueOffset !== num(h.tranStateTableOffset)) return createResponse(req, ResponseCode.SYSTEM_ERROR, 'The transaction state table offset wrong');
    if (half.commitLogOffset !== commitLogOffset) return createResponse(req, ResponseCode.SYSTEM_ERROR, 'The commit log offset wrong');
    // Already committed or rolled back (a repeated END_TRANSACTION): done, without storing it twice.
    const resolved = this.resolved();
    if (resolved.offsets.has(half.queueOffset)) return createResponse(req, ResponseCode.SUCCESS);
    if (!this.ctx.store.writable) return createResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, 'Service not available now.');
    const key = txKey(half);
    try {
      if (key !== undefined && resolved.txs.has(key)) {
        // Another copy of this transaction was resolved first: record this one too, store nothing.
        await this.ctx.store.durable(this.putOp(half.queueOffset, key));
        return createResponse(req, ResponseCode.SUCCESS);
      }
      if (commit) {
        const topic = half.properties[MessageConst.REAL_TOPIC];
        const queueId = num(half.properties[MessageConst.REAL_QID]);
        if (!topic || !Number.isSafeInteger(queueId)) return createResponse(req, ResponseCode.SYSTEM_ERROR, 'Find prepared transaction message failed');
        // endMessageTransaction: the stored string is the half's whole property map (4.9.8 serializes it
        // before clearing REAL_TOPIC / REAL_QID / TRAN_MSG), sysFlag commit type, the half's offset.
        const r = storeMessage(this.ctx, {
          topic,
          queueId,
          body: half.body,
          flag: half.flag,
          sysFlag: resetTransactionValue(half.sysFlag, MessageSysFlag.TRANSACTION_COMMIT_TYPE),
          bornTimestamp: half.bornTimestamp,
          bornHost: half.bornHost,
          reconsumeTimes: half.reconsumeTimes,
          properties: inJavaOrder(half.properties),
          preparedTransactionOffset: commitLogOffset,
        });
        await this.ctx.store.durable(r);
      }
      await this.ctx.store.durable(this.putOp(half.queueOffset, key));
    } catch (e) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, (e as Error).message || 'UNKNOWN_ERROR');
    }
    return createResponse(req, ResponseCode.SUCCESS);
  }

  /** Built from the op queue on first use (after a restart too). */
  private resolved(): Resolved {
    if (!this.resolvedCache) {
      const r: Resolved = { offsets: new Set(), txs: new Map() };
      const end = this.ctx.store.maxOffset(HALF_TOPIC, 0);
      for (const h of this.opsFrom(this.offsetOf(OP_TOPIC)).keys()) {
        r.offsets.add(h);
        const m = this.readQueue(HALF_TOPIC, h);
        const key = m && txKey(m);
        if (key !== undefined) r.txs.set(key, end);
      }
      this.resolvedCache = r;
    }
    return this.resolvedCache;
  }

  /** addRemoveTagInTransactionOp: tag "d", body = the half queue offset. */
  private putOp(halfQueueOffset: number, key: string | undefined) {
    const r = this.resolved();
    r.offsets.add(halfQueueOffset);
    if (key !== undefined) r.txs.set(key, this.ctx.store.maxOffset(HALF_TOPIC, 0));
    const props = inJavaOrder({ TAGS: REMOVE_TAG, WAIT: 'true', [MessageConst.UNIQ_KEY]: createUniqId() });
    return storeMessage(this.ctx, {
      topic: OP_TOPIC,
      queueId: 0,
      body: new TextEncoder().encode(String(halfQueueOffset)),
      flag: 0,
      sysFlag: 0,
      bornTimestamp: Date.now(),
      bornHost: this.ctx.storeHost,
      reconsumeTimes: 0,
      properties: props,
    });
  }

  /** A half message stored again at the end of the half queue (renewHalfMessageInner); undefined when the write fails. */
  private putBack(m: MessageExt, props: Record<string, string>): { queueOffset: number; commitLogOffset: number } | undefined {
    try {
      const r = storeMessage(this.ctx, {
        topic: HALF_TOPIC,
        queueId: 0,
        body: m.body,
        flag: m.flag,
        sysFlag: m.sysFlag,
        bornTimestamp: m.bornTimestamp,
        bornHost: m.bornHost,
        reconsumeTimes: 0,
        properties: inJavaOrder(props),
      });
      return { queueOffset: r.queueOffset, commitLogOffset: r.commitLogOffset };
    } catch (e) {
      this.ctx.log('error', `transaction check: cannot put back half message ${m.offsetMsgId}: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * One check round (TransactionalMessageServiceImpl.check): walks the half queue from the group's
   * offset; resolved messages are skipped, fresh ones end the round, the others are put back (with
   * TRANSACTION_CHECK_TIMES + 1) and checked back at a connection of their producer group, or
   * discarded to TRANS_CHECK_MAX_TIME_TOPIC after checkMax checks.
   */
  check(now: number): void {
    if (this.closed || !this.ctx.store.writable) return;
    const start = now;
    const halfOffset = this.offsetOf(HALF_TOPIC);
    const opOffset = this.offsetOf(OP_TOPIC);
    const removeMap = this.opsFrom(opOffset);
    const resolved = this.resolved();
    const doneOp: number[] = [];
    for (const [h, o] of removeMap) {
      if (h < halfOffset) {
        doneOp.push(o);
        removeMap.delete(h);
      }
    }
    const max = this.ctx.store.maxOffset(HALF_TOPIC, 0);
    let i = Math.max(halfOffset, this.ctx.store.minOffset(HALF_TOPIC, 0));
    let newOffset = i;
    for (; i < max; i++, newOffset = i) {
      const op = removeMap.get(i);
      if (op !== undefined) {
        removeMap.delete(i);
        doneOp.push(op);
        continue;
      }
      const m = this.readQueue(HALF_TOPIC, i);
      if (!m) continue;
      const key = txKey(m);
      if (key !== undefined && resolved.txs.has(key)) continue; // a copy of a resolved transaction
      const props = { ...m.properties };
      // needDiscard: the count goes up before the check it stands for.
      const times = props[MessageConst.TRANSACTION_CHECK_TIMES];
      if (times !== undefined && num(times) >= this.opts.checkMax) {
        this.discard(m);
        continue;
      }
      props[MessageConst.TRANSACTION_CHECK_TIMES] = String(times === undefined ? 1 : num(times) + 1);
      // needSkip: older than the store keeps files (resolveDiscardMsg too).
      if (Date.now() - m.bornTimestamp > this.opts.fileReservedTimeMs) {
        this.discard(m);
        continue;
      }
      if (m.storeTimestamp >= start) break;
      const age = Date.now() - m.bornTimestamp;
      let immunity = this.opts.timeoutMs;
      const immunityText = m.properties[MessageConst.CHECK_IMMUNITY_TIME_IN_SECONDS];
      if (immunityText !== undefined) {
        const s = num(immunityText);
        immunity = Number.isFinite(s) && s !== -1 ? s * 1000 : this.opts.timeoutMs;
        if (age < immunity) {
          // checkPrepareQueueOffset: resolved under its first offset, or carried forward until due.
          const first = num(m.properties[MessageConst.TRAN_PREPARED_QUEUE_OFFSET]);
          const done = Number.isFinite(first) ? removeMap.get(first) : undefined;
          if (done !== undefined) {
            removeMap.delete(first);
            doneOp.push(done);
            continue;
          }
          if (first === -1) break;
          const carried = { ...m.properties, [MessageConst.TRAN_PREPARED_QUEUE_OFFSET]: String(Number.isFinite(first) ? first : m.queueOffset) };
          if (!this.putBack(m, carried)) break;
          continue;
        }
      } else if (age >= 0 && age < immunity) {
        break;
      }
      const copy = this.putBack(m, props);
      if (!copy) break;
      this.sendCheck(m, props, copy);
    }
    if (newOffset !== halfOffset) this.ctx.offsets.set(TRANS_GROUP, HALF_TOPIC, 0, newOffset);
    for (const h of resolved.offsets) if (h < newOffset) resolved.offsets.delete(h);
    if (resolved.txs.size > RESOLVED_TXS_KEPT) for (const [k, end] of resolved.txs) if (end <= newOffset) resolved.txs.delete(k);
    doneOp.sort((a, b) => a - b);
    let op = opOffset;
    for (const o of doneOp) {
      if (o === op) op++;
      else if (o > op) break;
    }
    if (op !== opOffset) this.ctx.offsets.set(TRANS_GROUP, OP_TOPIC, 0, op);
  }

  /** AbstractTransactionalMessageCheckListener.sendCheckMessage: CHECK_TRANSACTION_STATE, oneway. */
  private sendCheck(m: MessageExt, props: Record<string, string>, copy: { queueOffset: number; commitLogOffset: number }): void {
    const group = m.properties[MessageConst.PGROUP];
    const conn = this.ctx.producers.availableConnection(group);
    const uniq = m.properties[MessageConst.UNIQ_KEY];
    if (!conn) {
      this.ctx.log('warn', `Check transaction failed, channel is null. groupId=${group}`);
      return;
    }
    const [ip, port] = splitHost(this.ctx.storeHost);
    const header: Record<string, string> = {
      tranStateTableOffset: String(copy.queueOffset),
      commitLogOffset: String(copy.commitLogOffset),
      offsetMsgId: createOffsetMsgId(ip, port, copy.commitLogOffset),
    };
    if (uniq !== undefined) {
      header.msgId = uniq;
      header.transactionId = uniq;
    }
    const body = encodeRecord({
      topic: m.properties[MessageConst.REAL_TOPIC] ?? m.topic,
      queueId: num(m.properties[MessageConst.REAL_QID]) || 0,
      flag: m.flag,
      queueOffset: copy.queueOffset,
      commitLogOffset: copy.commitLogOffset,
      sysFlag: m.sysFlag,
      bornTimestamp: m.bornTimestamp,
      bornHost: m.bornHost,
      storeTimestamp: m.storeTimestamp,
      storeHost: m.storeHost,
      reconsumeTimes: m.reconsumeTimes,
      preparedTransactionOffset: m.preparedTransactionOffset,
      body: m.body,
      propertiesString: encodeProperties(inJavaOrder(props)),
    });
    conn.sendOnewayRequest(createRequest(RequestCode.CHECK_TRANSACTION_STATE, inJavaOrder(header), { body }));
  }

  /** resolveDiscardMsg: checked too often; kept in TRANS_CHECK_MAX_TIME_TOPIC for an operator to look at. */
  private discard(m: MessageExt): void {
    this.ctx.log('warn', `half message ${m.offsetMsgId} (${m.properties[MessageConst.UNIQ_KEY] ?? ''}) has been checked ${this.opts.checkMax} times: discarded to ${CHECK_MAX_TIME_TOPIC}`);
    this.ctx.topics.ensure(CHECK_MAX_TIME_TOPIC, 1, PERM_READ | PERM_WRITE);
    try {
      storeMessage(this.ctx, {
        topic: CHECK_MAX_TIME_TOPIC,
        queueId: 0,
        body: m.body,
        flag: m.flag,
        sysFlag: m.sysFlag,
        bornTimestamp: m.bornTimestamp,
        bornHost: m.bornHost,
        reconsumeTimes: m.reconsumeTimes,
        properties: inJavaOrder(m.properties),
      });
    } catch (e) {
      this.ctx.log('error', `cannot store discarded half message: ${(e as Error).message}`);
    }
  }
}
