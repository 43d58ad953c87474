// Prometheus metrics (prom-client), one registry per gateway so several can live in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type RefusalReason =
  | 'unauthorized' | 'forbidden_origin' | 'protocol' | 'code_not_allowed' | 'admin_code' | 'unknown_alias'
  | 'topic_not_allowed' | 'oversize' | 'rate_limit' | 'in_flight' | 'auth_timeout' | 'token_expired' | 'bad_target'
  | 'draining' | 'too_many_connections' | 'consumer_disabled';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly framesIn: Counter<'code'>;
  readonly framesOut: Counter<'code'>;
  readonly refusals: Counter<'reason'>;
  readonly upstreamLatency: Histogram<'code'>;
  readonly upstreamConnections: Gauge;
  // Per-frame counts are plain numbers here (no prom-client label hashing per frame); they are
  // handed to the counters when the registry is read (the counters' collect hook).
  private readonly inCounts = new Map<number, number>();
  private readonly outCounts = new Map<number, number>();
  private readonly latencyChildren = new Map<number, { observe(v: number): void }>();

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
    this.upstreamLatency = new Histogram({
      name: 'rocketmq_edge_upstream_latency_seconds', help: 'Upstream request → response time, by request code',
      labelNames: ['code'], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
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
    let c = this.latencyChildren.get(code);
    if (!c) this.latencyChildren.set(code, (c = this.upstreamLatency.labels(String(code))));
    c.observe(seconds);
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
