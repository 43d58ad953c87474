// Runs the embedded name server + broker in its own process (the broker CLI), as a benchmark
// target: the client under test then does not share its event loop with the broker.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtFile, startProcess } from './process.js';

export interface BrokerProcess {
  namesrvAddr: string;
  brokerAddr: string;
  child: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * Spawns the built broker CLI (`packages/broker/dist/cli.js`) on free loopback ports with a fresh data dir under
 * os.tmpdir(), and waits for its ready line (JSON). `extraArgs` go to the CLI as they are.
 */
export async function startBrokerProcess(opts: { flush: 'sync' | 'async'; extraArgs?: string[] }): Promise<BrokerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-'));
  const removeData = () => rm(dataDir, { recursive: true, force: true });
  try {
    const p = await startProcess([
      builtFile('broker', 'cli.js'),
      '--namesrv-port', '0', '--broker-port', '0', '--data', dataDir, '--flush', opts.flush,
      ...(opts.extraArgs ?? []),
    ], /^\{/, 'broker CLI', 30_000);
    const { namesrvAddr, brokerAddr } = JSON.parse(p.line) as { namesrvAddr: string; brokerAddr: string };
    return { namesrvAddr, brokerAddr, child: p.child, stop: async () => { await p.stop(); await removeData(); } };
  } catch (e) {
    await removeData();
    throw e;
  }
}
