// Delivery, in the one tab that holds the outbox's lock: the queue read from the database, sends
// through the Producer (up to `concurrency` at once), the outcome of each attempt (delivered,
// refused for good, or retried after an exponential backoff with jitter), removal of what left.
// Messages the unload flush handed over are retried over HTTP, where their id de-duplicates.
import type { Producer, SendResult } from '@rocketmq-edge/core';
import type { OutboxDb } from './outbox-db.js';
import { classify } from './outbox-errors.js';
import type { HttpSendResult } from './http.js';
import { postMessages, toSendResult } from './outbox-http.js';
import { HTTP_DEDUP_WINDOW_MS, type OutboxOptions, type OutboxSendResult, type QueuedMessage } from './outbox-options.js';
import { MAX_PER_REQUEST } from './outbox-unload.js';
import { backoffDelay } from './transport.js';

export type ResolvedOutboxOptions = Required<Omit<OutboxOptions, 'http'>> & Pick<OutboxOptions, 'http'>;

/** What delivery reports to the outbox (which turns it into events and notes to other tabs). */
export interface DeliveryReport {
  delivered(m: QueuedMessage, result: OutboxSendResult, via: 'websocket' | 'http'): void;
  failed(m: QueuedMessage, reason: 'refused' | 'expired', error: Error): void;
}

/** One queued message as delivery sees it. */
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

/** Retries of handed-over messages: requests far below the gateway's body limit. */
const RETRY_REQUEST_BYTES = 1_048_576;
/** After a hand-over, the page's own keepalive answers come first (should it live on). */
const HANDED_SETTLE_MS = 2000;

export class Delivery {
  /** seq → entry, oldest first. */
  readonly #queue = new Map<number, Entry>();
  /** Highest seq read from the database; newer ones are read when another tab says it queued some. */
  #loaded = 0;
  /** Seqs that left (delivered, failed, dropped) that a read of the database may still return. */
  readonly #gone = new Set<number>();
  #reading: Promise<void> | undefined;
  #rereadWanted = false;
  /** Attempts in progress. */
  readonly #attempts = new Set<Promise<void>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Counts the transport's 'connected' events: a send begun while down, with no connect since, has sent nothing. */
  #linkEpoch = 0;
  /** Link-level failures in a row, per path, and the pause they impose on the whole path. */
  #wsFailures = 0;
  #wsPausedUntil = 0;
  #httpFailures = 0;
  #httpPausedUntil = 0;
  #removals: number[] = [];
  /** Hand-over marks another tab made, for messages not read yet. */
  readonly #hints = new Map<number, number>();
  /** This tab holds the lock: it delivers. */
  #running = false;
  #stopped = false;
  readonly #o: ResolvedOutboxOptions;
  readonly #db: OutboxDb;
  readonly #producer: Producer;
  readonly #report: DeliveryReport;
  readonly #httpBase: string | undefined;

  constructor(o: ResolvedOutboxOptions, db: OutboxDb, producer: Producer, report: DeliveryReport, httpBase: string | undefined) {
    this.#o = o;
    this.#db = db;
    this.#producer = producer;
    this.#report = report;
    this.#httpBase = httpBase;
  }

  get running(): boolean {
    return this.#running;
  }

  /** This tab now holds the lock: read the queue and deliver it. */
  lead(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running = true;
    return this.read();
  }

