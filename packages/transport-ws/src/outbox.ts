// Outbox: publish() resolves once a message is durably queued on the device (IndexedDB); it is then
// delivered through core's Producer whenever connected, across reloads and crashes, with backoff.
// One tab per origin and outbox name delivers at a time (a Web Lock); the others queue and wait in
// line. At page unload what is still queued is handed to the gateway's HTTP endpoint, where each
// message's id (its UNIQ_KEY) is the idempotency key. The entry @rocketmq-edge/transport-ws/outbox.
import {
  MQClientError, RS_MESSAGE_ILLEGAL, createUniqId, encodeProperties, toWireMessage, validateMessage, type Producer,
} from '@rocketmq-edge/core/internal';
import { HTTP_MESSAGE_ID } from './http.js';
import { OutboxDb } from './outbox-db.js';
import { Delivery, type ResolvedOutboxOptions } from './outbox-delivery.js';
import { httpBaseOf } from './outbox-http.js';
import {
  DEFAULT_OUTBOX_CONCURRENCY, DEFAULT_OUTBOX_MAX_AGE_MS, DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_MESSAGES,
  DEFAULT_OUTBOX_NAME, DEFAULT_OUTBOX_RETRY, type OutboxEventMap, type OutboxMessage, type OutboxOptions, type QueuedMessage,
} from './outbox-options.js';
import { UnloadFlush } from './outbox-unload.js';

export * from './outbox-options.js';
export { HttpPublishError } from './http.js';

/** Notes between the tabs of one outbox (its BroadcastChannel). */
type Note =
  | { t: 'queued' }
  | { t: 'gone'; seqs: number[] }
  | { t: 'handed'; seqs: number[]; at: number }
  | { t: 'delivered'; seq: number; detail: OutboxEventMap['delivered'] }
  | { t: 'failed'; seq: number; detail: Omit<OutboxEventMap['failed'], 'error'>; error: { name: string; message: string; responseCode?: number } };

/** The message fields the outbox keeps (what the gateway's HTTP form carries). */
const FIELDS = ['topic', 'body', 'tags', 'keys', 'properties', 'delayLevel', 'msgId'];

/** Opens (or creates) the outbox `options.name` and starts delivering what it holds. */
export async function openOutbox(options: OutboxOptions): Promise<Outbox> {
  const outbox = new Outbox(options);
  await outbox.ready;
  return outbox;
}

