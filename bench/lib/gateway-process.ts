// Runs the `rocketmq-edge` command (the built gateway CLI) as a benchmark target: by default the
// deployment users start, gateway + embedded name server + broker in one process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtFile, startProcess, type Proc } from './process.js';

/** The static token every bench gateway accepts, for every topic. */
export const TOKEN = 'bench-token';

/** Flags of every bench gateway: any free port, no dev token, no demo page, one static token, warnings only. */
const BASE_ARGS = ['--port', '0', '--no-dev', '--no-demo', '--static-token', `${TOKEN}=*`, '--log-level', 'warn'];

/**
 * Per-connection limits lifted, so one measuring connection is never throttled (the throughput
 * cases). Without these the gateway's own defaults apply (2,000 requests/s, burst 4,000, 1,024 in
 * flight per connection).
 */
export const NO_LIMITS = ['--rate', '100000000', '--burst', '100000000', '--max-in-flight', '65536'];

export interface GatewayProcess extends Proc {
  pid: number;
  /** ws://127.0.0.1:PORT/rmq */
  wsUrl: string;
  /** http://127.0.0.1:PORT (health, /metrics) */
  httpUrl: string;
  namesrvAddr: string;
  /** Where the embedded broker runs; undefined with --namesrv. */
  embeddedBroker?: 'inline' | 'thread';
}

/**
 * Starts the built CLI with BASE_ARGS, a fresh data dir under os.tmpdir() (removed by stop()) and
 * `extra` flags (later flags win), and waits for its ready line. `nodeArgs` go to node itself.
 */
export async function startGatewayProcess(extra: string[], nodeArgs: string[] = []): Promise<GatewayProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-gw-'));
  const removeData = () => rm(dataDir, { recursive: true, force: true });
  try {
    const p = await startProcess([...nodeArgs, builtFile('gateway', 'cli.js'), ...BASE_ARGS, '--data', dataDir, ...extra],
      /^\{"event":"ready"/, 'gateway');
    const ready = JSON.parse(p.line) as { url: string; wsUrl: string; namesrvAddr: string; embeddedBroker?: 'inline' | 'thread' };
    return {
      ...p,
      pid: p.child.pid!,
      wsUrl: ready.wsUrl,
      httpUrl: ready.url.replace(/\/$/, ''),
      namesrvAddr: ready.namesrvAddr,
      ...(ready.embeddedBroker ? { embeddedBroker: ready.embeddedBroker } : {}),
      stop: async () => { await p.stop(); await removeData(); },
    };
  } catch (e) {
    await removeData();
    throw e;
  }
}
