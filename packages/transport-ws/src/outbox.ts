// Outbox: publish() resolves once a message is durably queued on the device (IndexedDB), then it is
// delivered through core's Producer whenever connected, across reloads and crashes, with backoff.
// One tab per origin and outbox name delivers at a time (a Web Lock); the others queue and wait in
// line. At page unload what is still queued is handed to the gateway's HTTP endpoint, where each
// message's id (its UNIQ_KEY) is the idempotency key. The entry @rocketmq-edge/transport-ws/outbox.
import { createUniqId, encodeProperties, toWireMessage, validateMessage, type Producer, type SendResult } from '@rocketmq-edge/core/internal';
import { OutboxDb } from './outbox-db.js';
import {
  HttpPublishError, beaconBody, bearerBody, httpBaseOf, packRequests, postMessages, resolveToken, toSendResult,
} from './outbox-http.js';
import { BeaconTokenKeeper } from './outbox-beacon.js';
import {
  DEFAULT_OUTBOX_CONCURRENCY, DEFAULT_OUTBOX_MAX_AGE_MS, DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_MESSAGES,
  DEFAULT_OUTBOX_NAME, DEFAULT_OUTBOX_RETRY, DEFAULT_UNLOAD_BUDGET_BYTES, HTTP_DEDUP_WINDOW_MS,
  type OutboxEventMap, type OutboxMessage, type OutboxOptions, type OutboxSendResult, type QueuedMessage,
} from './outbox-options.js';
import { classify, type Outcome } from './outbox-errors.js';
import { backoffDelay } from './transport.js';

export * from './outbox-options.js';
export { HttpPublishError } from './outbox-http.js';

/** The leader's view of one queued message. */
interface Entry {
  m: QueuedMessage;
  attempts: number;
  /** Not before this time (backoff). */
  next: number;
  /** An attempt is in progress. */
  busy: boolean;
  /** WebSocket attempt: stops it (the unload flush took the message over). */
  abort?: AbortController;
  /** WebSocket attempt past its route lookup: its send request may be on the wire. */
  sending?: boolean;
  /** ...but begun while the transport was down, in this link epoch: nothing of it left yet. */
  quietEpoch?: number;
}

/** Cross-tab notes on the outbox's BroadcastChannel. */
type Note =
  | { t: 'queued' }
  | { t: 'gone'; seqs: number[] }
  | { t: 'handed'; seqs: number[]; at: number }
  | { t: 'delivered'; seq: number; detail: OutboxEventMap['delivered'] }
  | { t: 'failed'; seq: number; detail: Omit<OutboxEventMap['failed'], 'error'>; error: { name: string; message: string; responseCode?: number } };

/** The message fields the outbox keeps (what the gateway's HTTP form carries). */
const FIELDS = ['topic', 'body', 'tags', 'keys', 'properties', 'delayLevel', 'msgId'];
/** Most messages in one HTTP request (the gateway's maxBatchMessages is 1024 by default). */
const MAX_PER_REQUEST = 256;
/** Retries of handed-over messages: a body budget far below the gateway's request limit. */
const RETRY_BUDGET_BYTES = 1_048_576;

