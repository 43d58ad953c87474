// WebSocket path figures, 1 KiB random bodies, one JSON line per case on stdout (bench/README.md lists every field):
//   {"case":"ws-gateway-w1"|"ws-gateway-w256","msgs_per_s":…,"p50_ms":…,"p99_ms":…,"embedded_broker":…,"cpu_us_per_msg":{…}}
//                                                                    Producer → WebSocketTransport → gateway → embedded broker
//   {"case":"tcp-direct-w1"|"tcp-direct-w256",…}                     Producer → TcpTransport → the same embedded broker
//   {"case":"ws-gateway-autobatch-…"|"tcp-direct-autobatch-…",…}     the same two with autoBatch on ("auto_batch":true)
//   {"case":"ws-gateway-remote-w256",…}                              Producer → WebSocketTransport → gateway → broker in its own process
//   {"case":"ws-gateway-thread-…"|"ws-gateway-inline-…",…}           the same as ws-gateway-*, with the --embedded-broker mode the default did not pick
//   {"case":"ws-floor-w1"|"ws-floor-w256",…}                         raw `ws` client → ack server (no broker)
//   {"case":"gateway-idle-5000","connections":…,"rss_kb_per_connection":…,…}   a fresh gateway's RSS with 5,000 idle authenticated clients
//   {"case":"gateway-flood-send"|"gateway-flood-ping-auth"|"gateway-flood-ping-unauth",…}   100 clients that write and never read (ws-flood.ts)
// cpu_us_per_msg: CPU µs per message of this process ("client") and of the server's threads by role: "relay" (the
// gateway's main thread) and "broker" (the embedded broker's worker thread, or the broker process) where they are
// separate; "relay+broker" for the one thread doing both with --embedded-broker inline; "broker" alone for tcp-direct;
// "other" = the rest of the server process(es): GC helpers, libuv's pool. Linux only (from /proc); elsewhere client only.
// Topology = the default deployment: ONE `rocketmq-edge` process, the built CLI (packages/gateway/dist; `npm run
// bench:ws` builds first) without --namesrv: embedded name server + broker (--embedded-broker auto: on the gateway's
// event loop below 3 cores, on a worker thread otherwise), ASYNC flush, temp data dir. The ws-gateway cases go through its
// gateway; the tcp-direct cases talk TCP to the very same embedded broker, so the two differ only
// by the relay. The remote case starts the broker CLI and a second gateway (--namesrv) in two more
// processes. The measuring client runs here (on the packages' dist builds too), the floor server and the idle and
// flood clients in their own processes. The idle and flood cases each start a gateway of their own.
// stderr adds per case the busy threads of the server process (name/tid µs per message) and other details.
// w1 = sequential SYNC sends; w256 = 256 SYNC sends in flight.
// Environment: BENCH_W1_MSGS (5000), BENCH_W256_MSGS (100000), BENCH_MAX_MS (30000), BENCH_IDLE (5000),
// BENCH_FLOOD_MS (3000), BENCH_FLOOD_CONNECTIONS (100), BENCH_FLOOD_DRAIN_MS (2000), BENCH_FLOOD_MAX_RSS_MB (2048),
// BENCH_FLOOD_GW_ARGS (extra gateway flags for the flood cases, e.g. "--embedded-broker thread"),
// BENCH_ONLY (comma list of case-name prefixes), BENCH_GW_NODE_ARGS (extra node flags for the gateway processes).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Producer, autoBatch, type Transport } from '@rocketmq-edge/core';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startBrokerProcess } from './lib/broker-process.js';
import { NO_LIMITS, TOKEN, startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { measured as measuredCase } from './lib/measured.js';
import { eventLoopThreads, mb, statusKb, type CpuPlan } from './lib/proc-stats.js';
import { REPO_ROOT as ROOT, startProcess } from './lib/process.js';
import { randomBody, report, runCase } from './lib/runner.js';
import { floodCase, type FloodMode } from './ws-flood.js';

const W1 = Number(process.env.BENCH_W1_MSGS ?? 5000);
const W256 = Number(process.env.BENCH_W256_MSGS ?? 100_000);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 30_000);
const IDLE = Number(process.env.BENCH_IDLE ?? 5000);
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const want = (...names: string[]) => ONLY.length === 0 || names.some((n) => ONLY.some((p) => n.startsWith(p)));
const bodies = Array.from({ length: 256 }, () => randomBody(1024));
const gwNodeArgs = (process.env.BENCH_GW_NODE_ARGS ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Relay CPU per message of the cases with --embedded-broker thread (the tracked target), for the summary on stderr. */
const threadRelay: string[] = [];

/** runCase + report, with CPU µs per message by role (see the top of this file) as "cpu_us_per_msg". */
async function measured(opts: Parameters<typeof runCase>[0], plan: CpuPlan | undefined, extra: Record<string, unknown>): Promise<void> {
  const cpu = await measuredCase(opts, plan, extra);
  if (extra.embedded_broker === 'thread' && cpu.relay !== undefined) threadRelay.push(`${opts.name} ${cpu.relay}`);
}

/** Who does what in a gateway process with an embedded broker, for the ws-gateway cases and (relay idle) tcp-direct. */
function gatewayPlan(gw: GatewayProcess, loops: Set<number>, relayed: boolean): CpuPlan {
  const brokerThread = { key: 'broker', loops };
  if (gw.embeddedBroker === 'thread') return relayed ? { pid: gw.pid, main: 'relay', brokerThread } : { pid: gw.pid, brokerThread };
  return { pid: gw.pid, main: relayed ? 'relay+broker' : 'broker' };
}

/** The w1 and w256 cases of one producer; `extra.auto_batch` turns autoBatch on. */
async function producerCases(prefix: string, transport: Transport, plan: CpuPlan | undefined, extra: Record<string, unknown>,
  windows: (1 | 256)[] = [1, 256]): Promise<void> {
  const producer = new Producer({
    transport, producerGroup: `bench_${prefix.replace(/-/g, '_')}`, sendMsgTimeout: 10_000, autoBatch: extra.auto_batch === true && autoBatch,
  });
  try {
    await producer.start();
    const topic = `BenchWs_${prefix.replace(/-/g, '_')}`;
    await producer.send({ topic, body: bodies[0]! });
    const op = (i: number) => producer.send({ topic, body: bodies[i % bodies.length]! });
    for (const w of windows) {
      if (!want(`${prefix}-w${w}`)) continue;
      await measured(w === 1
        ? { name: `${prefix}-w1`, op, window: 1, warmup: 500, msgs: W1, maxMs: MAX_MS }
        : { name: `${prefix}-w256`, op, window: 256, warmup: 2560, msgs: W256, maxMs: MAX_MS }, plan, extra);
    }
  } finally {
    await producer.shutdown().catch(() => {});
    await transport.close();
  }
}

async function floorCases(): Promise<void> {
  const server = await startProcess(['bench/peers-ws-floor-server.mjs', '--port', '0'], /^READY \d+/, 'ws floor server');
  const port = Number(server.line.split(' ')[1]);
  const require = createRequire(join(ROOT, 'packages/gateway/package.json'));
  interface RawWs { once(e: string, f: (...a: unknown[]) => void): void; on(e: 'message', f: (d: Buffer) => void): void; send(b: Buffer): void; terminate(): void }
  const WebSocket = require('ws') as new (url: string, opts: object) => RawWs;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const waiting = new Map<number, () => void>();
  ws.on('message', (d: Buffer) => { const id = d.readUInt32LE(0); waiting.get(id)?.(); waiting.delete(id); });
  let next = 0;
  const op = (i: number) => new Promise<void>((resolve) => {
    const id = next++ >>> 0;
    const msg = Buffer.from(bodies[i % bodies.length]!);
    msg.writeUInt32LE(id, 0);
    waiting.set(id, resolve);
    ws.send(msg);
  });
  try {
    if (want('ws-floor-w1')) report(await runCase({ name: 'ws-floor-w1', op, window: 1, warmup: 500, msgs: W1, maxMs: MAX_MS }));
    if (want('ws-floor-w256')) report(await runCase({ name: 'ws-floor-w256', op, window: 256, warmup: 2560, msgs: W256, maxMs: MAX_MS }));
  } finally {
    ws.terminate();
    await server.stop();
  }
}

/** A gateway process of the default deployment (ASYNC flush, limits lifted), with its idle event-loop threads. */
async function loadGateway(extra: string[]): Promise<{ gw: GatewayProcess; loops: Set<number> }> {
  const gw = await startGatewayProcess([...NO_LIMITS, '--flush', 'async', ...extra], gwNodeArgs);
  await sleep(200);
  return { gw, loops: eventLoopThreads(gw.pid) };
}

/** A fresh gateway's RSS before and after IDLE idle authenticated connections. */
async function idleCase(): Promise<void> {
  const gw = await startGatewayProcess([...NO_LIMITS], gwNodeArgs);
  try {
    await sleep(1000);
    const before = statusKb(gw.pid);
    const clients = await startProcess(['bench/peers-idle-clients.mjs', '--url', gw.wsUrl, '--token', TOKEN, '--count', String(IDLE)],
      /^READY /, 'idle clients', 120_000);
    try {
      const [, ok, failed] = clients.line.split(' ').map(Number) as [number, number, number];
      await sleep(2000);
      const after = statusKb(gw.pid);
      const perConn = before !== undefined && after !== undefined && ok > 0 ? Math.round((after - before) / ok * 10) / 10 : null;
      process.stdout.write(JSON.stringify({
        case: `gateway-idle-${IDLE}`, connections: ok, failed, rss_before_mb: mb(before), rss_mb: mb(after), rss_kb_per_connection: perConn,
      }) + '\n');
      process.stderr.write(`  gateway-idle-${IDLE}: a fresh gateway (--embedded-broker ${gw.embeddedBroker}): RSS ${mb(before)} → ${mb(after)} MB ` +
        `with ${ok} idle authenticated connections (${failed} failed): ${perConn} KB each\n`);
    } finally {
      await clients.stop();
    }
  } finally {
    await gw.stop();
  }
}

const FLOOD_MODES: FloodMode[] = ['send', 'ping-auth', 'ping-unauth'];
const anyLoadCase = want('ws-gateway-w1', 'ws-gateway-w256', 'tcp-direct-w1', 'tcp-direct-w256', 'ws-gateway-remote-w256',
  'ws-gateway-autobatch-w1', 'ws-gateway-autobatch-w256', 'tcp-direct-autobatch-w1', 'tcp-direct-autobatch-w256',
  'ws-gateway-thread-w1', 'ws-gateway-thread-w256', 'ws-gateway-inline-w1', 'ws-gateway-inline-w256');

if (anyLoadCase) {
  const { gw: gateway, loops } = await loadGateway([]);
  try {
    // The default (--embedded-broker auto) resolves by core count; the other mode is measured as an extra case.
    const mode = gateway.embeddedBroker!;
    const other = mode === 'thread' ? 'inline' : 'thread';
    process.stderr.write(`  default gateway: --embedded-broker ${mode} (${availableParallelism()} cores)\n`);
    for (const on of [false, true]) {
      const ab = on ? '-autobatch' : '';
      if (want(`ws-gateway${ab}-w1`, `ws-gateway${ab}-w256`)) {
        await producerCases(`ws-gateway${ab}`, new WebSocketTransport({ url: gateway.wsUrl, token: TOKEN }),
          gatewayPlan(gateway, loops, true), { embedded_broker: mode, auto_batch: on });
      }
      if (want(`tcp-direct${ab}-w1`, `tcp-direct${ab}-w256`)) {
        await producerCases(`tcp-direct${ab}`, new TcpTransport({ namesrvAddr: gateway.namesrvAddr }), gatewayPlan(gateway, loops, false),
          { embedded_broker: mode, auto_batch: on });
      }
    }
    if (want('ws-gateway-remote-w256')) {
      // Extra: the gateway relaying to a broker in another process (gateway CLI --namesrv → broker CLI).
      const broker = await startBrokerProcess({ flush: 'async' });
      let remote: GatewayProcess | undefined;
      try {
        remote = await startGatewayProcess([...NO_LIMITS, '--namesrv', broker.namesrvAddr], gwNodeArgs);
        await producerCases('ws-gateway-remote', new WebSocketTransport({ url: remote.wsUrl, token: TOKEN }),
          { pid: remote.pid, main: 'relay', whole: [{ pid: broker.child.pid!, key: 'broker' }] }, {}, [256]);
      } finally {
        await remote?.stop();
        await broker.stop();
      }
    }
    if (want(`ws-gateway-${other}-w1`, `ws-gateway-${other}-w256`)) {
      // Extra: the embedded broker in the mode the default did not pick (own worker thread / gateway's event loop).
      const { gw, loops: otherLoops } = await loadGateway(['--embedded-broker', other]);
      try {
        await producerCases(`ws-gateway-${other}`, new WebSocketTransport({ url: gw.wsUrl, token: TOKEN }),
          gatewayPlan(gw, otherLoops, true), { embedded_broker: other });
      } finally {
        await gw.stop();
      }
    }
  } finally {
    await gateway.stop();
  }
}
if (want('ws-floor-w1', 'ws-floor-w256')) await floorCases();
if (want(`gateway-idle-${IDLE}`)) await idleCase();
for (const mode of FLOOD_MODES) {
  if (!want(`gateway-flood-${mode}`)) continue;
  await floodCase(`gateway-flood-${mode}`, {
    mode,
    connections: Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 100),
    ms: Number(process.env.BENCH_FLOOD_MS ?? 3000),
    drainMs: Number(process.env.BENCH_FLOOD_DRAIN_MS ?? 2000),
    maxRssMb: Number(process.env.BENCH_FLOOD_MAX_RSS_MB ?? 2048),
    gatewayArgs: (process.env.BENCH_FLOOD_GW_ARGS ?? '').split(' ').filter(Boolean),
    gatewayNodeArgs: gwNodeArgs,
  });
}
if (threadRelay.length) {
  process.stderr.write(`  relay CPU µs per message with --embedded-broker thread (target ≤ 6): ${threadRelay.join(', ')}\n`);
}