  /** Reads what was queued since the last read (by any tab); concurrent calls share one pass. */
  read(): Promise<void> {
    if (this.#reading) {
      this.#rereadWanted = true;
      return this.#reading;
    }
    const run = async (): Promise<void> => {
      do {
        this.#rereadWanted = false;
        const after = this.#loaded;
        const list = await this.#db.list(after);
        for (const m of list) {
          if (!this.#gone.has(m.seq) && !this.#queue.has(m.seq)) this.#add(m);
        }
        this.#loaded = Math.max(after, list.at(-1)?.seq ?? 0);
        for (const s of this.#gone) if (s <= this.#loaded) this.#gone.delete(s);
      } while (this.#rereadWanted && this.#running);
    };
    return (this.#reading = run().finally(() => {
      this.#reading = undefined;
      this.pump();
    }));
  }

  /** A message this tab just queued (when it delivers; else the delivering tab reads it). */
  queued(m: QueuedMessage): void {
    if (!this.#running) return;
    this.#add(m);
    this.pump();
  }

  #add(m: QueuedMessage): void {
    m.handedAt ??= this.#hints.get(m.seq);
    this.#queue.set(m.seq, { m, attempts: 0, next: m.handedAt ? m.handedAt + HANDED_SETTLE_MS : 0, busy: false });
  }

  /** Off the queue (they left elsewhere), and never read back in. Bounded: a read prunes what it cannot return any more. */
  forget(seqs: number[]): void {
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

  /** The transport is connected again (or the browser online): retry now rather than when the backoff ends. */
  linkUp(connected: boolean): void {
    if (connected) this.#linkEpoch++;
    this.#wsFailures = this.#wsPausedUntil = this.#httpFailures = this.#httpPausedUntil = 0;
    const now = Date.now();
    for (const e of this.#queue.values()) e.next = Math.min(e.next, now);
    this.pump();
  }

  /** Starts what can be sent now, up to `concurrency`, and sets a timer for the next that cannot yet. */
  pump(): void {
    if (!this.#running) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    const o = this.#o;
    let soonest = Infinity;
    const viaHttp = new Map<string, Entry[]>();
    for (const e of this.#queue.values()) {
      if (this.#attempts.size >= o.concurrency) break;
      if (e.busy) continue;
      if (now - e.m.queuedAt > o.maxAgeMs) {
        this.#leave(e);
        this.#report.failed(e.m, 'expired', new Error(`not delivered within maxAgeMs (${o.maxAgeMs} ms) of being queued`));
        continue;
      }
      const http = this.#viaHttp(e, now);
      const at = Math.max(e.next, http ? this.#httpPausedUntil : this.#wsPausedUntil);
      if (at > now) {
        soonest = Math.min(soonest, at);
        continue;
      }
      e.busy = true;
      if (http) viaHttp.set(e.m.topic, [...(viaHttp.get(e.m.topic) ?? []), e]);
      else this.#track(this.#sendWs(e));
    }
    for (const entries of viaHttp.values()) this.#track(this.#sendHttp(entries));
    if (soonest < Infinity) this.#timer = setTimeout(() => this.pump(), soonest - now);
  }

  #track(attempt: Promise<void>): void {
    this.#attempts.add(attempt);
    void attempt.finally(() => {
      this.#attempts.delete(attempt);
      this.pump();
    });
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
    // Taken over at unload before anything of it left: the HTTP path has it now.
    if (abort.signal.aborted && !result) e.busy = false;
    else this.#settle([e], error, result && (() => result), 'websocket');
  }

  /** Handed-over messages of one topic, retried over HTTP, by id. */
  async #sendHttp(entries: Entry[]): Promise<void> {
    let results: Map<string, OutboxSendResult> | undefined;
    let error: unknown;
    try {
      // Requests of at most MAX_PER_REQUEST messages and about RETRY_REQUEST_BYTES (each was small enough to hand over).
      for (let i = 0; i < entries.length;) {
        const chunk: QueuedMessage[] = [];
        for (let bytes = 0; i < entries.length && chunk.length < MAX_PER_REQUEST && bytes < RETRY_REQUEST_BYTES; i++) {
          chunk.push(entries[i]!.m);
          bytes += entries[i]!.m.size;
        }
        const rs = await postMessages(this.#httpBase!, this.#o.http!.token, chunk);
        results ??= new Map();
        for (const r of rs) results.set(r.id, toSendResult(r));
      }
    } catch (err) {
      error = err;
    }
    this.#settle(entries, error, results && ((e) => results!.get(e.m.id)), 'http');
  }

  /** The outcome of one attempt for `entries`: delivered, refused for good, or retried after a backoff. */
  #settle(entries: Entry[], error: unknown, resultOf: ((e: Entry) => OutboxSendResult | undefined) | undefined, via: 'websocket' | 'http'): void {
    const now = Date.now();
    const outcome = error === undefined ? 'ok' : classify(error);
    const http = via === 'http';
    if (outcome === 'link') {
      const until = now + backoffDelay(http ? ++this.#httpFailures : ++this.#wsFailures, this.#o.retry);
      if (http) this.#httpPausedUntil = until;
      else this.#wsPausedUntil = until;
    } else if (http) this.#httpFailures = this.#httpPausedUntil = 0;
    else this.#wsFailures = this.#wsPausedUntil = 0;
    for (const e of entries) {
      e.busy = false;
      const result = resultOf?.(e);
      const queued = this.#queue.has(e.m.seq);
      if (!queued) {
        // Dropped (overflow: drop-oldest) while its send was in flight: if that send was acknowledged, say so.
        if (result) this.#report.delivered(e.m, result, via);
        continue;
      }
      if (result) {
        this.#leave(e);
        this.#report.delivered(e.m, result, via);
      } else if (outcome === 'refused') {
        this.#leave(e);
        this.#report.failed(e.m, 'refused', error as Error);
      } else {
        e.attempts++;
        if (outcome !== 'link') e.next = now + backoffDelay(e.attempts, this.#o.retry);
      }
    }
  }

  /** Takes `e` off the queue and deletes it from the database (batched: one transaction per task). */
  #leave(e: Entry): void {
    this.forget([e.m.seq]);
    if (this.#removals.push(e.m.seq) === 1) setTimeout(() => void this.flushRemovals());
  }

  async flushRemovals(): Promise<void> {
    const seqs = this.#removals;
    this.#removals = [];
    // A removal that fails means a later load sends those again: at least once, never lost.
    if (seqs.length) await this.#db.remove(seqs).catch(() => {});
  }

  // ---------- what the unload flush needs ----------

  /**
   * Messages nothing of which can have reached the broker, not handed over yet: idle, or their
   * WebSocket attempt still at the route lookup, or waiting for a link that has not come up since.
   */
  unsent(): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    for (const e of this.#queue.values()) {
      if (e.m.handedAt) continue;
      if (!e.busy || (e.abort && (!e.sending || e.quietEpoch === this.#linkEpoch))) out.push(e.m);
    }
    return out;
  }

  /** These were handed over at `at` (by this tab, or another): their WebSocket attempts stop, later retries go over HTTP. */
  handedOver(seqs: number[], at: number): void {
    const hints = this.#hints;
    for (const seq of seqs) {
      const e = this.#queue.get(seq);
      if (!e) {
        hints.set(seq, at);
        continue;
      }
      e.m.handedAt = at;
      e.next = at + HANDED_SETTLE_MS;
      e.abort?.abort();
    }
    for (const s of hints.keys()) {
      if (hints.size <= 2 * this.#o.maxMessages) break;
      hints.delete(s);
    }
  }

  /** The page lived on after a keepalive hand-over: the gateway's answers settle those messages. */
  answered(results: HttpSendResult[]): void {
    const byId = new Map(results.map((r) => [r.id, r]));
    for (const e of [...this.#queue.values()]) {
      const r = byId.get(e.m.id);
      // A WebSocket attempt stopped by the hand-over may not have unwound yet: it sends nothing more.
      if (!r || (e.busy && !e.abort?.signal.aborted)) continue;
      this.#leave(e);
      this.#report.delivered(e.m, toSendResult(r), 'http');
    }
  }

  /** Stops starting attempts, waits for those in progress, and records what left. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#attempts]);
    await this.flushRemovals();
  }
}
