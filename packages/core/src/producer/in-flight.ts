// Bound on async sends in flight (count and bytes), like 5.x enableBackpressureForAsyncMode:
// waiters are served in order; a send waits at most until its deadline.
import { AbortError, RemotingTooMuchRequestError } from '../errors.js';

interface Waiter { bytes: number; grant(): void; fail(e: Error): void }

export class InFlightLimiter {
  count = 0;
  bytes = 0;
  readonly #waiters: Waiter[] = [];
  constructor(readonly maxCount: number, readonly maxBytes: number) {}

  /** A message larger than maxBytes may still go alone, so it cannot wait forever. */
  #fits(bytes: number): boolean {
    return this.count < this.maxCount && (this.bytes + bytes <= this.maxBytes || !this.count);
  }

  #take(bytes: number): () => void {
    this.count++;
    this.bytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      this.bytes -= bytes;
      this.#pump();
    };
  }

  #pump(): void {
    const waiters = this.#waiters;
    while (waiters.length && this.#fits(waiters[0]!.bytes)) waiters.shift()!.grant();
  }

  /** Resolves a release function; rejects with RemotingTooMuchRequestError (or AbortError). */
  acquire(bytes: number, mode: 'wait' | 'reject', waitMs: number, signal?: AbortSignal): Promise<() => void> {
    const waiters = this.#waiters;
    return new Promise((resolve, reject) => {
      const full = (): Error =>
        new RemotingTooMuchRequestError(
          '',
          `send message tryAcquire semaphoreAsyncNum timeout: ${this.count} sends (${this.bytes} bytes) in flight; ` +
            `await them or raise maxAsyncInFlight(Bytes)`,
        );
      if (!waiters.length && this.#fits(bytes)) return resolve(this.#take(bytes));
      if (mode === 'reject' || waitMs <= 0) return reject(full());
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
      };
      const w: Waiter = {
        bytes,
        grant: () => {
          done();
          resolve(this.#take(bytes));
        },
        fail: (e) => {
          done();
          reject(e);
          this.#pump(); // a smaller waiter behind this one may fit now
        },
      };
      const onAbort = (): void => w.fail(new AbortError());
      const timer = setTimeout(() => w.fail(full()), waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.push(w);
    });
  }

  /** Fails every waiter (shutdown). */
  rejectAll(e: Error): void {
    for (const w of [...this.#waiters]) w.fail(e);
  }
}
