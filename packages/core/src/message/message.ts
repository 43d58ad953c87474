// The user's message and its wire form (what Java's Message object holds when it is sent).
import { MQClientError } from '../errors.js';
import { RS_MESSAGE_ILLEGAL } from '../remoting/codes.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { REPLY_PROPERTIES, isReservedPropertyName } from './constants.js';
import { setOwn } from './properties.js';
import { utf8 } from '../utf8.js';

export interface Message {
  topic: string;
  /** Bytes, or text sent as UTF-8. */
  body: Uint8Array | string;
  /** One tag (TAGS property), used for consumer-side filtering. */
  tags?: string;
  /** Business keys (KEYS property, several joined by a space), indexed by the broker. */
  keys?: string | readonly string[];
  /** Application-defined int, stored with the message. Default 0. */
  flag?: number;
  /** User properties; reserved names (MessageConst) are refused. */
  properties?: Record<string, string>;
  /** Delay level 1..18 (broker's messageDelayLevel; 0 = none, larger is clamped by the broker). */
  delayLevel?: number;
  /** Absolute delivery time in ms since the epoch (5.x timer messages, TIMER_DELIVER_MS). */
  deliverTimeMs?: number;
  /** WAIT property: whether the broker should wait for the store (flush) before answering. Default true. */
  waitStoreMsgOK?: boolean;
  /**
   * The message id (UNIQ_KEY) to send with instead of a fresh one, so that a message sent again
   * after an unknown outcome keeps its id (SendResult.msgId) and consumers can drop the repeat.
   */
  msgId?: string;
}

export interface MessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

/** A message as it goes on the wire. `properties` are in wire (Java HashMap) order. */
export interface WireMessage {
  topic: string;
  body: Uint8Array;
  flag: number;
  properties: Record<string, string>;
}

/** Throws MQClientError(code, msg) (also validators.ts's). */
export const fail = (code: number, msg: string): never => {
  throw new MQClientError(code, msg);
};
const illegal = (msg: string): never => fail(RS_MESSAGE_ILLEGAL, msg);
/** Not a string, or only whitespace (also validators.ts's test for names). */
export const isBlank = (s: unknown): boolean => typeof s !== 'string' || !s.trim();

/**
 * Builds the wire form: properties TAGS, KEYS, WAIT, DELAY, TIMER_DELIVER_MS, then user properties,
 * in the order a Java HashMap filled that way iterates them. Throws MQClientError(13) for bad fields.
 * A reply (user property MSG_TYPE = "reply", as createReplyMessage makes it) may carry the reserved
 * MSG_TYPE, CORRELATION_ID, REPLY_TO_CLIENT and TTL, and has no WAIT unless asked for, as in Java.
 */
export function toWireMessage(msg: Message): WireMessage {
  const p: Record<string, string> = {};
  const { tags, delayLevel: dl, deliverTimeMs: dt, body, msgId, waitStoreMsgOK: wait } = msg;
  const flag = msg.flag ?? 0;
  const keys = typeof msg.keys === 'string' ? msg.keys : msg.keys?.join(' ') /* KEY_SEPARATOR */;
  const reply = msg.properties?.MSG_TYPE === 'reply';
  if (tags) p.TAGS = tags;
  if (keys) p.KEYS = keys;
  if (msgId) p.UNIQ_KEY = msgId;
  if (!reply || wait != null) p.WAIT = `${wait !== false}`;
  if (dl !== undefined) {
    if (!Number.isInteger(dl) || dl < 0 || dl > 0x7fffffff) illegal(`delayLevel ${dl} must be a whole number from 0 to 18`);
    if (dl > 0) p.DELAY = `${dl}`;
  }
  if (dt !== undefined) {
    if (!Number.isFinite(dt) || dt < 0) illegal(`deliverTimeMs ${dt} must be a time in ms since the epoch`);
    p.TIMER_DELIVER_MS = `${Math.trunc(dt)}`;
  }
  addUserProperties(p, msg.properties, reply);
  if (!Number.isInteger(flag) || flag < -0x80000000 || flag > 0x7fffffff) illegal(`flag ${flag} must be a 32-bit integer`);
  return { topic: msg.topic, body: typeof body === 'string' ? utf8.encode(body) : body, flag, properties: inJavaOrder(p) };
}

/**
 * Adds user properties to `p` (Message.putUserProperty): non-blank names and values, no reserved
 * name (but the reply ones when `reply`); then checks every name and value in `p` for the
 * property-string separators \u0001 and \u0002, which would split them. Returns `p`.
 */
export function addUserProperties(p: Record<string, string>, props: Record<string, string> = {}, reply?: boolean): Record<string, string> {
  for (const [k, v] of Object.entries(props)) {
    if (isBlank(k) || isBlank(v)) illegal(`user property ${JSON.stringify(k)}: name and value must be non-blank strings`);
    if (isReservedPropertyName(k) && !(reply && REPLY_PROPERTIES.split(' ').includes(k))) illegal(`user property "${k}" is reserved by RocketMQ: rename it`);
    setOwn(p, k, v);
  }
  for (const k in p) if (/[\u0001\u0002]/.test(k + p[k])) illegal(`property "${k}" contains the control character \\u0001 or \\u0002`);
  return p;
}
