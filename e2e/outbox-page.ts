// The page the outbox e2e tests drive: Producer + WebSocketTransport + the outbox, from the two
// prebuilt browser files (e2e/outbox-support.ts bundles this with both imports left to
// ./rocketmq-edge.js and ./rocketmq-edge-outbox.js). Configured by its query string; the tests
// read window.__outbox.
import { Producer, WebSocketTransport } from '../packages/transport-ws/src/browser.js';
import { openOutbox, type Outbox, type OutboxEventMap, type OutboxOptions } from '../packages/transport-ws/src/outbox.js';

/** One event as the tests see it (JSON-safe). */
export interface PageEvent {
  type: keyof OutboxEventMap;
  ids: string[];
  via?: string;
  duplicate?: boolean;
  reason?: string;
  error?: string;
  limit?: string;
  form?: string;
}

export interface OutboxPage {
  ready: Promise<void>;
  events: PageEvent[];
  /** Publishes `n` messages (body `${prefix}-${i}`), all at once; resolves with their ids (or error messages). */
  publish(n: number, prefix: string, topic?: string, bodyBytes?: number): Promise<{ ok: string[]; errors: string[] }>;
  /** Publishes one message as given; its id, or the error's name and message. */
  publishOne(message: Record<string, unknown>): Promise<string>;
  size(): Promise<{ count: number; bytes: number }>;
  delivering(): boolean;
  close(): Promise<void>;
}

declare global {
  interface Window { __outbox: OutboxPage }
}

const q = new URLSearchParams(location.search);
const num = (k: string): number | undefined => (q.has(k) ? Number(q.get(k)) : undefined);
const token = q.get('token') ?? '';
const transport = new WebSocketTransport({ url: q.get('ws')!, token, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
const producer = new Producer({ transport, producerGroup: 'outbox-e2e', sendMsgTimeout: num('sendMsgTimeout') ?? 3000 });
/** Every event, also on the console: a test still hears the ones of a page being left. */
const events: PageEvent[] = [];
const record = (e: PageEvent): void => {
  events.push(e);
  console.log('[outbox]', JSON.stringify(e));
};
let outbox: Outbox | undefined;

const options: OutboxOptions = {
  producer,
  name: q.get('name') ?? 'e2e',
  retry: { initialDelayMs: 200, maxDelayMs: 2000 },
};
if (q.has('maxMessages')) options.maxMessages = num('maxMessages')!;
if (q.has('maxBytes')) options.maxBytes = num('maxBytes')!;
if (q.has('maxAgeMs')) options.maxAgeMs = num('maxAgeMs')!;
if (q.get('overflow') === 'drop-oldest') options.overflow = 'drop-oldest';
if (q.has('http')) {
  options.http = { url: q.get('http')!, token };
  const form = q.get('unloadForm');
  if (form === 'bearer' || form === 'beacon') options.http.unloadForm = form;
}

const ready = openOutbox(options).then((o) => {
  outbox = o;
  o.addEventListener('delivered', (e) => record({ type: 'delivered', ids: [e.detail.id], via: e.detail.via, duplicate: !!e.detail.result.duplicate }));
  o.addEventListener('failed', (e) => record({ type: 'failed', ids: [e.detail.id], reason: e.detail.reason, error: e.detail.error.message }));
  o.addEventListener('overflow', (e) => record({ type: 'overflow', ids: e.detail.dropped.map((m) => m.id), limit: e.detail.limit }));
  o.addEventListener('handedover', (e) => record({ type: 'handedover', ids: e.detail.ids, form: e.detail.form }));
});

window.__outbox = {
  ready,
  events,
  async publish(n, prefix, topic = q.get('topic') ?? 'outbox-e2e', bodyBytes) {
    await ready;
    const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) =>
      outbox!.publish({ topic, body: bodyBytes ? `${prefix}-${i}-`.padEnd(bodyBytes, 'x') : `${prefix}-${i}`, tags: prefix })));
    return {
      ok: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
      errors: settled.flatMap((s) => (s.status === 'rejected' ? [`${(s.reason as Error).name}: ${(s.reason as Error).message}`] : [])),
    };
  },
  async publishOne(message) {
    await ready;
    return outbox!.publish(message as never).catch((e: Error) => `${e.name}: ${e.message}`);
  },
  size: () => ready.then(() => outbox!.size()),
  delivering: () => !!outbox?.delivering,
  close: () => ready.then(() => outbox!.close()),
};
