// The gateway-flood-* cases of bench/ws.ts: what 100 clients that write as fast as they can and
// never read do to a gateway, and to a well-behaved client beside them. One JSON line per case:
//   {"case":"gateway-flood-send","flood_connections":100,"flood_ms":3000,"gateway_exited":false,
//    "rss_before_mb":…,"rss_peak_mb":…,"rss_end_mb":…,"rss_after_mb":…,"rss_growth_mb_per_s":…,"stopped_by_rss":false,
//    "good_msgs":…,"good_msgs_per_s":…,"good_p50_ms":…,"good_p99_ms":…,"good_errors":…,
//    "flood_sent":…,"flood_sent_per_s":…,"flood_closed":{"<close code>":n},"flood_closed_while_flooding":n,"flood_open_at_end":n}
// Each case starts a fresh gateway process (the built CLI with its embedded broker and the
// gateway's default per-connection limits), reads its VmRSS every 100 ms, and stops the flood
// early once RSS passes the cap. Details (what grew) go to stderr.
import { execFileSync } from 'node:child_process';
import { Producer } from '@rocketmq-edge/core';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGatewayProcess, TOKEN, type GatewayProcess } from './lib/gateway-process.js';
import { fdCount, ioBytes, mb, statusKb, threadCpu } from './lib/proc-stats.js';
import { startProcess } from './lib/process.js';
import { randomBody } from './lib/runner.js';
import { percentile, round, sortedCopy } from './lib/stats.js';

export type FloodMode = 'send' | 'ping-auth' | 'ping-unauth';

export interface FloodOptions {
  mode: FloodMode;
  /** Flooding connections (default 100). */
  connections: number;
  /** How long the flood (and the good client) run. */
  ms: number;
  /** How long the flood clients read afterwards to learn close codes. */
  drainMs: number;
  /** Stop the flood once the gateway's RSS passes this. */
  maxRssMb: number;
  /** Flags appended to the gateway's (e.g. --embedded-broker thread, --rate …). */
  gatewayArgs: string[];
  gatewayNodeArgs: string[];
}

const TOPIC = 'BenchFlood';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One window-1 producer sending until `until()` says stop; its latencies and errors. */
async function goodClient(producer: Producer, until: () => boolean) {
  const body = randomBody(1024);
  const lat: number[] = [];
  let errors = 0;
  let firstError: unknown;
  const t0 = performance.now();
  while (!until() && lat.length + errors < 1_000_000) {
    const s = performance.now();
    try {
      await producer.send({ topic: TOPIC, body });
      lat.push(performance.now() - s);
    } catch (e) {
      errors++;
      firstError ??= e;
    }
  }
  const elapsed = performance.now() - t0;
  const sorted = sortedCopy(lat);
  return {
    msgs: lat.length,
    msgs_per_s: round((lat.length / elapsed) * 1000, 1),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(percentile(sorted, 100)),
    errors,
    firstError,
  };
}

