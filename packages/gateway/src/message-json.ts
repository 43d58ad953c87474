// Messages of an HTTP publish, from its two forms: the raw form (body = message body, fields in
// RocketMQ-* headers, Idempotency-Key) and the JSON form ({"messages":[…]} or one message object).
// Every field is checked here, with core's own message checks, before anything is sent: bad input
// is refused whole with a remark naming the field, and nothing of it is stored.
import { Buffer } from 'node:buffer';
import {
  MQClientError, ResponseCode, setOwn, toWireMessage, validateMessage, type Message,
} from '@rocketmq-edge/core/internal';
import { HTTP_MESSAGE_ID } from '@rocketmq-edge/transport-ws/http';
import { HttpError, badRequest } from './http-error.js';

/** One message of a publish and the client's id for it (its UNIQ_KEY), if it gave one. */
export interface PublishItem {
  message: Message;
  id?: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const FIELDS = new Set(['id', 'body', 'encoding', 'tags', 'keys', 'properties', 'delayLevel']);

export interface MessageLimits {
  /** Largest message body (core's maxMessageSize). */
  maxMessageSize: number;
  /** Most messages in one request (the WebSocket path's maxBatchMessages). */
  maxMessages: number;
}

export function checkId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !HTTP_MESSAGE_ID.test(id)) {
    throw badRequest(`${where} must be 1 to 128 printable ASCII characters (it becomes the message id, UNIQ_KEY)`);
  }
  return id;
}

/** Core's checks (toWireMessage, validateMessage) as a 400 naming the message; a body over the limit is a 413. */
function checked(item: PublishItem, where: string, maxMessageSize: number): PublishItem {
  const { body } = item.message;
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > maxMessageSize) {
    throw new HttpError(413, ResponseCode.MESSAGE_ILLEGAL, `${where}: the body is ${size} bytes; at most ${maxMessageSize}`, 'oversize');
  }
  try {
    validateMessage(toWireMessage(item.message), maxMessageSize);
  } catch (e) {
    if (!(e instanceof MQClientError)) throw e;
    throw badRequest(`${where}: ${e.message}`);
  }
  return item;
}


/**
 * The `messages` of a JSON publish ({"messages":[…]} or one message object), in order. An
 * Idempotency-Key header is the id of a lone message object (which then has none or the same).
 */
export function jsonMessages(topic: string, value: unknown, limits: MessageLimits, idempotencyKey?: string): { items: PublishItem[]; wrapped: boolean } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the JSON body must be an object: {"messages":[{"body":"…"}]} or one message {"body":"…"}');
  }
  const wrapped = 'messages' in value;
  if (!wrapped) {
    const id = (value as { id?: unknown }).id;
    if (idempotencyKey !== undefined && id !== undefined && id !== idempotencyKey) throw badRequest('the Idempotency-Key header and the message\'s "id" differ');
    const message = idempotencyKey === undefined ? value : { ...value, id: idempotencyKey };
    return { items: [jsonMessage(topic, message, 'the message', limits.maxMessageSize)], wrapped };
  }
  if (idempotencyKey !== undefined) throw badRequest('Idempotency-Key names one message: with {"messages":[…]} give each message its "id"');
  const extra = Object.keys(value).find((k) => k !== 'messages');
  if (extra !== undefined) throw badRequest(`unknown field ${JSON.stringify(extra.slice(0, 64))} beside "messages"`);
  return { items: messageList(topic, (value as { messages: unknown }).messages, limits), wrapped };
}

/** A `messages` array (also the beacon form's). */
export function messageList(topic: string, list: unknown, limits: MessageLimits): PublishItem[] {
  if (!Array.isArray(list) || list.length === 0) throw badRequest('"messages" must be a non-empty array of messages');
  if (list.length > limits.maxMessages) {
    throw new HttpError(413, ResponseCode.MESSAGE_ILLEGAL,
      `${list.length} messages in one request; at most ${limits.maxMessages}: send them in several requests`, 'batch_too_large');
  }
  const items = list.map((m, i) => jsonMessage(topic, m, `messages[${i}]`, limits.maxMessageSize));
  const ids = new Set<string>();
  for (const [i, { id }] of items.entries()) {
    if (id === undefined) continue;
    if (ids.has(id)) throw badRequest(`messages[${i}]: id ${JSON.stringify(id)} appears twice in the request`);
    ids.add(id);
  }
  return items;
}

