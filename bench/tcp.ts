// Throughput, latency and CPU of the core Producer over TcpTransport against the embedded broker
// (its CLI in a separate process, loopback), 1 KiB random bodies, automatic batching off and on.
// One JSON line per case on stdout:
//   {"case":"tcp-async-flush-w1","msgs_per_s":…,"p50_ms":…,"p99_ms":…,"auto_batch":false,"cpu_us_per_msg":{"client":…,"broker":…,"other":…}}
//   {"case":"tcp-async-flush-autobatch-w256",…,"auto_batch":true,…}   the same with autoBatch on
// w1   = sequential SYNC sends (`send`, one at a time).
// w256 = 256 SYNC sends in flight (`send` called concurrently; each awaits its own ack).
// cpu_us_per_msg (Linux, from /proc; elsewhere client only): "client" = this process, "broker" = the
// broker process's main thread, "other" = its other threads (GC, libuv's pool).
// Environment: BENCH_W1_MSGS (5000), BENCH_W256_MSGS (50000), BENCH_MAX_MS per case (30000),
// BENCH_ONLY (comma list of case-name prefixes).
import { Producer, autoBatch } from '@rocketmq-edge/core';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { startBrokerProcess } from './lib/broker-process.js';
import { measured } from './lib/measured.js';
import { randomBody } from './lib/runner.js';

const BODY_SIZE = 1024;
const W1_MSGS = Number(process.env.BENCH_W1_MSGS ?? 5000);
const W256_MSGS = Number(process.env.BENCH_W256_MSGS ?? 50_000);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 30_000);
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const want = (name: string) => ONLY.length === 0 || ONLY.some((p) => name.startsWith(p));

// A pool of random bodies (generating 50 000 fresh KiBs would measure crypto, not the client).
const bodies = Array.from({ length: 256 }, () => randomBody(BODY_SIZE));

async function benchFlush(flush: 'async' | 'sync'): Promise<void> {
  const broker = await startBrokerProcess({ flush });
  const plan = { pid: broker.child.pid!, main: 'broker' };
  try {
    for (const on of [false, true]) {
      const prefix = `tcp-${flush}-flush${on ? '-autobatch' : ''}`;
      if (!want(`${prefix}-w1`) && !want(`${prefix}-w256`)) continue;
      const transport = new TcpTransport({ namesrvAddr: broker.namesrvAddr });
      const producer = new Producer({ transport, producerGroup: 'bench_tcp', sendMsgTimeout: 10_000, autoBatch: on && autoBatch });
      try {
        await producer.start();
        const topic = `BenchTcp_${flush}`;
        await producer.send({ topic, body: bodies[0]! }); // creates the topic, warms the route
        const op = (i: number) => producer.send({ topic, body: bodies[i % bodies.length]! });
        const extra = { auto_batch: on };
        if (want(`${prefix}-w1`)) await measured({ name: `${prefix}-w1`, op, window: 1, warmup: 500, msgs: W1_MSGS, maxMs: MAX_MS }, plan, extra);
        if (want(`${prefix}-w256`)) await measured({ name: `${prefix}-w256`, op, window: 256, warmup: 2560, msgs: W256_MSGS, maxMs: MAX_MS }, plan, extra);
      } finally {
        await producer.shutdown().catch(() => {});
        await transport.close();
      }
    }
  } finally {
    await broker.stop();
  }
}

await benchFlush('async');
await benchFlush('sync');
