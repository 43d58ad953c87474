// A token bucket per connection: `ratePerSecond` sustained, `burst` at once.
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly ratePerSecond: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