function jsonMessage(topic: string, m: unknown, where: string, maxMessageSize: number): PublishItem {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw badRequest(`${where} must be an object with a "body"`);
  const o = m as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FIELDS.has(k)) {
      throw badRequest(`${where}: unknown field ${JSON.stringify(k.slice(0, 64))} (known: ${[...FIELDS].join(', ')})`);
    }
  }
  const message: Message = { topic, body: jsonBody(o.body, o.encoding, where) };
  if (o.tags !== undefined) message.tags = str(o.tags, `${where}.tags`);
  if (o.keys !== undefined) message.keys = keyList(o.keys, `${where}.keys`);
  if (o.delayLevel !== undefined) {
    if (typeof o.delayLevel !== 'number') throw badRequest(`${where}.delayLevel must be a number (1..18)`);
    message.delayLevel = o.delayLevel;
  }
  if (o.properties !== undefined) message.properties = propertyRecord(o.properties, `${where}.properties`);
  const item: PublishItem = { message };
  if (o.id !== undefined) {
    item.id = checkId(o.id, `${where}.id`);
    message.msgId = item.id;
  }
  return checked(item, where, maxMessageSize);
}

function jsonBody(body: unknown, encoding: unknown, where: string): Uint8Array | string {
  if (typeof body !== 'string') throw badRequest(`${where}.body must be a string (UTF-8 text, or base64 with "encoding":"base64")`);
  if (encoding === undefined || encoding === 'utf8') return body;
  if (encoding !== 'base64') throw badRequest(`${where}.encoding must be "utf8" or "base64"`);
  if (!BASE64.test(body)) throw badRequest(`${where}.body is not base64 (RFC 4648, with padding)`);
  return new Uint8Array(Buffer.from(body, 'base64'));
}

const str = (v: unknown, where: string): string => {
  if (typeof v !== 'string') throw badRequest(`${where} must be a string`);
  return v;
};

function keyList(v: unknown, where: string): string | string[] {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v) || !v.every((k) => typeof k === 'string' && k.length > 0 && !k.includes(' '))) {
    throw badRequest(`${where} must be a string (keys separated by spaces) or an array of keys without spaces`);
  }
  return v as string[];
}

function propertyRecord(v: unknown, where: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${where} must be an object of string values`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw badRequest(`${where}[${JSON.stringify(k.slice(0, 64))}] must be a string`);
    setOwn(out, k, val);
  }
  return out;
}

const PROPERTY_PREFIX = 'rocketmq-property-';
/** Header values: printable ASCII and tab (other bytes would arrive as Latin-1, not as the text sent). */
const HEADER_VALUE = /^[\x20-\x7e\t]*$/;

/**
 * The raw form: the request body is the message body; fields come from headers (RocketMQ-Tags,
 * RocketMQ-Keys, RocketMQ-Delay-Level, RocketMQ-Property-<name>, Idempotency-Key). Names are read
 * from the raw headers, so a property keeps the case it was sent with.
 */
export function rawMessage(topic: string, rawHeaders: readonly string[], body: Uint8Array, maxMessageSize: number): PublishItem {
  const message: Message = { topic, body };
  const item: PublishItem = { message };
  const seen = new Set<string>();
  let properties: Record<string, string> | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (!lower.startsWith('rocketmq-') && lower !== 'idempotency-key') continue;
    const value = rawHeaders[i + 1]!;
    if (seen.has(lower)) throw badRequest(`header ${name} is given twice`);
    seen.add(lower);
    if (!HEADER_VALUE.test(value)) throw badRequest(`header ${name}: only printable ASCII in header values; send other text in the JSON form`);
    if (lower === 'idempotency-key') {
      item.id = checkId(value, 'Idempotency-Key');
      message.msgId = item.id;
    } else if (lower === 'rocketmq-tags') message.tags = value;
    else if (lower === 'rocketmq-keys') message.keys = value;
    else if (lower === 'rocketmq-delay-level') {
      if (!/^\d{1,10}$/.test(value)) throw badRequest(`header ${name} must be a delay level (1..18)`);
      message.delayLevel = Number(value);
    } else if (lower.startsWith(PROPERTY_PREFIX) && lower.length > PROPERTY_PREFIX.length) {
      setOwn((properties ??= {}), name.slice(PROPERTY_PREFIX.length), value);
    } else {
      throw badRequest(`unknown header ${name} (known: RocketMQ-Tags, RocketMQ-Keys, RocketMQ-Delay-Level, RocketMQ-Property-<name>, Idempotency-Key)`);
    }
  }
  if (properties) message.properties = properties;
  return checked(item, 'the message', maxMessageSize);
}