export interface Outbox extends EventTarget {
  addEventListener<K extends keyof OutboxEventMap>(type: K, listener: (ev: CustomEvent<OutboxEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof OutboxEventMap>(type: K, listener: (ev: CustomEvent<OutboxEventMap[K]>) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** Opens (or creates) the outbox `options.name` and starts delivering what it holds. */
export async function openOutbox(options: OutboxOptions): Promise<Outbox> {
  const outbox = new Outbox(options);
  await outbox.ready;
  return outbox;
}

export class Outbox extends EventTarget {
  readonly name: string;
  /** Resolves once the database is open and, if this tab delivers, its queue is loaded. */
  readonly ready: Promise<void>;
  readonly #o: Required<Omit<OutboxOptions, 'http'>> & Pick<OutboxOptions, 'http'>;
  readonly #producer: Producer;
  #db: OutboxDb | undefined;
  #leader = false;
  #closed = false;
  readonly #stop = new AbortController();
  #release: (() => void) | undefined;
  readonly #channel: BroadcastChannel | undefined;
  /** seq → entry, oldest first (the leader's). */
  readonly #queue = new Map<number, Entry>();
  /** Highest seq read from the database; newer ones are read on a 'queued' note. */
  #loaded = 0;
  /** Seqs that left (delivered, failed, dropped) that a read of the database may still return. */
  readonly #gone = new Set<number>();
  /** Handed-over marks heard from other tabs, for when this one takes over. */
  readonly #handedHints = new Map<number, number>();
  #reading: Promise<void> | undefined;
  #rereadWanted = false;
  #busy = 0;
  /** Counts the transport's 'connected' events: a send begun while down, with no connect since, has sent nothing. */
  #linkEpoch = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Connection-level failures in a row (WebSocket path) and the pause they impose. */
  #wsFailures = 0;
  #wsPausedUntil = 0;
  #httpFailures = 0;
  #httpPausedUntil = 0;
  #removals: number[] = [];
  #keepaliveBytes = 0;
  #bearer: string | undefined;
  readonly #httpBase: string | undefined;
  readonly #beacon: BeaconTokenKeeper | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: OutboxOptions) {
    super();
    const o = (this.#o = {
      name: DEFAULT_OUTBOX_NAME, maxMessages: DEFAULT_OUTBOX_MAX_MESSAGES, maxBytes: DEFAULT_OUTBOX_MAX_BYTES, overflow: 'reject',
      maxAgeMs: DEFAULT_OUTBOX_MAX_AGE_MS, concurrency: DEFAULT_OUTBOX_CONCURRENCY, ...options,
      retry: { ...DEFAULT_OUTBOX_RETRY, ...options.retry },
    });
    if (!o.producer) throw new TypeError('openOutbox needs a producer (new Producer({ transport: new WebSocketTransport(…) }))');
    for (const k of ['maxMessages', 'maxBytes', 'maxAgeMs', 'concurrency'] as const) {
      if (!(o[k] >= 1)) throw new RangeError(`outbox option ${k} must be a number >= 1, got ${o[k]}`);
    }
    if (o.overflow !== 'reject' && o.overflow !== 'drop-oldest') throw new RangeError(`outbox option overflow must be 'reject' or 'drop-oldest', got ${o.overflow}`);
    this.name = o.name;
    this.#producer = o.producer;
    const transport = o.producer.options.transport as { url?: string; on?: Function; off?: Function };
    if (o.http) {
      this.#httpBase = (o.http.url ?? httpBaseOf(transport.url ?? '')).replace(/\/+$/, '');
      if (this.#unloadForm() === 'beacon') this.#beacon = new BeaconTokenKeeper(this.#httpBase, () => resolveToken(o.http!.token), this.#stop.signal);
    }
    this.#channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`rocketmq-edge-outbox:${o.name}`) : undefined;
    this.#listen(this.#channel, 'message', (e) => this.#onNote((e as MessageEvent<Note>).data));
    // Back online, or the transport reconnected: retry now rather than when the backoff ends.
    const wake = (): void => this.#resetBackoff();
    const onState = (s: { type: string }): void => {
      if (s.type !== 'connected') return;
      this.#linkEpoch++;
      wake();
    };
    transport.on?.('state', onState);
    this.#unsubscribe.push(() => transport.off?.('state', onState));
    this.#listen(globalThis, 'online', wake);
    if (o.http) {
      const flush = (): void => {
        this.#handOver();
        void this.#flushRemovals();
      };
      this.#listen(globalThis, 'pagehide', flush);
      this.#listen(globalThis.document, 'visibilitychange', () => globalThis.document.visibilityState === 'hidden' && flush());
    }
    this.ready = this.#open();
    this.ready.catch(() => {}); // reported through openOutbox / the caller's await
  }

  #listen(target: EventTarget | undefined, type: string, fn: (e: Event) => unknown): void {
    if (!target) return;
    target.addEventListener(type, fn);
    this.#unsubscribe.push(() => target.removeEventListener(type, fn));
  }

  async #open(): Promise<void> {
    this.#db = await OutboxDb.open(this.name);
    if (this.#producer.serviceState === 'CREATE_JUST') await this.#producer.start();
    if (this.#o.http && this.#unloadForm() === 'bearer') this.#bearer = await resolveToken(this.#o.http.token).catch(() => undefined);
    this.#beacon?.start();
    await this.#elect();
  }

  /** Becomes the delivering tab now if no other is, else waits in line (Web Locks). Resolves once that is known. */
  #elect(): Promise<void> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    // Without Web Locks (old browsers) every tab delivers: duplicates possible, each with its UNIQ_KEY.
    if (!locks) return this.#lead();
    const lock = `rocketmq-edge-outbox:${this.name}`;
    const hold = (): Promise<void> => new Promise((release) => (this.#release = release));
    return new Promise((known, failed) => {
      locks.request(lock, { ifAvailable: true }, async (got) => {
        if (got) {
          await this.#lead().then(known, failed);
          return hold();
        }
        known();
        locks.request(lock, { signal: this.#stop.signal }, async () => {
          await this.#lead();
          return hold();
        }).catch(() => { /* closed while waiting */ });
      }).catch(failed);
    });
  }

  async #lead(): Promise<void> {
    if (this.#closed) return;
    this.#leader = true;
    await this.#read();
  }

  /** Reads messages queued since the last read (by any tab) into the leader's queue. */
  #read(): Promise<void> {
    if (this.#reading) {
      this.#rereadWanted = true;
      return this.#reading;
    }
    const run = async (): Promise<void> => {
      do {
        this.#rereadWanted = false;
        const after = this.#loaded;
        const list = await this.#db!.list(after);
        for (const m of list) {
          if (this.#gone.has(m.seq) || this.#queue.has(m.seq)) continue;
          const hint = this.#handedHints.get(m.seq);
          if (hint && !m.handedAt) m.handedAt = hint;
          this.#queue.set(m.seq, { m, attempts: 0, next: m.handedAt ? m.handedAt + 2000 : 0, busy: false });
        }
        this.#loaded = Math.max(after, list.at(-1)?.seq ?? 0);
        for (const s of this.#gone) if (s <= this.#loaded) this.#gone.delete(s);
      } while (this.#rereadWanted && !this.#closed);
    };
    return (this.#reading = run().finally(() => {
      this.#reading = undefined;
      this.#pump();
    }));
  }

  /**
   * Queues `message` durably and resolves with its id (UNIQ_KEY, the msgId it will be stored with:
   * `message.msgId` if given, else a fresh one). Bad messages are refused here (MQClientError), before anything
   * is stored; a full outbox rejects with OutboxFullError unless overflow is 'drop-oldest'.
   */
  async publish(message: OutboxMessage): Promise<string> {
    if (this.#closed) throw new Error('the outbox is closed');
    const extra = Object.keys(message ?? {}).filter((k) => !FIELDS.includes(k));
    if (extra.length) throw new TypeError(`the outbox carries ${FIELDS.join(', ')}; not ${extra.join(', ')}`);
    const wire = toWireMessage(message);
    validateMessage(wire, this.#producer.options.maxMessageSize);
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
      this.#forget(dropped.map((d) => d.seq));
      this.#note({ t: 'gone', seqs: dropped.map((d) => d.seq) });
      this.#emit('overflow', { limit: limit!, dropped });
    }
    if (this.#leader) {
      this.#queue.set(seq, { m: { ...m, seq }, attempts: 0, next: 0, busy: false });
      this.#pump();
    } else this.#note({ t: 'queued' });
    return id;
  }

  /** What is queued on the device now (all tabs). */
  size(): Promise<{ count: number; bytes: number }> {
    return this.ready.then(() => this.#db!.totals());
  }

  /** Whether this tab is the one delivering. */
  get delivering(): boolean {
    return this.#leader;
  }

  /** Stops delivering and lets another tab take over; queued messages stay on the device. The producer is left running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#leader = false;
    clearTimeout(this.#timer);
    this.#stop.abort();
    for (const off of this.#unsubscribe) off();
    await this.ready.catch(() => {});
    await this.#flushRemovals();
    this.#release?.();
    this.#channel?.close();
    this.#db?.close();
  }

  // ---------- delivery (the leader) ----------

  /** Starts what can be sent now, up to `concurrency`, and sets a timer for the next that cannot yet. */
  #pump(): void {
    if (!this.#leader || this.#closed) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    const o = this.#o;
    let soonest = Infinity;
    const viaHttp = new Map<string, Entry[]>();
    for (const e of this.#queue.values()) {
      if (this.#busy >= o.concurrency) break;
      if (e.busy) continue;
      if (now - e.m.queuedAt > o.maxAgeMs) {
        this.#failed(e, 'expired', new Error(`not delivered within maxAgeMs (${o.maxAgeMs} ms) of being queued`));
        continue;
      }
      const http = this.#viaHttp(e, now);
      const at = Math.max(e.next, http ? this.#httpPausedUntil : this.#wsPausedUntil);
      if (at > now) {
        soonest = Math.min(soonest, at);
        continue;
      }
      e.busy = true;
      this.#busy++;
      if (http) viaHttp.set(e.m.topic, [...(viaHttp.get(e.m.topic) ?? []), e]);
      else void this.#sendWs(e);
    }
    for (const [topic, entries] of viaHttp) void this.#sendHttp(topic, entries);
    if (soonest < Infinity) this.#timer = setTimeout(() => this.#pump(), soonest - now);
  }

  /** Handed over recently: the gateway may hold it, and only its HTTP path de-duplicates by id. */
  #viaHttp(e: Entry, now: number): boolean {
    return !!this.#httpBase && !!e.m.handedAt && now - e.m.handedAt < HTTP_DEDUP_WINDOW_MS;
  }

  async #sendWs(e: Entry): Promise<void> {
    const { m } = e;
    const msg = { topic: m.topic, body: m.body, tags: m.tags, keys: m.keys, delayLevel: m.delayLevel, properties: m.properties, msgId: m.id };
    const abort = (e.abort = new AbortController());
    let result: SendResult | undefined;
    let error: unknown;
    try {
      // The route first: until the send itself starts, the unload flush may take the message over
      // knowing nothing of it reached the broker.
      await this.#producer.fetchPublishMessageQueues(m.topic);
      if (!abort.signal.aborted) {
        const state = (this.#producer.options.transport as { state?: { type: string } }).state;
        e.quietEpoch = state && state.type !== 'connected' ? this.#linkEpoch : undefined;
        e.sending = true;
        result = await this.#producer.send(msg, { signal: abort.signal });
      }
    } catch (err) {
      error = err;
    }
    e.abort = e.quietEpoch = e.sending = undefined;
    if (abort.signal.aborted && !result) {
      // Handed over at unload while it waited for the link: the HTTP path has it now.
      e.busy = false;
      this.#busy--;
      this.#pump();
    } else this.#settle([e], error, result ? () => result : undefined, 'websocket');
  }

  /**
   * Nothing of this message can have reached the broker: idle, its WebSocket attempt still at the
   * route lookup, or waiting for a link that has not come up since it began.
   */
  #unsent(e: Entry): boolean {
    return !e.busy || (e.abort !== undefined && (!e.sending || e.quietEpoch === this.#linkEpoch));
  }

  async #sendHttp(topic: string, entries: Entry[]): Promise<void> {
    let results: Map<string, OutboxSendResult> | undefined;
    let error: unknown;
    try {
      const token = await resolveToken(this.#o.http!.token);
      for (const req of packRequests(entries.map((e) => e.m), RETRY_BUDGET_BYTES, MAX_PER_REQUEST, bearerBody)) {
        const rs = await postMessages(this.#httpBase!, token, topic, req.body);
        results ??= new Map();
        for (const r of rs) results.set(r.id, toSendResult(r));
      }
    } catch (err) {
      error = err;
    }
    this.#settle(entries, error, results && ((e) => results!.get(e.m.id)), 'http');
  }

  /** The outcome of one attempt for `entries`: delivered, failed for good, or retried after a backoff. */
  #settle(entries: Entry[], error: unknown, resultOf: ((e: Entry) => OutboxSendResult | undefined) | undefined, via: 'websocket' | 'http'): void {
    const now = Date.now();
    const outcome: Outcome = error === undefined ? 'ok' : classify(error);
    const http = via === 'http';
    if (outcome === 'link') {
      const n = http ? ++this.#httpFailures : ++this.#wsFailures;
      const until = now + backoffDelay(n, this.#o.retry);
      if (http) this.#httpPausedUntil = until;
      else this.#wsPausedUntil = until;
    } else if (http) this.#httpFailures = this.#httpPausedUntil = 0;
    else this.#wsFailures = this.#wsPausedUntil = 0;
    for (const e of entries) {
      e.busy = false;
      this.#busy--;
      if (!this.#queue.has(e.m.seq)) continue; // dropped meanwhile
      const result = resultOf?.(e);
      if (result) this.#delivered(e, result, via);
      else if (outcome === 'refused') this.#failed(e, 'refused', error as Error);
      else {
        e.attempts++;
        if (outcome !== 'link') e.next = now + backoffDelay(e.attempts, this.#o.retry);
      }
    }
    this.#pump();
  }

  #delivered(e: Entry, result: OutboxSendResult, via: 'websocket' | 'http'): void {
    this.#leave(e);
    const detail = { id: e.m.id, topic: e.m.topic, result, via };
    this.#emit('delivered', detail);
    this.#note({ t: 'delivered', seq: e.m.seq, detail });
  }

  #failed(e: Entry, reason: 'refused' | 'expired', error: Error): void {
    this.#leave(e);
    const detail = { id: e.m.id, topic: e.m.topic, message: e.m, reason };
    this.#emit('failed', { ...detail, error });
    const { name, message, responseCode } = error as Error & { responseCode?: number };
    this.#note({ t: 'failed', seq: e.m.seq, detail, error: { name, message, responseCode } });
  }

  /** Takes `e` off the queue and deletes it from the database (batched: one transaction per task). */
  #leave(e: Entry): void {
    this.#forget([e.m.seq]);
    if (this.#removals.push(e.m.seq) === 1) setTimeout(() => void this.#flushRemovals());
  }

  /** Off the queue, and never read back in (bounded: a read prunes what it cannot return any more). */
  #forget(seqs: number[]): void {
    const gone = this.#gone;
    for (const s of seqs) {
      this.#queue.delete(s);
      if (s > this.#loaded) gone.add(s);
    }
    for (const s of gone) {
      if (gone.size <= 2 * this.#o.maxMessages) break;
      gone.delete(s);
    }
  }

  async #flushRemovals(): Promise<void> {
    const seqs = this.#removals;
    this.#removals = [];
    // A failed removal means a later load sends those again: at least once, never lost.
    if (seqs.length) await this.#db?.remove(seqs).catch(() => {});
  }

  #resetBackoff(): void {
    this.#wsFailures = this.#wsPausedUntil = this.#httpFailures = this.#httpPausedUntil = 0;
    for (const e of this.#queue.values()) e.next = Math.min(e.next, Date.now());
    this.#pump();
  }

  // ---------- page unload ----------

  #unloadForm(): 'bearer' | 'beacon' {
    const form = this.#o.http?.unloadForm ?? 'auto';
    if (form !== 'auto') return form;
    return globalThis.location && new URL(this.#httpBase!).origin === globalThis.location.origin ? 'bearer' : 'beacon';
  }

  /**
   * Synchronously hands what is queued and not in flight to the gateway's HTTP endpoint, within
   * the browsers' keepalive budget, and marks it handed over (in memory, on the device, and to the
   * other tabs). A WebSocket send in flight is left alone (it may have reached the broker already)
   * unless it still waits for a link that never came up: that one is stopped and handed over.
   */
  #handOver(): void {
    if (!this.#leader || this.#closed || globalThis.navigator?.onLine === false) return;
    const now = Date.now();
    const ready = [...this.#queue.values()].filter((e) => this.#unsent(e) && !e.m.handedAt);
    if (!ready.length) return;
    const form = this.#unloadForm();
    const base = this.#httpBase!;
    const budget = (this.#o.http!.unloadBudgetBytes ?? DEFAULT_UNLOAD_BUDGET_BYTES) - this.#keepaliveBytes;
    const beaconToken = this.#beacon?.current();
    if (form === 'beacon' ? !beaconToken : !this.#bearer) return; // nothing to authenticate with: they stay queued
    const handed: QueuedMessage[] = [];
    for (const req of packRequests(ready.map((e) => e.m), budget, MAX_PER_REQUEST, form === 'beacon' ? beaconBody(beaconToken!) : bearerBody)) {
      if (form === 'beacon') {
        if (!navigator.sendBeacon(`${base}/v1/beacon`, req.body)) break; // over the browser's quota
      } else {
        const bytes = new TextEncoder().encode(req.body).length;
        this.#keepaliveBytes += bytes;
        postMessages(base, this.#bearer!, req.topic, req.body, true)
          .then((rs) => this.#handedResults(rs), () => { /* stays queued, retried over HTTP */ })
          .finally(() => (this.#keepaliveBytes -= bytes));
      }
      handed.push(...req.messages);
    }
    if (!handed.length) return;
    const seqs = handed.map((m) => m.seq);
    void this.#db!.markHanded(seqs, now).catch(() => {});
    for (const m of handed) m.handedAt = now;
    // Should the page live on: its keepalive answers (or a retry over HTTP a little later) settle them.
    for (const e of ready) {
      if (e.m.handedAt !== now) continue;
      e.next = now + 2000;
      e.abort?.abort();
    }
    this.#note({ t: 'handed', seqs, at: now });
    this.#emit('handedover', { ids: handed.map((m) => m.id), form });
  }

  /** The page lived on after a keepalive hand-over: its answers settle those messages. */
  #handedResults(results: { id: string }[]): void {
    const byId = new Map(results.map((r) => [r.id, r]));
    for (const e of [...this.#queue.values()]) {
      const r = byId.get(e.m.id);
      if (r && !e.busy) this.#delivered(e, toSendResult(r as Parameters<typeof toSendResult>[0]), 'http');
    }
  }

  // ---------- events and other tabs ----------

  #emit<K extends keyof OutboxEventMap>(type: K, detail: OutboxEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #note(n: Note): void {
    try { this.#channel?.postMessage(n); } catch { /* closed */ }
  }

  #onNote(n: Note): void {
    if (this.#closed) return;
    switch (n.t) {
      case 'queued': if (this.#leader) void this.#read(); break;
      case 'gone': this.#forget(n.seqs); break;
      case 'handed': for (const s of n.seqs) this.#handedHints.set(s, n.at); break;
      case 'delivered':
        this.#forget([n.seq]);
        this.#emit('delivered', n.detail);
        break;
      case 'failed':
        this.#forget([n.seq]);
        this.#emit('failed', { ...n.detail, error: Object.assign(new Error(n.error.message), n.error) });
        break;
    }
  }
}
