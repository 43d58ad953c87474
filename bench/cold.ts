// Cold publishes: from nothing to the first acknowledged 1 KiB message, as an edge function that
// publishes once per invocation pays it, on both paths against the same gateway and broker:
//   {"case":"cold-ws","cycles":N,"p50_ms":…,"p90_ms":…,"errors":0}
//        new WebSocketTransport + Producer (Node), start, send → ack; shut down after (not timed)
//   {"case":"cold-http","cycles":N,"p50_ms":…,"p90_ms":…,"errors":0}
//        POST /v1/topics/{topic}/messages on a new TCP connection (node:http, no keep-alive) → 200
//   {"case":"http-publish-c64","msgs_per_s":…,"p50_ms":…,"p99_ms":…,"cpu_us_per_msg":{"client":…,"gateway+broker":…}}
//        HTTP publishes with 64 requests in flight over kept-alive connections (the gateway's producer);
//        CPU µs per message of this process and of the gateway process (its embedded broker included, warm-up counted)
// The two cold paths alternate cycle by cycle, so both see the same machine. stderr ends with the
// ratio of the p50s (the target: HTTP ≤ half of WebSocket).
// Server: the built `rocketmq-edge` command (packages/gateway/dist), embedded name server and broker,
// ASYNC flush, limits lifted (bench/lib/gateway-process.ts). Everything on 127.0.0.1.
// Environment: BENCH_COLD_CYCLES (100), BENCH_HTTP_MSGS (20000), BENCH_MAX_MS (30000), BENCH_GW_NODE_ARGS (node flags for the gateway).
import { Agent, request } from 'node:http';
import { Producer } from '@rocketmq-edge/core';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { NO_LIMITS, TOKEN, startGatewayProcess } from './lib/gateway-process.js';
import { cpuUs } from './lib/proc-stats.js';
import { randomBody, report, runCase } from './lib/runner.js';
import { percentile, round, sortedCopy } from './lib/stats.js';

const CYCLES = Number(process.env.BENCH_COLD_CYCLES ?? 100);
const HTTP_MSGS = Number(process.env.BENCH_HTTP_MSGS ?? 20_000);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 30_000);
const TOPIC = 'BenchCold';
const bodies = Array.from({ length: 64 }, () => Buffer.from(randomBody(1024)));

/** One POST of a 1 KiB raw body; resolves with the status once the answer is read whole. */
function post(base: URL, body: Buffer, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: base.hostname, port: base.port, path: `/v1/topics/${TOPIC}/messages`, method: 'POST', agent,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(200) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function coldWs(wsUrl: string, body: Buffer): Promise<{ ms: number; done: Promise<void> }> {
  const t0 = performance.now();
  const transport = new WebSocketTransport({ url: wsUrl, token: TOKEN, heartbeatIntervalMs: 0 });
  const producer = new Producer({ transport, producerGroup: 'bench_cold' });
  const done = async () => { await producer.shutdown().catch(() => {}); await transport.close(); };
  try {
    await producer.start();
    await producer.send({ topic: TOPIC, body });
    return { ms: performance.now() - t0, done: done() };
  } catch (e) {
    await done();
    throw e;
  }
}

async function coldHttp(base: URL, body: Buffer): Promise<number> {
  const t0 = performance.now();
  await post(base, body, false); // agent: false = a connection of its own, closed after the answer
  return performance.now() - t0;
}

function line(name: string, ms: number[], errors: number, firstError: unknown): number {
  const sorted = sortedCopy(ms);
  const p50 = round(percentile(sorted, 50));
  process.stdout.write(JSON.stringify({ case: name, cycles: ms.length, p50_ms: p50, p90_ms: round(percentile(sorted, 90)), errors }) + '\n');
  process.stderr.write(`  ${name}: min ${round(percentile(sorted, 0))} ms, p99 ${round(percentile(sorted, 99))} ms, max ${round(percentile(sorted, 100))} ms` +
    `${firstError ? `, first error: ${String(firstError)}` : ''}\n`);
  return p50;
}

const gwNodeArgs = (process.env.BENCH_GW_NODE_ARGS ?? '').split(' ').filter(Boolean);
const gw = await startGatewayProcess([...NO_LIMITS, '--flush', 'async', '--http-rate', '100000000', '--http-burst', '100000000'], gwNodeArgs);
try {
  const base = new URL(gw.httpUrl);
  // The topic exists and the gateway's producer knows its route: what a running gateway looks like.
  await post(base, bodies[0]!, false);
  const ws: number[] = [];
  const http: number[] = [];
  const errors = { ws: 0, http: 0, first: { ws: undefined as unknown, http: undefined as unknown } };
  const warmup = 5;
  for (let i = 0; i < CYCLES + warmup; i++) {
    const body = bodies[i % bodies.length]!;
    try {
      const r = await coldWs(gw.wsUrl, body);
      await r.done; // shut down before the next cycle, untimed
      if (i >= warmup) ws.push(r.ms);
    } catch (e) {
      errors.ws++;
      errors.first.ws ??= e;
    }
    try {
      const ms = await coldHttp(base, body);
      if (i >= warmup) http.push(ms);
    } catch (e) {
      errors.http++;
      errors.first.http ??= e;
    }
  }
  const wsP50 = line('cold-ws', ws, errors.ws, errors.first.ws);
  const httpP50 = line('cold-http', http, errors.http, errors.first.http);

  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const serverBefore = cpuUs(gw.pid);
    const clientBefore = process.cpuUsage();
    const r = await runCase({
      name: 'http-publish-c64', op: (i) => post(base, bodies[i % bodies.length]!, agent), window: 64, warmup: 640, msgs: HTTP_MSGS, maxMs: MAX_MS,
    });
    const serverAfter = cpuUs(gw.pid);
    const client = process.cpuUsage(clientBefore);
    const n = r.details.completed + 640;
    report(r, {
      cpu_us_per_msg: {
        client: round((client.user + client.system) / n, 1),
        ...(serverBefore !== undefined && serverAfter !== undefined ? { 'gateway+broker': round((serverAfter - serverBefore) / n, 1) } : {}),
      },
    });
  } finally {
    agent.destroy();
  }
  process.stderr.write(`  cold p50: HTTP ${httpP50} ms / WebSocket ${wsP50} ms = ${round(httpP50 / wsP50, 2)} (target ≤ 0.5)\n`);
} finally {
  await gw.stop();
}
