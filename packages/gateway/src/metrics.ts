// Prometheus metrics (prom-client), one registry per gateway so several can live in one process.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

export type RefusalReason =
  | 'unauthorized' | 'forbidden_origin' | 'protocol' | 'code_not_allowed' | 'admin_code' | 'unknown_alias'
  | 'topic_not_allowed' | 'oversize' | 'rate_limit' | 'in_flight' | 'auth_timeout' | 'token_expired' | 'bad_target'
  | 'draining' | 'too_many_connections' | 'consumer_disabled' | 'malformed' | 'unknown_field' | 'batch_too_large'
  | 'slow_reader' | 'pre_auth_flood' | 'read_not_allowed' | 'group_not_allowed' | 'consumer_links'
  // Producers with broker callbacks (callbacks.ts): refused requests, broker requests not relayed, unanswered pushes.
  | 'callback_refused' | 'transaction_refused' | 'client_id_taken' | 'producer_limits' | 'callback_dropped' | 'callback_timeout'
  | 'late_response';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly framesIn: Counter<'code'>;
  readonly framesOut: Counter<'code'>;
  readonly refusals: Counter<'reason'>;
  readonly upstreamLatency: LatencyHistogram;
  readonly upstreamConnections: Gauge;
  // Per-frame counts are plain numbers here (no prom-client label hashing per frame); they are
  // handed to the counters when the registry is read (the counters' collect hook).
  private readonly inCounts = new Map<number, number>();
  private readonly outCounts = new Map<number, number>();

  constructor(private readonly knownCodes: ReadonlySet<number>, defaultMetrics = false) {
    const registers = [this.registry];
    this.connections = new Gauge({ name: 'rocketmq_edge_connections', help: 'Open client WebSocket connections (authenticated)', registers });
    this.connectionsTotal = new Counter({ name: 'rocketmq_edge_connections_total', help: 'Client WebSocket connections accepted', registers });
    const inCounts = this.inCounts;
    const outCounts = this.outCounts;
    this.framesIn = new Counter({
      name: 'rocketmq_edge_frames_in_total', help: 'Remoting frames received from clients, by request code', labelNames: ['code'], registers,
      collect() { flush(this, inCounts, (k) => (k === -1 ? 'other' : String(k))); },
    });
    this.framesOut = new Counter({
      name: 'rocketmq_edge_frames_out_total', help: 'Remoting frames sent to clients, by response code', labelNames: ['code'], registers,
      collect() { flush(this, outCounts, (k) => (k === -2 ? 'other' : String(k))); },
    });
    this.refusals = new Counter({ name: 'rocketmq_edge_refusals_total', help: 'Refused connections and frames, by reason', labelNames: ['reason'], registers });
    this.upstreamLatency = new LatencyHistogram('rocketmq_edge_upstream_latency_seconds', 'Upstream request → response time, by request code',
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
    this.registry.registerMetric(this.upstreamLatency as unknown as Metric);
    this.upstreamConnections = new Gauge({ name: 'rocketmq_edge_upstream_connections', help: 'Pooled upstream TCP connections', registers });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'rocketmq_edge_' });
  }

  frameIn(code: number): void {
    const k = this.knownCodes.has(code) ? code : -1;
    this.inCounts.set(k, (this.inCounts.get(k) ?? 0) + 1);
  }

  frameOut(code: number): void {
    const k = code >= -1 && code < 1000 ? code : -2;
    this.outCounts.set(k, (this.outCounts.get(k) ?? 0) + 1);
  }

  latency(code: number, seconds: number): void {
    this.upstreamLatency.observe(code, seconds);
  }

  refused(reason: RefusalReason): void {
    this.refusals.labels(reason).inc();
  }
}

/** Adds the counts gathered since the last read to the counter (then forgets them). */
function flush(counter: Counter<'code'>, counts: Map<number, number>, label: (k: number) => string): void {
  for (const [k, n] of counts) if (n > 0) counter.inc({ code: label(k) }, n);
  counts.clear();
}

/**
 * A Prometheus histogram labelled by request code, counted in typed arrays: one observation per
 * relayed response costs a bucket search and two additions (prom-client's Histogram hashes the
 * labels on every observe). prom-client's registry renders it (`get()` has the same shape).
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Per code: the count of each bucket on its own (last = +Inf; summed up when rendered), then sum, then count. */
  private readonly byCode = new Map<number, Float64Array>();

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[]) {}

  observe(code: number, value: number): void {
    let a = this.byCode.get(code);
    if (!a) {
      if (this.byCode.size >= 1000) return; // codes come from the allowlist; never unbounded
      this.byCode.set(code, (a = new Float64Array(this.bounds.length + 3)));
    }
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    a[i]!++;
    a[b.length + 1]! += value;
    a[b.length + 2]!++;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] } {
    const values = [];
    const n = this.bounds.length;
    for (const [code, a] of this.byCode) {
      const c = String(code);
      let acc = 0;
      for (let i = 0; i <= n; i++) {
        acc += a[i]!;
        values.push({ labels: { le: i < n ? this.bounds[i]! : '+Inf', code: c }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { code: c }, value: a[n + 1]!, metricName: `${this.name}_sum` });
      values.push({ labels: { code: c }, value: a[n + 2]!, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.byCode.clear();
  }
}
