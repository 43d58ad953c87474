// Bound on async sends in flight (count and bytes), like 5.x enableBackpressureForAsyncMode:
// waiters are served in order; a send waits at most until its deadline.
import { AbortError, RemotingTooMuchRequestError } from '../errors.js';

interface Waiter { bytes: number; grant(): void; fail(e: Error): void }

export class InFlightLimiter {
  count = 0;
  bytes = 0;
  private readonly waiters: Waiter[] = [];
  constructor(readonly maxCount: number, readonly maxBytes: number) {}

  /** A message larger than maxBytes may still go alone, so it cannot wait forever. */
  private fits(bytes: number): boolean {
    return this.count + 1 <= this.maxCount && (this.bytes + bytes <= this.maxBytes || this.count === 0);
  }

  private take(bytes: number): () => void {
    this.count++;
    this.bytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      this.bytes -= bytes;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) this.waiters.shift()!.grant();
  }

  /** Resolves a release function; rejects with RemotingTooMuchRequestError (or AbortError). */
  acquire(bytes: number, mode: 'wait' | 'reject', waitMs: number, signal?: AbortSignal): Promise<() => void> {
    if (this.waiters.length === 0 && this.fits(bytes)) return Promise.resolve(this.take(bytes));
    const full = (): Error =>
      new RemotingTooMuchRequestError(
        '',
        `send message tryAcquire semaphoreAsyncNum timeout: ${this.count} async sends (${this.bytes} bytes) in flight, ` +
          `limits maxAsyncInFlight=${this.maxCount}, maxAsyncInFlightBytes=${this.maxBytes}; await earlier sends or raise the limits`,
      );
    if (mode === 'reject' || waitMs <= 0) return Promise.reject(full());
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      const w: Waiter = {
        bytes,
        grant: () => {
          done();
          resolve(this.take(bytes));
        },
        fail: (e) => {
          done();
          reject(e);
          this.pump(); // a smaller waiter behind this one may fit now
        },
      };
      const onAbort = (): void => w.fail(new AbortError());
      const timer = setTimeout(() => w.fail(full()), waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  /** Fails every waiter (shutdown). */
  rejectAll(e: Error): void {
    for (const w of [...this.waiters]) w.fail(e);
  }
}
