// The idempotency window of HTTP publishes: a message id a client sent before (same principal,
// same topic) that the broker acknowledged is answered from here, not stored again; a repeat of an
// id still being sent waits for that send. Per gateway process, in memory, bounded in time and
// count (oldest first out). Failed sends are not remembered: a retry sends again.

export interface IdempotencyOptions {
  /** How long an acknowledged id is remembered. */
  windowMs: number;
  /** Most ids remembered at once; past it the oldest is forgotten. */
  maxIds: number;
  /** Milliseconds clock (tests move it). */
  now?: () => number;
}

/** What a claim found: an earlier acknowledgement, a send in flight, or nothing (the caller sends). */
export type Claim<T> =
  | { kind: 'done'; value: T }
  | { kind: 'pending'; outcome: Promise<T> }
  | { kind: 'claimed'; settle(outcome: { value: T } | { error: unknown }): void };

interface Done<T> { value: T; at: number }

export class IdempotencyWindow<T> {
  /** Acknowledged ids, oldest first (Map order = acknowledgement order). */
  private readonly done = new Map<string, Done<T>>();
  private readonly pending = new Map<string, Promise<T>>();
  private readonly now: () => number;

  constructor(private readonly opts: IdempotencyOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Ids remembered as acknowledged (expired ones may linger until the next claim). */
  get size(): number {
    return this.done.size;
  }

  /** Sends in flight under an id. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Looks `key` up. `claimed` means nobody has it: the caller sends and must call settle() with
   * the outcome, which answers every request that waited meanwhile.
   */
  claim(key: string): Claim<T> {
    this.expire();
    const d = this.done.get(key);
    if (d) return { kind: 'done', value: d.value };
    const p = this.pending.get(key);
    if (p) return { kind: 'pending', outcome: p };
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const outcome = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    // A failure nobody waited for is the claimer's to report, not an unhandled rejection.
    outcome.catch(() => {});
    this.pending.set(key, outcome);
    return {
      kind: 'claimed',
      settle: (o) => {
        if (this.pending.get(key) !== outcome) return;
        this.pending.delete(key);
        if ('error' in o) {
          reject(o.error);
          return;
        }
        this.remember(key, o.value);
        resolve(o.value);
      },
    };
  }

  private remember(key: string, value: T): void {
    this.done.delete(key);
    this.done.set(key, { value, at: this.now() });
    while (this.done.size > this.opts.maxIds) this.done.delete(this.done.keys().next().value!);
  }

  /** Forgets ids older than the window (the oldest are first). */
  private expire(): void {
    const oldest = this.now() - this.opts.windowMs;
    for (const [k, d] of this.done) {
      if (d.at > oldest) break;
      this.done.delete(k);
    }
  }
}
