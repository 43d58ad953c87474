// WebSocket path figures, 1 KiB random bodies, one JSON line per case on stdout:
//   {"case":"ws-gateway-w1"|"ws-gateway-w256","msgs_per_s":…,"p50_ms":…,"p99_ms":…}  Producer → WebSocketTransport → gateway → embedded broker
//   {"case":"tcp-direct-w1"|"tcp-direct-w256",…}                                        Producer → TcpTransport → the same embedded broker
//   {"case":"ws-gateway-remote-w256",…}                                                 Producer → WebSocketTransport → gateway → broker in its own process
//   {"case":"ws-gateway-thread-…"|"ws-gateway-inline-…",…}                              the same as ws-gateway-*, with the --embedded-broker mode the default did not pick
//   {"case":"ws-floor-w1"|"ws-floor-w256",…}                                            raw `ws` client → ack server (no broker)
//   {"case":"gateway-idle-5000","rss_mb":…,"connections":5000}                          gateway RSS with 5,000 idle authenticated clients
// Topology = the default deployment: ONE `rocketmq-edge` process, the built CLI (packages/gateway/dist; `npm run
// bench:ws` builds first) without --namesrv: embedded name server + broker (--embedded-broker auto: on the gateway's
// event loop below 3 cores, on a worker thread otherwise), ASYNC flush, temp data dir. The ws-gateway cases go through its
// gateway; the tcp-direct cases talk TCP to the very same embedded broker, so the two differ only
// by the relay. The remote case starts the broker CLI and a second gateway (--namesrv) in two more
// processes. The measuring client runs here (on the packages' dist builds too), the floor server and the idle clients in their own processes.
// stderr adds per case: CPU µs per message of this process, of the server process and of its busy threads.
// w1 = sequential SYNC sends; w256 = 256 SYNC sends in flight.
// Environment: BENCH_W1_MSGS (5000), BENCH_W256_MSGS (100000), BENCH_MAX_MS (30000), BENCH_IDLE (5000),
// BENCH_ONLY (comma list of case-name prefixes), BENCH_GW_NODE_ARGS (extra node flags for the gateway process).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Producer } from '@rocketmq-edge/core';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startBrokerProcess } from './lib/broker-process.js';
import { REPO_ROOT as ROOT, builtFile, startProcess, type Proc } from './lib/process.js';
import { randomBody, report, runCase } from './lib/runner.js';

const W1 = Number(process.env.BENCH_W1_MSGS ?? 5000);
const W256 = Number(process.env.BENCH_W256_MSGS ?? 100_000);
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 30_000);
const IDLE = Number(process.env.BENCH_IDLE ?? 5000);
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const want = (...names: string[]) => ONLY.length === 0 || names.some((n) => ONLY.some((p) => n.startsWith(p)));
const bodies = Array.from({ length: 256 }, () => randomBody(1024));
const TOKEN = 'bench-token';

/** CPU time (user + system) of a process or one of its threads, in µs, from /proc (Linux); undefined elsewhere. */
function cpuUs(pid: number, tid?: number): number | undefined {
  try {
    const f = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return undefined;
  }
}

/** CPU µs of each thread of a process, by thread id (Linux; empty elsewhere or without a process). */
function threadCpu(pid: number | undefined): Map<number, { name: string; us: number }> {
  const out = new Map<number, { name: string; us: number }>();
  if (pid === undefined) return out;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const us = cpuUs(pid, Number(t));
      if (us !== undefined) out.set(Number(t), { name: readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(), us });
    }
  } catch { /* not Linux */ }
  return out;
}

/** Server process whose CPU time the producer cases report on stderr (the gateway, which hosts the broker). */
let serverPid: number | undefined;

/** runCase + report, plus CPU µs per operation of this process and the server process on stderr. */
async function measured(opts: Parameters<typeof runCase>[0]): Promise<void> {
  const ops = opts.msgs + (opts.warmup ?? 0);
  const s0 = serverPid !== undefined ? cpuUs(serverPid) : undefined;
  const t0 = threadCpu(serverPid);
  const c0 = process.cpuUsage();
  const r = await runCase(opts);
  const c = process.cpuUsage(c0);
  const s1 = serverPid !== undefined ? cpuUs(serverPid) : undefined;
  const t1 = threadCpu(serverPid);
  report(r);
  const done = Math.min(ops, r.details.completed + (opts.warmup ?? 0));
  // Threads of the server process that did real work (the main loop, a broker worker, GC helpers).
  const busy = [...t1].map(([tid, t]) => ({ name: t.name, perOp: (t.us - (t0.get(tid)?.us ?? 0)) / done }))
    .filter((t) => t.perOp >= 1).sort((a, b) => b.perOp - a.perOp).map((t) => `${t.name} ${t.perOp.toFixed(1)}`);
  process.stderr.write(`  ${opts.name}: cpu µs/op client ${((c.user + c.system) / done).toFixed(1)}` +
    (s0 !== undefined && s1 !== undefined ? `, server process ${((s1 - s0) / done).toFixed(1)}` : '') +
    (busy.length ? ` (threads: ${busy.join(', ')})` : '') + '\n');
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round((Number(m?.[1] ?? 0) / 1024) * 10) / 10;
}

