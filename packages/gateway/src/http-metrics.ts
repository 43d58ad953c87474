// Prometheus metrics of the HTTP publish endpoints, in the gateway's registry (metrics.ts).
// Refusals are counted with the WebSocket path's, in rocketmq_edge_refusals_total{reason}.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type HttpEndpoint = 'publish' | 'beacon' | 'beacon_token' | 'preflight' | 'other';

export class HttpPublishMetrics {
  readonly requests: Counter<'endpoint' | 'status'>;
  readonly messages: Counter<'result'>;
  readonly inFlight: Gauge;
  readonly latency: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'rocketmq_edge_http_requests_total', help: 'HTTP publish API requests, by endpoint and answer status', labelNames: ['endpoint', 'status'], registers,
    });
    this.messages = new Counter({
      name: 'rocketmq_edge_http_messages_total', help: 'Messages of HTTP publishes: stored (acknowledged by a broker) or duplicate (an id acknowledged before)', labelNames: ['result'], registers,
    });
    this.inFlight = new Gauge({ name: 'rocketmq_edge_http_publishes_in_flight', help: 'HTTP publishes awaiting the broker', registers });
    this.latency = new Histogram({
      name: 'rocketmq_edge_http_publish_seconds', help: 'HTTP publish: body read to answer (route lookup, retries and the broker included)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
    });
  }
}
