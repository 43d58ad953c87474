// What the broker's processors share, and the one path by which any message gets stored.
import { encodeProperties, inJavaOrder, MessageConst } from '@rocketmq-edge/core/internal';
import type { Logger } from '../logger.js';
import type { MessageStore, PutResult } from '../store/message-store.js';
import { encodeRecord } from '../store/record.js';
import type { ConsumerManager } from './consumer-manager.js';
import type { ConsumerOffsets } from './consumer-offsets.js';
import type { ProducerManager } from './producer-manager.js';
import { SCHEDULE_TOPIC, TIMER_TOPIC, type TopicConfigManager } from './topic-config.js';

export const DEFAULT_DELAY_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';
/** 5.x timerMaxDelaySec default: 3 days. */
export const TIMER_MAX_DELAY_MS = 3 * 24 * 3600_000;

export function parseDelayLevels(text: string): number[] {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
  return text
    .trim()
    .split(/\s+/)
    .map((t) => {
      const m = /^(\d+)(ms|s|m|h|d)$/.exec(t);
      if (!m) throw new Error(`bad delay level "${t}" (expected e.g. 1s, 5m, 2h)`);
      return Number(m[1]) * unit[m[2]!]!;
    });
}

export interface BrokerContext {
  brokerName: string;
  clusterName: string;
  /** Address in routes and offset ids ("ip:port"). */
  storeHost: string;
  store: MessageStore;
  topics: TopicConfigManager;
  offsets: ConsumerOffsets;
  consumers: ConsumerManager;
  producers: ProducerManager;
  delayLevelsMs: number[];
  maxMessageSize: number;
  /** Most records one SEND_BATCH_MESSAGE may hold. */
  maxBatchMessages: number;
  regionId: string;
  traceOn: boolean;
  /** BrokerConfig.rejectTransactionMessage: half messages are refused with NO_PERMISSION. */
  rejectTransactionMessage: boolean;
  log: Logger;
}

/** A message about to be stored. `properties` are written in the given key order. */
export interface InnerMessage {
  topic: string;
  queueId: number;
  body: Uint8Array;
  flag: number;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: string;
  reconsumeTimes: number;
  properties: Record<string, string>;
  /** Exact stored property string, when it must not be re-serialized (batch records). */
  propertiesString?: string;
  /** Commit-log offset of the half message a committed transactional message came from (else 0). */
  preparedTransactionOffset?: number;
}

export class IllegalMessageError extends Error {}

/** True when applyDelay has nothing to do (no delay level, no timer property). */
export function notDelayed(p: Record<string, string>): boolean {
  return p[MessageConst.DELAY] === undefined && p[MessageConst.TIMER_DELAY_SEC] === undefined &&
    p[MessageConst.TIMER_DELAY_MS] === undefined && p[MessageConst.TIMER_DELIVER_MS] === undefined;
}

/**
 * Redirects a delayed message to its parking topic: DELAY level → SCHEDULE_TOPIC_XXXX queue level-1;
 * TIMER_DELAY_SEC / TIMER_DELAY_MS / TIMER_DELIVER_MS (in that precedence) → the timer topic with
 * TIMER_OUT_MS = due time. REAL_TOPIC / REAL_QID keep the destination. Returns the message unchanged
 * when it is not delayed (or a timer message already due).
 */
export function applyDelay(ctx: BrokerContext, msg: InnerMessage, now: number): InnerMessage {
  const p = msg.properties;
  const isTxHalf = (msg.sysFlag & 0xc) === 0x4;
  const levelText = p[MessageConst.DELAY];
  let level = levelText !== undefined ? Number(levelText) : 0;
  if (!Number.isFinite(level)) level = 0;
  if (level > 0 && !isTxHalf) {
    const max = ctx.delayLevelsMs.length;
    if (level > max) level = max;
    const props: Record<string, string> = { ...p, [MessageConst.DELAY]: String(level) };
    delete props[MessageConst.TIMER_DELAY_SEC];
    delete props[MessageConst.TIMER_DELAY_MS];
    delete props[MessageConst.TIMER_DELIVER_MS];
    props[MessageConst.REAL_TOPIC] = msg.topic;
    props[MessageConst.REAL_QID] = String(msg.queueId);
    return { ...msg, topic: SCHEDULE_TOPIC, queueId: level - 1, properties: inJavaOrder(props), propertiesString: undefined };
  }
  const sec = p[MessageConst.TIMER_DELAY_SEC];
  const ms = p[MessageConst.TIMER_DELAY_MS];
  const at = p[MessageConst.TIMER_DELIVER_MS];
  if (sec === undefined && ms === undefined && at === undefined) return msg;
  let due: number;
  if (sec !== undefined) due = now + Number(sec) * 1000;
  else if (ms !== undefined) due = now + Number(ms);
  else due = Number(at);
  if (!Number.isFinite(due) || due < 0) throw new IllegalMessageError('timer message has an illegal delay or delivery time');
  if (due - now > TIMER_MAX_DELAY_MS) throw new IllegalMessageError(`timer message delay exceeds the maximum of ${TIMER_MAX_DELAY_MS / 1000} s`);
  if (due <= now || isTxHalf) return msg;
  const props: Record<string, string> = { ...p };
  props[MessageConst.REAL_TOPIC] = msg.topic;
  props[MessageConst.REAL_QID] = String(msg.queueId);
  props[MessageConst.TIMER_OUT_MS] = String(Math.floor(due));
  return { ...msg, topic: TIMER_TOPIC, queueId: 0, properties: inJavaOrder(props), propertiesString: undefined };
}

/** Encodes and appends a record. Throws IllegalMessageError for oversize properties. */
export function storeMessage(ctx: BrokerContext, msg: InnerMessage, now = Date.now()): PutResult {
  const propertiesString = msg.propertiesString ?? encodeProperties(msg.properties);
  if (Buffer.byteLength(propertiesString, 'utf8') > 0x7fff) {
    throw new IllegalMessageError('the message is illegal, maybe msg properties length limit 32k.');
  }
  const record = encodeRecord({
    topic: msg.topic,
    queueId: msg.queueId,
    flag: msg.flag,
    queueOffset: 0,
    commitLogOffset: 0,
    sysFlag: msg.sysFlag,
    bornTimestamp: msg.bornTimestamp,
    bornHost: msg.bornHost,
    storeTimestamp: now,
    storeHost: ctx.storeHost,
    reconsumeTimes: msg.reconsumeTimes,
    preparedTransactionOffset: msg.preparedTransactionOffset ?? 0,
    body: msg.body,
    propertiesString,
  });
  return ctx.store.put(msg.topic, msg.queueId, record, msg.properties, now);
}

/** The store's tagsCode: delivery time for parked messages, TAGS hash otherwise. */
export function makeTagsCodeOf(delayLevelsMs: number[], tagsHash: (t: string) => number) {
  return (topic: string, props: Record<string, string>, storeTimestamp: number): number => {
    if (topic === SCHEDULE_TOPIC) {
      const level = Math.min(Math.max(1, Number(props[MessageConst.DELAY]) || 1), delayLevelsMs.length);
      return storeTimestamp + delayLevelsMs[level - 1]!;
    }
    if (topic === TIMER_TOPIC) return Number(props[MessageConst.TIMER_OUT_MS]) || storeTimestamp;
    const tags = props[MessageConst.TAGS];
    return tags ? tagsHash(tags) : 0;
  };
}
