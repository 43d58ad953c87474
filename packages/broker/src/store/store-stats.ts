// The store's counters and what RocketMQ derives from them: StoreStatsService (puts, gets, TPS over
// the last 10 s / 1 min / 10 min from one sample a second, put latency per minute) and BrokerStats
// (the totals at the last two local midnights, for "today" and "yesterday"). Counting is a few
// number increments per request; everything else happens once a second or when asked.

/** Java's StoreStatsService keeps 10 minutes of one-second samples (+1 to span 600 s). */
const SAMPLES = 601;
const MINUTE_MS = 60_000;

/** Upper bounds (ms) of the put latency buckets percentiles are read from (PUT_MESSAGE_ENTIRE_TIME_BUCKETS). */
const LATENCY_BOUNDS: readonly number[] = (() => {
  const out: number[] = [];
  let at = 0;
  for (const [step, times] of [[1, 20], [2, 15], [5, 10], [10, 10], [50, 6], [100, 5], [1000, 9]] as const) {
    for (let i = 0; i < times; i++) out.push((at += step));
  }
  out.push(Number.MAX_SAFE_INTEGER); // Java: Long.MAX_VALUE
  return out;
})();

/** Labels and upper bounds (exclusive, ms) of putMessageDistributeTime. */
const DISTRIBUTION_LABELS = ['[<=0ms]', '[0~10ms]', '[10~50ms]', '[50~100ms]', '[100~200ms]', '[200~500ms]', '[500ms~1s]', '[1~2s]', '[2~3s]', '[3~4s]', '[4~5s]', '[5~10s]', '[10s~]'];
const DISTRIBUTION_BOUNDS = [1, 10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000, Infinity];

/** The counters sampled for TPS, in the order of the sample columns. */
export type Series = 'put' | 'getFound' | 'getMiss' | 'transferred';
const SERIES: readonly Series[] = ['put', 'getFound', 'getMiss', 'transferred'];

/** Local midnight after `now` (UtilAll.computeNextMorningTimeMillis). */
export function nextMorning(now: number): number {
  const d = new Date(now);
  d.setHours(24, 0, 0, 0);
  return d.getTime();
}

export class StoreStats {
  readonly bootTimestamp: number;
  /** Messages appended (a batch counts its records) and their stored bytes. */
  putTimes = 0;
  putBytes = 0;
  /** Appends that failed or were taken back after a failed write. */
  putFailed = 0;
  /** Lookups that found messages, that found none, and the messages they returned. */
  getFound = 0;
  getMiss = 0;
  transferred = 0;
  putTimeMax = 0;
  getTimeMax = 0;

  /** Ring of one-second samples: time, then one column per series. */
  private readonly sampleTime = new Float64Array(SAMPLES);
  private readonly sampleCount = new Float64Array(SAMPLES * SERIES.length);
  private samples = 0;
  private head = 0; // index of the oldest sample

  private latency = new Float64Array(LATENCY_BOUNDS.length);
  private lastLatency: Float64Array | undefined;
  private distribution = new Float64Array(DISTRIBUTION_BOUNDS.length);
  private lastDistribution: Float64Array | undefined;
  private minuteEndsAt: number;

  /** Totals at the last two local midnights since boot (0 before). */
  putTotalTodayMorning = 0;
  putTotalYesterdayMorning = 0;
  getTotalTodayMorning = 0;
  getTotalYesterdayMorning = 0;
  private morningAt: number;

  constructor(now = Date.now()) {
    this.bootTimestamp = now;
    this.minuteEndsAt = now + MINUTE_MS;
    this.morningAt = nextMorning(now);
    this.sample(now);
  }

  /** One put's time from arrival to being durable (ms). */
  recordPutTime(ms: number): void {
    if (ms > this.putTimeMax) this.putTimeMax = ms;
    const b = LATENCY_BOUNDS;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid]! < ms) lo = mid + 1;
      else hi = mid;
    }
    this.latency[lo]!++;
    let i = 0;
    while (ms >= DISTRIBUTION_BOUNDS[i]!) i++;
    this.distribution[i]!++;
  }

  recordGet(found: number, ms: number): void {
    if (found > 0) {
      this.getFound++;
      this.transferred += found;
    } else this.getMiss++;
    if (ms > this.getTimeMax) this.getTimeMax = ms;
  }

  private value(s: Series): number {
    switch (s) {
      case 'put': return this.putTimes;
      case 'getFound': return this.getFound;
      case 'getMiss': return this.getMiss;
      default: return this.transferred;
    }
  }

  /** Takes the once-a-second sample; rolls the latency minute and the day when they end. */
  sample(now: number): void {
    let i: number;
    if (this.samples < SAMPLES) i = (this.head + this.samples++) % SAMPLES;
    else {
      i = this.head;
      this.head = (this.head + 1) % SAMPLES;
    }
    this.sampleTime[i] = now;
    for (let s = 0; s < SERIES.length; s++) this.sampleCount[i * SERIES.length + s] = this.value(SERIES[s]!);
    if (now >= this.minuteEndsAt) {
      this.minuteEndsAt = now + MINUTE_MS;
      this.lastLatency = this.latency;
      this.latency = new Float64Array(LATENCY_BOUNDS.length);
      this.lastDistribution = this.distribution;
      this.distribution = new Float64Array(DISTRIBUTION_BOUNDS.length);
    }
    if (now >= this.morningAt) {
      this.morningAt = nextMorning(now);
      this.putTotalYesterdayMorning = this.putTotalTodayMorning;
      this.getTotalYesterdayMorning = this.getTotalTodayMorning;
      this.putTotalTodayMorning = this.putTimes;
      this.getTotalTodayMorning = this.transferred;
    }
  }

  /**
   * Per-second rate of a series over the last `window` samples (10, 60, 600) up to now. Java leaves
   * a window empty until it has run that long; here a younger store reports its rate since boot.
   */
  tps(s: Series, window: number, now: number): number {
    const back = Math.min(window, this.samples - 1);
    const i = (this.head + this.samples - 1 - back) % SAMPLES;
    const elapsed = now - this.sampleTime[i]!;
    if (elapsed <= 0) return 0;
    return ((this.value(s) - this.sampleCount[i * SERIES.length + SERIES.indexOf(s)]!) / elapsed) * 1000;
  }

  /**
   * The put latency (ms) below which `px` of last minute's puts fell, interpolated within its
   * bucket (findPutMessageEntireTimePX); 0 before the first minute has passed.
   */
  putLatencyPercentile(px: number): number {
    const counts = this.lastLatency;
    if (!counts) return 0;
    let total = 0;
    for (const c of counts) total += c;
    const index = Math.trunc(total * px);
    let passed = 0;
    for (let i = 0; i < counts.length; i++) {
      const count = counts[i]!;
      if (index <= passed + count) {
        const rel = index - passed;
        const low = i === 0 ? 0 : LATENCY_BOUNDS[i - 1]!;
        return low + (count === 0 ? 0 : ((LATENCY_BOUNDS[i]! - low) * rel) / count);
      }
      passed += count;
    }
    return 0;
  }

  /** Last minute's put latency histogram as Java prints it; undefined before the first minute. */
  putDistribution(): string | undefined {
    const d = this.lastDistribution;
    if (!d) return undefined;
    let out = '';
    for (let i = 0; i < d.length; i++) out += `${DISTRIBUTION_LABELS[i]}:${d[i]} `;
    return out;
  }
}
