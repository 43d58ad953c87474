// The outbox's side of the gateway's HTTP API, on top of ./http.js (its JSON message form, its
// HttpProducer and HttpPublishError): request bodies packed within a byte budget for the unload
// hand-over, the beacon form (POST /v1/beacon) and its short-lived token (POST /v1/beacon-tokens).
import { HttpProducer, jsonMessage, type HttpSendResult } from './http.js';
import type { OutboxSendResult, QueuedMessage } from './outbox-options.js';
import type { TokenSource } from './transport.js';

/** A request body for one topic and the messages in it. */
export interface PackedRequest { topic: string; body: string; messages: QueuedMessage[] }

/** A queued message as core's Message: its id is the msgId (UNIQ_KEY) it is sent with. */
export const asMessage = (m: QueuedMessage) =>
  ({ topic: m.topic, body: m.body, tags: m.tags, keys: m.keys, properties: m.properties, delayLevel: m.delayLevel, msgId: m.id });

const encoder = new TextEncoder();
export const utf8Length = (s: string): number => encoder.encode(s).length;

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
    const item = JSON.stringify(jsonMessage(asMessage(m)));
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

/** The body HttpProducer.sendBatch sends: {"messages":[…]}. */
export const bearerBody = (_topic: string, items: string): string => `{"messages":[${items}]}`;
export const beaconBody = (token: string) => (topic: string, items: string): string =>
  `{"token":${JSON.stringify(token)},"topic":${JSON.stringify(topic)},"messages":[${items}]}`;

export const resolveToken = async (t: TokenSource): Promise<string> => (typeof t === 'function' ? t() : t);

/**
 * The Bearer form: `messages` (one topic) as one request. `keepalive`: the browser completes it
 * after the page is gone; with a string token the fetch starts before this returns.
 */
export function postMessages(base: string, token: TokenSource, messages: QueuedMessage[], keepalive = false): Promise<HttpSendResult[]> {
  const producer = new HttpProducer({ url: base, token, ...(keepalive && { fetch: (input, init) => fetch(input, { ...init, keepalive }) }) });
  return producer.sendBatch(messages.map(asMessage));
}

/** The gateway's answer as the outbox reports it (the shape of core's SendResult). */
export const toSendResult = (r: HttpSendResult): OutboxSendResult => ({
  sendStatus: r.sendStatus,
  msgId: r.msgId,
  offsetMsgId: r.offsetMsgId,
  messageQueue: { topic: r.topic, brokerName: r.brokerName, queueId: r.queueId },
  queueOffset: r.queueOffset,
  duplicate: r.duplicate,
});

/** POST /v1/beacon-tokens: a short-lived, publish-only token for the beacon form. */
export async function mintBeaconToken(base: string, token: string): Promise<{ token: string; expiresAt: number }> {
  const res = await fetch(`${base}/v1/beacon-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  if (!res.ok) throw new Error(`the gateway answered HTTP ${res.status} to POST /v1/beacon-tokens`);
  return res.json() as Promise<{ token: string; expiresAt: number }>;
}

/** "ws://host/rmq" → "http://host"; "wss://…" → "https://…". */
export const httpBaseOf = (wsUrl: string): string => {
  const u = new URL(wsUrl);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
};