async function producerCases(prefix: string, transport: import('@rocketmq-edge/core').Transport, windows: (1 | 256)[] = [1, 256]): Promise<void> {
  const producer = new Producer({ transport, producerGroup: `bench_${prefix.replace(/-/g, '_')}`, sendMsgTimeout: 10_000 });
  try {
    await producer.start();
    const topic = `BenchWs_${prefix.replace(/-/g, '_')}`;
    await producer.send({ topic, body: bodies[0]! });
    const op = (i: number) => producer.send({ topic, body: bodies[i % bodies.length]! });
    for (const w of windows) {
      if (!want(`${prefix}-w${w}`)) continue;
      await measured(w === 1
        ? { name: `${prefix}-w1`, op, window: 1, warmup: 500, msgs: W1, maxMs: MAX_MS }
        : { name: `${prefix}-w256`, op, window: 256, warmup: 2560, msgs: W256, maxMs: MAX_MS });
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

const GATEWAY_ARGS = [
  builtFile('gateway', 'cli.js'),
  '--port', '0', '--no-dev', '--no-demo', '--static-token', `${TOKEN}=*`,
  '--rate', '100000000', '--burst', '100000000', '--max-in-flight', '65536', '--log-level', 'warn',
];
const gwNodeArgs = (process.env.BENCH_GW_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The default deployment: one process = gateway + embedded name server + broker (ASYNC flush). */
async function startGatewayProcess(extra: string[]): Promise<Proc & { wsUrl: string; namesrvAddr: string; embeddedBroker?: string }> {
  const p = await startProcess([...gwNodeArgs, ...GATEWAY_ARGS, ...extra], /^\{"event":"ready"/, 'gateway');
  const ready = JSON.parse(p.line) as { wsUrl: string; namesrvAddr: string; embeddedBroker?: string };
  return { ...p, wsUrl: ready.wsUrl, namesrvAddr: ready.namesrvAddr, embeddedBroker: ready.embeddedBroker };
}

const gwData = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-gw-'));
let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
try {
  gateway = await startGatewayProcess(['--data', gwData, '--flush', 'async']);
  const { wsUrl, namesrvAddr } = gateway;
  serverPid = gateway.child.pid;
  // The default (--embedded-broker auto) resolves by core count; the other mode is measured as an extra case.
  const other = gateway.embeddedBroker === 'thread' ? 'inline' : 'thread';
  process.stderr.write(`  default gateway: --embedded-broker ${gateway.embeddedBroker} (${availableParallelism()} cores)\n`);
  if (want('ws-gateway-w1', 'ws-gateway-w256')) await producerCases('ws-gateway', new WebSocketTransport({ url: wsUrl, token: TOKEN }));
  if (want('tcp-direct-w1', 'tcp-direct-w256')) await producerCases('tcp-direct', new TcpTransport({ namesrvAddr }));
  if (want('ws-gateway-remote-w256')) {
    // Extra: the gateway relaying to a broker in another process (gateway CLI --namesrv → broker CLI).
    const broker = await startBrokerProcess({ flush: 'async' });
    const remoteData = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-gw-remote-'));
    let remote: Proc | undefined;
    try {
      const r = await startGatewayProcess(['--namesrv', broker.namesrvAddr, '--data', remoteData]);
      remote = r;
      serverPid = r.child.pid; // the relay only: its broker runs in the broker process
      await producerCases('ws-gateway-remote', new WebSocketTransport({ url: r.wsUrl, token: TOKEN }), [256]);
    } finally {
      serverPid = gateway.child.pid;
      await remote?.stop();
      await broker.stop();
      await rm(remoteData, { recursive: true, force: true });
    }
  }
  if (want(`ws-gateway-${other}-w1`, `ws-gateway-${other}-w256`)) {
    // Extra: the embedded broker in the mode the default did not pick (own worker thread / gateway's event loop).
    const otherData = await mkdtemp(join(tmpdir(), `rmq-edge-bench-gw-${other}-`));
    let p: Proc | undefined;
    try {
      const r = await startGatewayProcess(['--data', otherData, '--flush', 'async', '--embedded-broker', other]);
      p = r;
      serverPid = r.child.pid;
      await producerCases(`ws-gateway-${other}`, new WebSocketTransport({ url: r.wsUrl, token: TOKEN }));
    } finally {
      serverPid = gateway.child.pid;
      await p?.stop();
      await rm(otherData, { recursive: true, force: true });
    }
  }
  if (want('ws-floor-w1', 'ws-floor-w256')) await floorCases();
  if (want(`gateway-idle-${IDLE}`)) {
    const pid = gateway.child.pid!;
    const before = rssMb(pid);
    const clients = await startProcess(['bench/peers-idle-clients.mjs', '--url', wsUrl, '--token', TOKEN, '--count', String(IDLE)],
      /^READY /, 'idle clients');
    const [, ok, failed] = clients.line.split(' ').map(Number);
    await new Promise((r) => setTimeout(r, 2000));
    const rss = rssMb(pid);
    process.stdout.write(JSON.stringify({ case: `gateway-idle-${IDLE}`, rss_mb: rss, connections: ok }) + '\n');
    process.stderr.write(`  gateway-idle: rss before ${before} MB, after ${rss} MB, ${ok} connected, ${failed} failed, ` +
      `${Math.round(((rss - before) * 1024) / Math.max(1, ok!))} KB per connection\n`);
    await clients.stop();
  }
} finally {
  await gateway?.stop();
  await rm(gwData, { recursive: true, force: true });
}
