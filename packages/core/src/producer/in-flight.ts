// Bound on async sends in flight (count and bytes), like 5.x enableBackpressureForAsyncMode:
// waiters are served in order; a send waits at most until its deadline.
import { AbortError, RemotingTooMuchRequestError } from '../errors.js';

/** A queued acquire: `done_()` takes the permit, `done_(e)` rejects with `e`. */
interface Waiter { bytes_: number; done_(e?: Error): void }

export class InFlightLimiter {
  count = 0;
  bytes = 0;
  readonly #waiters: Waiter[] = [];
  declare readonly maxCount: number;
  declare readonly maxBytes: number;
  readonly #what: string;
  readonly #raise: string;
  /** `what` it counts and the options to `raise`, for the refusal's message. */
  constructor(maxCount: number, maxBytes: number, what = 'async sends', raise = 'maxAsyncInFlight(Bytes)') {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
    this.#what = what;
    this.#raise = raise;
  }

  /** A message larger than maxBytes may still go alone, so it cannot wait forever. */
  #fits(bytes: number): boolean {
    return this.count < this.maxCount && (this.bytes + bytes <= this.maxBytes || !this.count);
  }

  #take(bytes: number): () => void {
    this.count++;
    this.bytes += bytes;
    let held = true;
    return () => {
      if (held) {
        held = false;
        this.count--;
        this.bytes -= bytes;
        this.#pump();
      }
    };
  }

  #pump(): void {
    const waiters = this.#waiters;
    while (waiters[0] && this.#fits(waiters[0].bytes_)) waiters[0].done_();
  }

  /** Resolves a release function; rejects with RemotingTooMuchRequestError (or AbortError). */
  acquire(bytes: number, mode: 'wait' | 'reject', waitMs: number, signal?: AbortSignal): Promise<() => void> {
    const waiters = this.#waiters;
    return new Promise((resolve, reject) => {
      const full = (): Error =>
        new RemotingTooMuchRequestError('', `${this.count} ${this.#what} (${this.bytes} bytes) in flight: await some, or raise ${this.#raise}`);
      if (!waiters.length && this.#fits(bytes)) return resolve(this.#take(bytes));
      if (mode === 'reject' || waitMs <= 0) return reject(full());
      const done = (e?: Error): void => {
        const i = waiters.indexOf(w);
        if (i < 0) return; // granted or failed already
        waiters.splice(i, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (e) {
          reject(e);
          this.#pump(); // a smaller waiter behind this one may fit now
        } else resolve(this.#take(bytes));
      };
      const w: Waiter = { bytes_: bytes, done_: done };
      const onAbort = (): void => done(new AbortError());
      const timer = setTimeout(() => done(full()), waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.push(w);
    });
  }

  /** Fails every waiter (shutdown). */
  rejectAll(e: Error): void {
    for (const w of [...this.#waiters]) w.done_(e);
  }
}