export interface Outbox extends EventTarget {
  addEventListener<K extends keyof OutboxEventMap>(type: K, listener: (ev: CustomEvent<OutboxEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof OutboxEventMap>(type: K, listener: (ev: CustomEvent<OutboxEventMap[K]>) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export class Outbox extends EventTarget {
  readonly name: string;
  /** Resolves once the database is open and, if this tab delivers, its queue is read. */
  readonly ready: Promise<void>;
  readonly #o: ResolvedOutboxOptions;
  readonly #producer: Producer;
  #db: OutboxDb | undefined;
  #delivery: Delivery | undefined;
  readonly #unload: UnloadFlush | undefined;
  readonly #httpBase: string | undefined;
  #closed = false;
  readonly #stop = new AbortController();
  #release: (() => void) | undefined;
  readonly #channel: BroadcastChannel | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: OutboxOptions) {
    super();
    const o = (this.#o = {
      name: DEFAULT_OUTBOX_NAME, maxMessages: DEFAULT_OUTBOX_MAX_MESSAGES, maxBytes: DEFAULT_OUTBOX_MAX_BYTES, overflow: 'reject',
      maxAgeMs: DEFAULT_OUTBOX_MAX_AGE_MS, concurrency: DEFAULT_OUTBOX_CONCURRENCY, ...options,
      retry: { ...DEFAULT_OUTBOX_RETRY, ...options?.retry },
    });
    if (!o.producer?.options) throw new TypeError('openOutbox needs a producer: new Producer({ transport: new WebSocketTransport(…) })');
    for (const k of ['maxMessages', 'maxBytes', 'maxAgeMs', 'concurrency'] as const) {
      if (!(o[k] >= 1)) throw new RangeError(`outbox option ${k} must be a number >= 1, got ${o[k]}`);
    }
    if (o.overflow !== 'reject' && o.overflow !== 'drop-oldest') throw new RangeError(`outbox option overflow must be 'reject' or 'drop-oldest', got ${o.overflow}`);
    this.name = o.name;
    this.#producer = o.producer;
    const transport = o.producer.options.transport as { url?: string; on?: Function; off?: Function };
    if (o.http) {
      this.#httpBase = (o.http.url ?? httpBaseOf(transport.url ?? '')).replace(/\/+$/, '');
      this.#unload = new UnloadFlush(o.http, this.#httpBase, this.#stop.signal);
      const flush = (): void => this.#handOver();
      this.#listen(globalThis, 'pagehide', flush);
      this.#listen(globalThis.document, 'visibilitychange', () => globalThis.document.visibilityState === 'hidden' && flush());
    }
    this.#channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`rocketmq-edge-outbox:${o.name}`) : undefined;
    this.#listen(this.#channel, 'message', (e) => this.#onNote((e as MessageEvent<Note>).data));
    // The transport reconnected, or the browser is back online: retry now, not when the backoff ends.
    const onState = (s: { type: string }): void => { if (s.type === 'connected') this.#delivery?.linkUp(true); };
    transport.on?.('state', onState);
    this.#unsubscribe.push(() => transport.off?.('state', onState));
    this.#listen(globalThis, 'online', () => this.#delivery?.linkUp(false));
    this.ready = this.#open();
    this.ready.catch(() => {}); // the caller's await (openOutbox) reports it
  }

  #listen(target: EventTarget | undefined, type: string, fn: (e: Event) => unknown): void {
    if (!target) return;
    target.addEventListener(type, fn);
    this.#unsubscribe.push(() => target.removeEventListener(type, fn));
  }

  async #open(): Promise<void> {
    const db = (this.#db = await OutboxDb.open(this.name));
    if (this.#producer.serviceState === 'CREATE_JUST') await this.#producer.start();
    await this.#unload?.start();
    this.#delivery = new Delivery(this.#o, db, this.#producer, {
      delivered: (m, result, via) => {
        const detail = { id: m.id, topic: m.topic, result, via };
        this.#emit('delivered', detail);
        this.#note({ t: 'delivered', seq: m.seq, detail });
      },
      failed: (m, reason, error) => {
        const detail = { id: m.id, topic: m.topic, message: m, reason };
        this.#emit('failed', { ...detail, error });
        const { name, message, responseCode } = error as Error & { responseCode?: number };
        this.#note({ t: 'failed', seq: m.seq, detail, error: { name, message, responseCode } });
      },
    }, this.#httpBase);
    await this.#elect();
  }

  /**
   * Delivers now if no other tab does, else waits in line for the lock (Web Locks): resolves once
   * that is known. Without Web Locks (old browsers) every tab delivers: a message may then be sent
   * by two tabs at once (both copies with its UNIQ_KEY).
   */
  #elect(): Promise<void> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    const delivery = this.#delivery!;
    if (!locks) return delivery.lead();
    const lock = `rocketmq-edge-outbox:${this.name}`;
    const hold = (): Promise<void> => new Promise((release) => (this.#release = release));
    return new Promise((known, failed) => {
      locks.request(lock, { ifAvailable: true }, async (got) => {
        if (got) {
          await delivery.lead().then(known, failed);
          return hold();
        }
        known();
        locks.request(lock, { signal: this.#stop.signal }, async () => {
          await delivery.lead();
          return hold();
        }).catch(() => { /* closed while waiting */ });
      }).catch(failed);
    });
  }

  /**
   * Queues `message` durably and resolves with its id: the UNIQ_KEY (msgId) it is stored with,
   * `message.msgId` if given, else a fresh one. A bad message is refused here (MQClientError)
   * before anything is stored; a full outbox rejects with OutboxFullError (overflow 'reject') or
   * drops its oldest messages ('drop-oldest'), reporting them with an 'overflow' event.
   */
  async publish(message: OutboxMessage): Promise<string> {
    if (this.#closed) throw new Error('the outbox is closed');
    const extra = Object.keys(message ?? {}).filter((k) => !FIELDS.includes(k));
    if (extra.length) throw new TypeError(`the outbox carries ${FIELDS.join(', ')}; not ${extra.join(', ')}`);
    const wire = toWireMessage(message);
    validateMessage(wire, this.#producer.options.maxMessageSize);
    if (message.msgId && !HTTP_MESSAGE_ID.test(message.msgId) /* it must be able to travel both paths */) {
      throw new MQClientError(RS_MESSAGE_ILLEGAL, 'msgId must be 1 to 128 printable ASCII characters in the outbox (what the gateway\'s HTTP form takes)');
    }
    await this.ready;
    const id = message.msgId || createUniqId();
    const m: Omit<QueuedMessage, 'seq'> = {
      id, topic: message.topic, body: message.body, queuedAt: Date.now(),
      size: wire.body.length + wire.topic.length + encodeProperties(wire.properties).length + (message.msgId ? 0 : id.length),
    };
    if (message.tags) m.tags = message.tags;
    if (message.keys?.length) m.keys = typeof message.keys === 'string' ? message.keys : [...message.keys];
    if (message.properties && Object.keys(message.properties).length) m.properties = { ...message.properties };
    if (message.delayLevel) m.delayLevel = message.delayLevel;
    const o = this.#o;
    let added;
    try {
      added = await this.#db!.add(m, { maxMessages: o.maxMessages, maxBytes: o.maxBytes, dropOldest: o.overflow === 'drop-oldest' });
    } catch (e) {
      const limit = (e as { limit?: 'maxMessages' | 'maxBytes' }).limit;
      if (limit) this.#emit('overflow', { limit, rejected: message, dropped: [] });
      throw e;
    }
    const { seq, dropped, limit } = added;
    if (dropped.length) {
      const seqs = dropped.map((d) => d.seq);
      this.#delivery!.forget(seqs);
      this.#note({ t: 'gone', seqs });
      this.#emit('overflow', { limit: limit!, dropped });
    }
    if (this.#delivery!.running) this.#delivery!.queued({ ...m, seq });
    else this.#note({ t: 'queued' });
    return id;
  }

  /** What is queued on the device now (by every tab). */
  size(): Promise<{ count: number; bytes: number }> {
    return this.ready.then(() => this.#db!.totals());
  }

  /** Whether this tab is the one delivering. */
  get delivering(): boolean {
    return !!this.#delivery?.running;
  }

  /**
   * Stops delivering (waiting for attempts in progress) and lets another tab take over; queued
   * messages stay on the device. The producer is the caller's: it is left running.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const off of this.#unsubscribe) off();
    await this.ready.catch(() => {});
    await this.#delivery?.stop();
    this.#release?.();
    this.#channel?.close();
    this.#db?.close();
  }

  /**
   * The page is being hidden or left: hands what nothing of has reached the broker to the gateway's
   * HTTP endpoint, synchronously, and marks it handed over (here, on the device, to the other tabs)
   * so that later attempts go over HTTP too, where its id de-duplicates.
   */
  #handOver(): void {
    const delivery = this.#delivery;
    if (!delivery?.running || this.#closed || globalThis.navigator?.onLine === false) return;
    const sent = this.#unload!.send(delivery.unsent(), (results) => delivery.answered(results));
    if (sent.length) {
      const at = Date.now();
      const seqs = sent.map((m) => m.seq);
      void this.#db!.markHanded(seqs, at).catch(() => {});
      delivery.handedOver(seqs, at);
      this.#note({ t: 'handed', seqs, at });
      this.#emit('handedover', { ids: sent.map((m) => m.id), form: this.#unload!.form });
    }
    void delivery.flushRemovals();
  }

  #emit<K extends keyof OutboxEventMap>(type: K, detail: OutboxEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #note(n: Note): void {
    try { this.#channel?.postMessage(n); } catch { /* closed */ }
  }

  #onNote(n: Note): void {
    const delivery = this.#delivery;
    if (this.#closed || !delivery) return;
    switch (n.t) {
      case 'queued':
        if (delivery.running) void delivery.read();
        break;
      case 'gone':
        delivery.forget(n.seqs);
        break;
      case 'handed':
        delivery.handedOver(n.seqs, n.at);
        break;
      case 'delivered':
        delivery.forget([n.seq]);
        this.#emit('delivered', n.detail);
        break;
      case 'failed':
        delivery.forget([n.seq]);
        this.#emit('failed', { ...n.detail, error: Object.assign(new Error(n.error.message), n.error) });
        break;
    }
  }
}
