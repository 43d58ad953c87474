// The outbox's IndexedDB database: queued messages in insertion order, their running totals
// (count, bytes) kept in the same transactions, so the bounds hold across tabs, and the hand-over
// marks of the unload flush in a store of their own (written without a read: a page being left
// cannot wait for one). A small promise wrapper of its own: six operations do not earn a dependency.
import { OutboxFullError, type QueuedMessage } from './outbox-options.js';

const MESSAGES = 'messages';
const META = 'meta';
const TOTALS = 'totals';
/** seq → when the unload flush handed that message to the gateway's HTTP endpoint. */
const HANDED = 'handed';

export interface Totals { count: number; bytes: number }
export interface Limits { maxMessages: number; maxBytes: number; dropOldest: boolean }

/** A request's result (or error); awaiting it inside a transaction keeps the transaction active. */
const result = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** Resolves when the transaction committed (durably, for 'strict'); rejects when it aborted. */
const committed = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('the IndexedDB transaction was aborted', 'AbortError'));
  });

export class OutboxDb {
  readonly #db: IDBDatabase;

  private constructor(db: IDBDatabase) {
    this.#db = db;
    // A newer page version upgrading the schema: step aside rather than block it.
    db.onversionchange = () => db.close();
  }

  static async open(name: string): Promise<OutboxDb> {
    const idb = globalThis.indexedDB;
    if (!idb) throw new Error('IndexedDB is not available in this context: the outbox needs it to keep messages across reloads');
    const req = idb.open(`rocketmq-edge-outbox:${name}`, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(MESSAGES, { keyPath: 'seq', autoIncrement: true });
      req.result.createObjectStore(META);
      req.result.createObjectStore(HANDED);
    };
    return new OutboxDb(await result(req));
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Runs `body` in one readwrite transaction over both stores and resolves with its value once the
   * transaction committed. A throw in `body` aborts it: nothing it did is kept.
   */
  async #write<T>(durability: IDBTransactionDurability, body: (messages: IDBObjectStore, totals: Totals, handed: IDBObjectStore) => Promise<T>): Promise<T> {
    const tx = this.#db.transaction([MESSAGES, META, HANDED], 'readwrite', { durability });
    const done = committed(tx);
    try {
      const meta = tx.objectStore(META);
      const totals: Totals = (await result(meta.get(TOTALS))) ?? { count: 0, bytes: 0 };
      const value = await body(tx.objectStore(MESSAGES), totals, tx.objectStore(HANDED));
      meta.put(totals, TOTALS);
      tx.commit?.();
      await done;
      return value;
    } catch (e) {
      try { tx.abort(); } catch { /* finished already */ }
      await done.catch(() => {});
      throw e;
    }
  }

  /**
   * Queues `m` within the limits, durably ('strict': on disk when this resolves). Over a limit it
   * either throws OutboxFullError (nothing stored) or first removes the oldest messages until `m`
   * fits, and returns them.
   */
  add(m: Omit<QueuedMessage, 'seq'>, limits: Limits): Promise<{ seq: number; dropped: QueuedMessage[]; limit?: 'maxMessages' | 'maxBytes' }> {
    return this.#write('strict', async (messages, t, handed) => {
      const over = (): 'maxMessages' | 'maxBytes' | undefined =>
        t.count + 1 > limits.maxMessages ? 'maxMessages' : t.bytes + m.size > limits.maxBytes ? 'maxBytes' : undefined;
      const limit = over();
      const dropped: QueuedMessage[] = [];
      if (limit) {
        if (!limits.dropOldest) {
          throw new OutboxFullError(limit, limit === 'maxMessages'
            ? `${t.count} of ${limits.maxMessages} messages`
            : `${t.bytes} + ${m.size} bytes over ${limits.maxBytes}`);
        }
        const cursor = messages.openCursor();
        for (let c = await result(cursor); c && over(); c = await result(cursor)) {
          const old = c.value as QueuedMessage;
          dropped.push(old);
          c.delete();
          handed.delete(old.seq);
          t.count--;
          t.bytes -= old.size;
          c.continue();
        }
      }
      const seq = (await result(messages.add(m))) as number;
      t.count++;
      t.bytes += m.size;
      return { seq, dropped, ...(limit && { limit }) };
    });
  }

  /** Removes these messages (delivered or failed); ones already gone are skipped. */
  remove(seqs: number[]): Promise<void> {
    return this.#write('strict', async (messages, t, handed) => {
      for (const seq of seqs) {
        handed.delete(seq);
        const m = (await result(messages.get(seq))) as QueuedMessage | undefined;
        if (!m) continue;
        messages.delete(seq);
        t.count--;
        t.bytes -= m.size;
      }
    });
  }

  /**
   * Records that these were handed to the gateway's HTTP endpoint at `at`. Every request is made
   * before this returns and the transaction is committed at once: it completes even when the page
   * is being left (it needs no callback of the page's).
   */
  markHanded(seqs: number[], at: number): Promise<void> {
    const tx = this.#db.transaction(HANDED, 'readwrite', { durability: 'strict' });
    const done = committed(tx);
    const handed = tx.objectStore(HANDED);
    for (const seq of seqs) handed.put(at, seq);
    tx.commit?.();
    return done;
  }

  /** Queued messages with seq > `after`, oldest first, with their hand-over marks. */
  async list(after = 0): Promise<QueuedMessage[]> {
    const tx = this.#db.transaction([MESSAGES, HANDED], 'readonly');
    const range = IDBKeyRange.lowerBound(after, true);
    const [list, seqs, ats] = await Promise.all([
      result(tx.objectStore(MESSAGES).getAll(range)) as Promise<QueuedMessage[]>,
      result(tx.objectStore(HANDED).getAllKeys(range)),
      result(tx.objectStore(HANDED).getAll(range)) as Promise<number[]>,
    ]);
    const marks = new Map(seqs.map((seq, i) => [seq as number, ats[i]!]));
    for (const m of list) {
      const at = marks.get(m.seq);
      if (at) m.handedAt = at;
    }
    return list;
  }

  async totals(): Promise<Totals> {
    const tx = this.#db.transaction(META, 'readonly');
    return ((await result(tx.objectStore(META).get(TOTALS))) as Totals | undefined) ?? { count: 0, bytes: 0 };
  }
}
