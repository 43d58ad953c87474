// Runs the embedded name server + broker in its own process (the broker CLI), as a benchmark
// target: the client under test then does not share its event loop with the broker.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
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

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Spawns `packages/broker/src/cli.ts` on free loopback ports with a fresh data dir. */
export async function startBrokerProcess(opts: { flush: 'sync' | 'async' }): Promise<BrokerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-'));
  const namesrvPort = await freePort();
  const brokerPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--conditions=source', '--import', 'tsx', BROKER_CLI,
      '--namesrv-port', String(namesrvPort), '--broker-port', String(brokerPort),
      '--data', dataDir, '--flush', opts.flush,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  try {
    await Promise.race([
      Promise.all([waitForPort(namesrvPort), waitForPort(brokerPort)]),
      exited.then(() => {
        throw new Error(`broker CLI exited early:\n${stderr}`);
      }),
    ]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { namesrvAddr: `127.0.0.1:${namesrvPort}`, brokerAddr: `127.0.0.1:${brokerPort}`, child, stop };
}
