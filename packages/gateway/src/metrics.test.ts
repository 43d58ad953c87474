import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { GatewayMetrics } from './metrics.js';

test('upstream latency renders exactly as a prom-client Histogram with the same observations', async () => {
  const metrics = new GatewayMetrics(new Set([310]));
  const reference = new Registry();
  const h = new Histogram({
    name: 'rocketmq_edge_upstream_latency_seconds', help: 'Upstream request → response time, by request code',
    labelNames: ['code'], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [reference],
  });
  for (const [code, v] of [[310, 0.0003], [310, 0.0005], [310, 0.004], [105, 7], [310, 0.3], [105, 0.001]] as const) {
    metrics.latency(code, v);
    h.observe({ code: String(code) }, v);
  }
  const text = await metrics.registry.getSingleMetricAsString('rocketmq_edge_upstream_latency_seconds');
  assert.equal(text, await reference.metrics().then((t) => t.trimEnd()));
  assert.match(text, /rocketmq_edge_upstream_latency_seconds_bucket\{le="0.0005",code="310"\} 2/);
  assert.match(text, /rocketmq_edge_upstream_latency_seconds_count\{code="105"\} 2/);
});