/** The gateway's own view of its memory from /metrics (prom-client process metrics) and when it answered, or why not. */
async function gatewayMemory(gw: GatewayProcess, timeoutMs: number, floodEnd: () => number | undefined): Promise<string> {
  try {
    const text = await (await fetch(`${gw.httpUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })).text();
    const end = floodEnd();
    const get = (name: string) => Number(new RegExp(`^(?:[a-z_]*_)?${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1]);
    const mib = (name: string) => `${Math.round(get(name) / 1048576)} MB`;
    const refusals = [...text.matchAll(/^rocketmq_edge_refusals_total\{reason="([^"]+)"\} (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    const framesIn = [...text.matchAll(/^rocketmq_edge_frames_in_total\{[^}]*\} (\S+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    return `/metrics ${end === undefined ? 'before the flood ended' : `${Math.round(performance.now() - end)} ms after the flood ended`}: ` +
      `heap used ${mib('nodejs_heap_size_used_bytes')}, external ${mib('nodejs_external_memory_bytes')}, ` +
      `event loop lag ${Math.round(get('nodejs_eventloop_lag_seconds') * 1000)} ms, frames in ${framesIn}, ` +
      `refusals ${refusals.length ? refusals.join(', ') : 'none'}`;
  } catch (e) {
    return `/metrics unanswered within ${timeoutMs} ms (${(e as Error).name})`;
  }
}

/** Bytes in the kernel's queues of the gateway's established TCP connections on `port`: unread by it, and not yet taken by the peer. */
function socketQueues(port: number): string {
  try {
    const out = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', timeout: 5000 });
    let recv = 0;
    let send = 0;
    for (const l of out.split('\n')) {
      const [r, s] = l.trim().split(/\s+/);
      if (r === undefined || s === undefined || r === '') continue;
      recv += Number(r);
      send += Number(s);
    }
    return `kernel socket queues: ${(recv / 1048576).toFixed(1)} MB unread by the gateway, ${(send / 1048576).toFixed(1)} MB unsent to clients`;
  } catch {
    return 'kernel socket queues: ss unavailable';
  }
}

export async function floodCase(name: string, o: FloodOptions): Promise<void> {
  const gw = await startGatewayProcess(o.gatewayArgs, o.gatewayNodeArgs);
  const pid = gw.pid;
  let gatewayExited = false;
  gw.child.once('exit', () => { gatewayExited = true; });
  const transport = new WebSocketTransport({ url: gw.wsUrl, token: TOKEN });
  const producer = new Producer({ transport, producerGroup: 'bench_flood_good', sendMsgTimeout: 5000 });
  let flood: Awaited<ReturnType<typeof startProcess>> | undefined;
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    await producer.start();
    await producer.send({ topic: TOPIC, body: randomBody(1024) }); // creates the topic; the flood looks up its route
    flood = await startProcess(['bench/peers-flood-clients.mjs', '--url', gw.wsUrl, '--token', TOKEN, '--mode', o.mode,
      '--topic', TOPIC, '--count', String(o.connections), '--max-ms', String(o.ms + 5000), '--drain-ms', String(o.drainMs)],
    /^READY /, 'flood clients');
    flood.child.stdin!.on('error', () => {}); // STOP after the flood clients ended by themselves
    const [, open, failed] = flood.line.split(' ').map(Number);
    let resultLine: string | undefined;
    let out = '';
    const floodDone = new Promise<void>((resolve) => {
      flood!.child.stdout!.on('data', (d) => {
        out += d;
        resultLine ??= out.split('\n').find((l) => l.startsWith('{'));
        if (resultLine) resolve();
      });
      flood!.child.once('exit', () => resolve());
    });

    await sleep(500); // let the gateway settle after accepting the connections
    const rssBefore = statusKb(pid, 'VmRSS');
    const fdBefore = fdCount(pid);
    let peak = rssBefore ?? 0;
    let stoppedByRss = false;
    let floodStopped = false;
    const stopFlood = () => { if (!floodStopped) { floodStopped = true; flood!.child.stdin!.write('STOP\n'); } };
    const timeline: (number | null)[] = []; // RSS each second from GO, through the drain and after (stderr)
    let ticks = 0;
    sampler = setInterval(() => {
      const kb = statusKb(pid, 'VmRSS');
      if (ticks++ % 10 === 0) timeline.push(mb(kb));
      if (kb === undefined) return;
      peak = Math.max(peak, kb);
      if (kb > o.maxRssMb * 1024) { stoppedByRss = true; stopFlood(); }
    }, 100);
    const cpu0 = threadCpu(pid).get(pid)?.us;
    const io0 = ioBytes(pid);
    const t0 = performance.now();
    const deadline = t0 + o.ms;
    let floodEnd: number | undefined;
    flood.child.stdin!.write('GO\n');
    // Asked while the flood runs; a swamped gateway answers late or not at all.
    const memoryView = sleep(o.ms * 0.8).then(() => gatewayMemory(gw, o.ms * 0.2 + 8000, () => floodEnd));
    const good = goodClient(producer, () => floodStopped || gatewayExited || performance.now() >= deadline);
    while (!floodStopped && !gatewayExited && performance.now() < deadline) await sleep(20);
    floodEnd = performance.now();
    const floodMs = floodEnd - t0;
    const rssEnd = statusKb(pid, 'VmRSS');
    const anonEnd = statusKb(pid, 'RssAnon');
    const fdEnd = fdCount(pid);
    const cpu1 = threadCpu(pid).get(pid)?.us;
    const io1 = ioBytes(pid);
    const queues = socketQueues(Number(new URL(gw.wsUrl).port));
    stopFlood();
    const g = await good;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([floodDone, new Promise((r) => { timer = setTimeout(r, o.drainMs + 15_000); })]);
    clearTimeout(timer);
    await flood.stop();
    await sleep(1000);
    const rssAfter = statusKb(pid, 'VmRSS');
    clearInterval(sampler);
    sampler = undefined;

    const f = resultLine ? JSON.parse(resultLine) as {
      sent: number; sent_mb: number; flood_ms: number; closed: Record<string, number>;
      closed_while_flooding: number; open_at_end: number; drained_mb: number;
    } : undefined;
    const line = {
      case: name,
      flood_connections: open,
      flood_ms: Math.round(floodMs),
      gateway_exited: gatewayExited,
      rss_before_mb: mb(rssBefore),
      rss_peak_mb: mb(peak),
      rss_end_mb: mb(rssEnd),
      rss_after_mb: mb(rssAfter),
      rss_growth_mb_per_s: rssBefore !== undefined && rssEnd !== undefined ? round((rssEnd - rssBefore) / 1024 / (floodMs / 1000), 1) : null,
      stopped_by_rss: stoppedByRss,
      good_msgs: g.msgs,
      good_msgs_per_s: g.msgs_per_s,
      good_p50_ms: g.p50_ms,
      good_p99_ms: g.p99_ms,
      good_errors: g.errors,
      flood_sent: f?.sent ?? null,
      flood_sent_per_s: f ? round(f.sent / (f.flood_ms / 1000), 0) : null,
      flood_closed: f?.closed ?? null,
      flood_closed_while_flooding: f?.closed_while_flooding ?? null,
      flood_open_at_end: f?.open_at_end ?? null,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
    const relayCore = cpu0 !== undefined && cpu1 !== undefined ? `${Math.round((cpu1 - cpu0) / floodMs / 10)} % of a core` : '?';
    process.stderr.write(`  ${name}: gateway --embedded-broker ${gw.embeddedBroker}; ${open} flood connections (${failed} failed to open); ` +
      `during the flood: gateway main thread ${relayCore}, read ${io0 && io1 ? ((io1.read - io0.read) / 1048576).toFixed(0) : '?'} MB ` +
      `and wrote ${io0 && io1 ? ((io1.written - io0.written) / 1048576).toFixed(0) : '?'} MB through syscalls (sockets, and files of the broker); ` +
      `at its end: RssAnon ${mb(anonEnd)} MB, fds ${fdBefore} → ${fdEnd}, ${queues}; ${await memoryView}; flood wrote ${f?.sent_mb ?? '?'} MB, read back ${f?.drained_mb ?? '?'} MB in ${o.drainMs} ms of draining; ` +
      `good client max ${g.max_ms} ms${g.firstError ? `, first error: ${String(g.firstError)}` : ''}; ` +
      `RSS MB each second from the start of the flood: ${timeline.join(' ')}\n`);
  } finally {
    if (sampler) clearInterval(sampler);
    await flood?.stop();
    await producer.shutdown().catch(() => {});
    await transport.close().catch(() => {});
    await gw.stop();
  }
}
