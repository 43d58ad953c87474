// Consumer figures through the gateway, 1 KiB random bodies, one JSON line per case on stdout:
//   {"case":"consume-gateway-drain","msgs_per_s":…,"mb_per_s":…,"messages":…}
//        one LitePullConsumer → WebSocketTransport → gateway → embedded broker, draining BENCH_CONSUME_MSGS
//        (100,000) messages stored beforehand (filled over TCP, straight to the broker); from start() to the last
//   {"case":"consume-gateway-latency","rate_per_s":…,"p50_ms":…,"p99_ms":…,"max_ms":…,"messages":…}
//        a Producer and a LitePullConsumer, both through the gateway, publishing at a steady BENCH_LATENCY_RATE
//        (1,000) msg/s for BENCH_LATENCY_MSGS (10,000); latency = publish call → message handed out by poll()
// Server: the `rocketmq-edge` command (built CLI, embedded name server + broker, --enable-consumer, per-connection
// limits lifted), a JWT with read claims. Environment: BENCH_CONSUME_MSGS, BENCH_LATENCY_RATE, BENCH_LATENCY_MSGS,
// BENCH_MAX_MS (60000, per case), BENCH_ONLY (comma list of case-name prefixes).
import { Producer } from '@rocketmq-edge/core';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { hs256 } from '../e2e/support.js';
import { NO_LIMITS, startGatewayProcess } from './lib/gateway-process.js';
import { randomBody } from './lib/runner.js';
import { percentile, round, sortedCopy } from './lib/stats.js';

const DRAIN = Number(process.env.BENCH_CONSUME_MSGS ?? 100_000);
const RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1000);
const LATENCY_MSGS = Number(process.env.BENCH_LATENCY_MSGS ?? 10_000);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 60_000);
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const want = (name: string) => ONLY.length === 0 || ONLY.some((p) => name.startsWith(p));
const SECRET = 'bench-consume-secret-0123456789-0123456789';
const token = hs256(SECRET, { sub: 'bench', topics: ['*'], subscribe: ['*'], consumerGroups: ['*'], exp: Math.floor(Date.now() / 1000) + 3600 });
const bodies = Array.from({ length: 256 }, () => randomBody(1024));

const gw = await startGatewayProcess([...NO_LIMITS, '--enable-consumer', '--jwt-secret', SECRET]);
const consumerFor = (group: string) => new LitePullConsumer({
  transport: new WebSocketTransport({ url: gw.wsUrl, token }),
  consumerGroup: group,
  consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  pullBatchSize: 32,
});

try {
  if (want('consume-gateway-drain')) {
    const topic = 'BenchConsumeDrain';
    // Fill over TCP, 256 in flight: the case measures reading only.
    const filler = new Producer({ transport: new TcpTransport({ namesrvAddr: gw.namesrvAddr }), producerGroup: 'bench_consume_fill', sendMsgTimeout: 10_000 });
    await filler.start();
    let next = 0;
    await Promise.all(Array.from({ length: 256 }, async () => {
      while (next < DRAIN) {
        const i = next++;
        await filler.send({ topic, body: bodies[i % bodies.length]! });
      }
    }));
    await filler.shutdown();
    process.stderr.write(`  consume-gateway-drain: ${DRAIN} messages stored\n`);

    const c = consumerFor('bench_consume_drain');
    c.subscribe(topic);
    const t0 = performance.now();
    await c.start();
    let got = 0;
    let bytes = 0;
    while (got < DRAIN && performance.now() - t0 < MAX_MS) {
      for (const m of await c.poll(500)) {
        got++;
        bytes += m.body.length;
      }
    }
    const s = (performance.now() - t0) / 1000;
    await c.shutdown();
    process.stdout.write(JSON.stringify({ case: 'consume-gateway-drain', messages: got, expected: DRAIN, seconds: round(s), msgs_per_s: Math.round(got / s), mb_per_s: round(bytes / s / 1048576, 1) }) + '\n');
  }

  if (want('consume-gateway-latency')) {
    const topic = 'BenchConsumeLatency';
    const producer = new Producer({ transport: new WebSocketTransport({ url: gw.wsUrl, token }), producerGroup: 'bench_consume_latency', sendMsgTimeout: 10_000 });
    await producer.start();
    await producer.send({ topic, body: bodies[0]! }); // creates the topic
    const c = consumerFor('bench_consume_latency');
    c.subscribe(topic);
    await c.start();
    while ((await c.poll(500)).length > 0); // the creating message
    const sentAt: number[] = [];
    const latencies: number[] = [];
    let failed = 0;
    let acked = 0;
    let stop = false;
    const reading = (async () => {
      while (!stop) {
        for (const m of await c.poll(200)) {
          const t = sentAt[Number(m.properties.seq)];
          if (t !== undefined) latencies.push(performance.now() - t);
        }
      }
    })();
    // Steady pace: message i is published at t0 + i / RATE s (no catching up in bursts beyond that schedule).
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < LATENCY_MSGS && performance.now() - t0 < MAX_MS; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      sentAt[i] = performance.now();
      inflight.push(producer.send({ topic, body: bodies[i % bodies.length]!, properties: { seq: String(i) } }).then(() => { acked++; }, () => { failed++; }));
    }
    await Promise.all(inflight);
    const sent = acked;
    for (const end = performance.now() + 10_000; latencies.length < sent && performance.now() < end;) await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await reading;
    const rate = sent / ((performance.now() - t0) / 1000);
    const sorted = sortedCopy(latencies);
    process.stdout.write(JSON.stringify({
      case: 'consume-gateway-latency', rate_per_s: RATE, messages: latencies.length, sent, failed,
      p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)), max_ms: round(sorted[sorted.length - 1] ?? NaN),
    }) + '\n');
    process.stderr.write(`  consume-gateway-latency: achieved ${Math.round(rate)} msg/s over the whole run\n`);
    await c.shutdown();
    await producer.shutdown();
  }
} finally {
  await gw.stop();
}
