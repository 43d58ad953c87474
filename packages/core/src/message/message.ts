// The user's message and its wire form (what Java's Message object holds when it is sent).
import { MQClientError } from '../errors.js';
import { ResponseCode } from '../remoting/codes.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { KEY_SEPARATOR, MessageConst, RESERVED_PROPERTY_NAMES } from './constants.js';
import { NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR } from './properties.js';

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

const utf8 = new TextEncoder();

const illegal = (msg: string) => new MQClientError(ResponseCode.MESSAGE_ILLEGAL, msg);
const isBlank = (s: unknown): boolean => typeof s !== 'string' || s.trim() === '';
const hasSeparator = (s: string) => s.includes(NAME_VALUE_SEPARATOR) || s.includes(PROPERTY_SEPARATOR);

/**
 * Builds the wire form: properties TAGS, KEYS, WAIT, DELAY, TIMER_DELIVER_MS, then user properties,
 * in the order a Java HashMap filled that way iterates them. Throws MQClientError(13) for bad fields.
 */
export function toWireMessage(msg: Message): WireMessage {
  const p: Record<string, string> = {};
  if (msg.tags) p[MessageConst.TAGS] = msg.tags;
  const keys = typeof msg.keys === 'string' ? msg.keys : msg.keys?.join(KEY_SEPARATOR);
  if (keys) p[MessageConst.KEYS] = keys;
  p[MessageConst.WAIT] = msg.waitStoreMsgOK === false ? 'false' : 'true';
  if (msg.delayLevel !== undefined) {
    if (!Number.isInteger(msg.delayLevel) || msg.delayLevel < 0 || msg.delayLevel > 0x7fffffff) {
      throw illegal(`delayLevel ${msg.delayLevel} must be a whole number from 0 (no delay) to 18`);
    }
    if (msg.delayLevel > 0) p[MessageConst.DELAY] = String(msg.delayLevel);
  }
  if (msg.deliverTimeMs !== undefined) {
    if (typeof msg.deliverTimeMs !== 'number' || !Number.isFinite(msg.deliverTimeMs) || msg.deliverTimeMs < 0) {
      throw illegal(`deliverTimeMs ${msg.deliverTimeMs} must be a finite, non-negative time in ms since the epoch`);
    }
    p[MessageConst.TIMER_DELIVER_MS] = String(Math.trunc(msg.deliverTimeMs));
  }
  for (const [k, v] of Object.entries(msg.properties ?? {})) {
    if (isBlank(k) || isBlank(v)) throw illegal(`user property ${JSON.stringify(k)}: name and value must be non-blank strings`);
    if (RESERVED_PROPERTY_NAMES.has(k)) {
      throw illegal(`user property "${k}" is reserved by RocketMQ; use another name (or the Message field for it)`);
    }
    if (hasSeparator(k) || hasSeparator(v)) throw illegal(`user property "${k}" contains the control character \\u0001 or \\u0002`);
    if (k === '__proto__') Object.defineProperty(p, k, { value: v, enumerable: true, writable: true, configurable: true });
    else p[k] = v;
  }
  for (const [name, s] of [['tags', msg.tags], ['keys', keys]] as const) {
    if (s && hasSeparator(s)) throw illegal(`${name} must not contain the control character \\u0001 or \\u0002`);
  }
  const flag = msg.flag ?? 0;
  if (!Number.isInteger(flag) || flag < -0x80000000 || flag > 0x7fffffff) throw illegal(`flag ${flag} must be a 32-bit integer`);
  const body = typeof msg.body === 'string' ? utf8.encode(msg.body) : msg.body;
  return { topic: msg.topic, body, flag, properties: inJavaOrder(p) };
}
