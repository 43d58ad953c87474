// Runs a task once for any number of requests made before it starts (persist the topic table,
// register it with the name servers). A run starts on the next turn of the event loop, or later
// when the previous run was expensive: the pause after a run is at least `costFactor` times its
// duration. So however fast requests come, the task takes at most 1 / (1 + costFactor) of the
// time, and a task whose cost grows with a table (O(n) per run) costs O(1) amortised per change.
export interface CoalescedTaskOptions {
  /** The pause after a run is at least this many times the run's duration (default 10). */
  costFactor?: number;
  /** After a failed run, run again this much later even without a new request (default 1000 ms). */
  retryMs?: number;
  /** Called with the error of a failed run (besides rejecting the runs' waiters). */
  onError?: (e: unknown) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class CoalescedTask {
  private readonly costFactor: number;
  private readonly retryMs: number;
  private requested = false;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private lastEnd = 0;
  private lastCost = 0;
  private closed = false;

  constructor(private readonly task: () => void | Promise<void>, private readonly opts: CoalescedTaskOptions = {}) {
    this.costFactor = opts.costFactor ?? 10;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Asks for a run that starts after this call (fire and forget: failures go to onError). */
  request(): void {
    if (this.closed) return;
    this.requested = true;
    this.schedule(0);
  }

  /** Asks for a run and resolves when one that started after this call succeeded (rejects if it failed). */
  next(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the task is closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.request();
    });
  }

  /** The run in progress, if any. */
  get current(): Promise<void> | undefined {
    return this.running;
  }

  /**
   * Waits for the run in progress, then runs at once (without the pause) if anything is still
   * requested, including the retry of a failed run. Resolves when done, whatever the outcome.
   */
  async flush(): Promise<void> {
    if (this.running) await this.running.catch(() => {});
    if (this.requested) {
      this.cancelTimer();
      await this.run().catch(() => {});
    }
  }

  /** Flushes, then takes no more requests. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.cancelTimer();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private schedule(extraMs: number): void {
    if (this.timer !== undefined || this.running || !this.requested || this.closed) return;
    const wait = Math.max(extraMs, this.lastCost * this.costFactor - (performance.now() - this.lastEnd));
    const go = () => {
      this.timer = undefined;
      void this.run().catch(() => {});
    };
    // Not unref'd: requested work keeps the process alive until it is done (close() cancels).
    this.timer = wait >= 1 ? setTimeout(go, wait) : setImmediate(go);
  }

  private run(): Promise<void> {
    this.requested = false;
    const waiters = this.waiters;
    this.waiters = [];
    const start = performance.now();
    let failed = false;
    const p = (async () => this.task())()
      .then(
        () => {
          for (const w of waiters) w.resolve();
        },
        (e: unknown) => {
          failed = true;
          this.requested = true; // the work is still to be done
          for (const w of waiters) w.reject(e);
          this.opts.onError?.(e);
          throw e;
        },
      )
      .finally(() => {
        this.lastEnd = performance.now();
        this.lastCost = this.lastEnd - start;
        this.running = undefined;
        this.schedule(failed ? this.retryMs : 0);
      });
    this.running = p;
    return p;
  }
}
