// The gateway's HTTP publish contract, client side: messages as JSON (their id is the gateway's
// idempotency key), request bodies packed within a byte budget, the Bearer form
// (POST /v1/topics/{topic}/messages), the beacon form (POST /v1/beacon) and its short-lived token.
import type { OutboxSendResult, QueuedMessage } from './outbox-options.js';
import type { TokenSource } from './transport.js';

/** One message of a request body. */
export interface HttpMessage {
  id: string;
  body: string;
  encoding?: 'base64';
  tags?: string;
  keys?: string | string[];
  properties?: Record<string, string>;
  delayLevel?: number;
}

/** One entry of the gateway's {"results":[…]}. */
export interface HttpResult {
  id: string;
  sendStatus: OutboxSendResult['sendStatus'];
  msgId: string;
  offsetMsgId: string;
  topic: string;
  brokerName: string;
  queueId: number;
  queueOffset: number;
  duplicate: boolean;
}

/** A request body for one topic and the messages in it. */
export interface PackedRequest { topic: string; body: string; messages: QueuedMessage[] }

/** The gateway refused a request: `status` and its JSON {code, remark}. */
export class HttpPublishError extends Error {
  override name = 'HttpPublishError';
  declare readonly status: number;
  declare readonly responseCode: number | undefined;
  constructor(status: number, code: number | undefined, remark: string) {
    super(`the gateway answered HTTP ${status}${code === undefined ? '' : ` (code ${code})`}: ${remark}`);
    Object.assign(this, { status, responseCode: code });
  }

  /** Bad input, a topic the token does not cover, too large: retrying cannot fix these. */
  get permanent(): boolean {
    return this.status === 400 || this.status === 403 || this.status === 413 || this.status === 415;
  }
}

const encoder = new TextEncoder();
const utf8Length = (s: string): number => encoder.encode(s).length;

/** Base64 of bytes, in slices (String.fromCharCode takes arguments, and those are bounded). */
export function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function toHttpMessage(m: QueuedMessage): HttpMessage {
  const out: HttpMessage = typeof m.body === 'string' ? { id: m.id, body: m.body } : { id: m.id, body: base64(m.body), encoding: 'base64' };
  if (m.tags) out.tags = m.tags;
  if (m.keys?.length) out.keys = typeof m.keys === 'string' ? m.keys : [...m.keys];
  if (m.properties && Object.keys(m.properties).length) out.properties = m.properties;
  if (m.delayLevel) out.delayLevel = m.delayLevel;
  return out;
}

/** The gateway's answer as the outbox reports it (the shape of core's SendResult). */
export const toSendResult = (r: HttpResult): OutboxSendResult => ({
  sendStatus: r.sendStatus,
  msgId: r.msgId,
  offsetMsgId: r.offsetMsgId,
  messageQueue: { topic: r.topic, brokerName: r.brokerName, queueId: r.queueId },
  queueOffset: r.queueOffset,
  duplicate: r.duplicate,
});

/**
 * Packs `messages` (oldest first) into request bodies, one topic per request and at most
 * `maxPerRequest` messages each, all bodies together within `budget` UTF-8 bytes. Stops at the
 * first message that does not fit: what is left stays queued. `wrap(topic, items)` builds a body
 * around the comma-separated message JSON.
 */
export function packRequests(
  messages: QueuedMessage[], budget: number, maxPerRequest: number, wrap: (topic: string, items: string) => string,
): PackedRequest[] {
  const open = new Map<string, { items: string[]; messages: QueuedMessage[] }>();
  const done: { topic: string; items: string[]; messages: QueuedMessage[] }[] = [];
  let used = 0;
  for (const m of messages) {
    const item = JSON.stringify(toHttpMessage(m));
    let req = open.get(m.topic);
    if (req && req.messages.length >= maxPerRequest) req = undefined;
    const cost = utf8Length(item) + (req ? 1 : utf8Length(wrap(m.topic, '')));
    if (used + cost > budget) break;
    used += cost;
    if (!req) {
      req = { items: [], messages: [] };
      open.set(m.topic, req);
      done.push({ topic: m.topic, ...req });
    }
    req.items.push(item);
    req.messages.push(m);
  }
  return done.map(({ topic, items, messages }) => ({ topic, messages, body: wrap(topic, items.join(',')) }));
}

export const bearerBody = (_topic: string, items: string): string => `{"messages":[${items}]}`;
export const beaconBody = (token: string) => (topic: string, items: string): string =>
  `{"token":${JSON.stringify(token)},"topic":${JSON.stringify(topic)},"messages":[${items}]}`;

export const resolveToken = async (t: TokenSource): Promise<string> => (typeof t === 'function' ? t() : t);

/** The gateway's JSON answer, or HttpPublishError with its {code, remark}. */
async function answer<T>(res: Response): Promise<T> {
  const json = (await res.json().catch(() => undefined)) as { code?: number; remark?: string } | undefined;
  if (!res.ok) throw new HttpPublishError(res.status, json?.code, json?.remark ?? res.statusText);
  return json as T;
}

/** POST /v1/topics/{topic}/messages with a Bearer token: the results, in the order of the body's messages. */
export async function postMessages(base: string, token: string, topic: string, body: string, keepalive = false): Promise<HttpResult[]> {
  const res = await fetch(`${base}/v1/topics/${encodeURIComponent(topic)}/messages`, {
    method: 'POST',
    keepalive,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return (await answer<{ results: HttpResult[] }>(res)).results;
}

/** POST /v1/beacon-tokens: a short-lived, publish-only token for the beacon form. */
export async function mintBeaconToken(base: string, token: string): Promise<{ token: string; expiresAt: number }> {
  const res = await fetch(`${base}/v1/beacon-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return answer(res);
}

/** "ws://host/rmq" → "http://host"; "wss://…" → "https://…". */
export const httpBaseOf = (wsUrl: string): string => {
  const u = new URL(wsUrl);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
};
