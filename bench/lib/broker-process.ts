// Runs the embedded name server + broker in its own process (the broker CLI), as a benchmark
// target: the client under test then does not share its event loop with the broker.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BROKER_CLI = join(REPO_ROOT, 'packages/broker/src/cli.ts');

export interface BrokerProcess {
  namesrvAddr: string;
  brokerAddr: string;
  child: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * Spawns `packages/broker/src/cli.ts` on free loopback ports with a fresh data dir under
 * os.tmpdir(), and waits for its ready line. `extraArgs` go to the CLI as they are.
 */
export async function startBrokerProcess(opts: { flush: 'sync' | 'async'; extraArgs?: string[] }): Promise<BrokerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-'));
  const child = spawn(
    process.execPath,
    [
      '--conditions=source', '--import', 'tsx', BROKER_CLI,
      '--namesrv-port', '0', '--broker-port', '0', '--data', dataDir, '--flush', opts.flush,
      ...(opts.extraArgs ?? []),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stderr!.on('data', (d) => (out = (out + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const ready = await new Promise<{ namesrvAddr: string; brokerAddr: string }>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`broker CLI not ready after 30 s:\n${out}`)), 30_000);
      child.stdout!.on('data', (d) => {
        stdout += d;
        const nl = stdout.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(stdout.slice(0, nl)));
          } catch (e) {
            reject(e);
          }
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`broker CLI exited early:\n${out}`));
      });
    });
    return { namesrvAddr: ready.namesrvAddr, brokerAddr: ready.brokerAddr, child, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
