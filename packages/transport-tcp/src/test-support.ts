// Helpers for this package's integration tests (not exported from the package).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  NAMESRV_TARGET,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  parseLenientJson,
} from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BROKER_CLI = join(REPO_ROOT, 'packages/broker/src/cli.ts');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fresh directory under os.tmpdir(), removed after the test. */
export async function tempDir(t: TestContext, prefix = 'rmq-edge-tcp-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface BrokerProcess {
  child: ChildProcess;
  namesrvAddr: string;
  brokerAddr: string;
  namesrvPort: number;
  brokerPort: number;
  output: () => string;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, wait up to 5 s, then SIGKILL. */
  stop(): Promise<void>;
}

const portOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));

/**
 * Spawns the broker CLI (packages/broker/src/cli.ts; ports 0 = any free port) and waits for its
 * "ready" JSON line. Killed after the test whatever happens.
 */
export async function spawnBrokerCli(
  t: TestContext,
  opts: { dataDir: string; namesrvPort?: number; brokerPort?: number; flush?: 'sync' | 'async'; name?: string; namesrv?: string },
): Promise<BrokerProcess> {
  const args = [
    '--conditions=source', '--import', 'tsx', BROKER_CLI,
    '--namesrv-port', String(opts.namesrvPort ?? 0),
    '--broker-port', String(opts.brokerPort ?? 0),
    '--data', opts.dataDir,
  ];
  if (opts.flush) args.push('--flush', opts.flush);
  if (opts.name) args.push('--name', opts.name);
  if (opts.namesrv) args.push('--namesrv', opts.namesrv);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.after(kill);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const ready = await new Promise<{ namesrvAddr: string; brokerAddr: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker CLI not ready after 20 s:\n${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n', out.indexOf(line))) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`broker CLI exited early (code ${child.exitCode}, signal ${child.signalCode}):\n${out}`));
    });
  });
  return {
    child,
    namesrvAddr: ready.namesrvAddr,
    brokerAddr: ready.brokerAddr,
    namesrvPort: portOf(ready.namesrvAddr),
    brokerPort: portOf(ready.brokerAddr),
    output: () => out,
    kill,
    stop,
  };
}

/**
 * Creates `topic` on a broker with UPDATE_AND_CREATE_TOPIC (17), as mqadmin updateTopic does,
 * and waits until the name server's route lists `expectBrokers` for it.
 */
export async function createTopic(
  namesrvAddr: string,
  brokerAddrs: string[],
  topic: string,
  opts: { queues?: number; expectBrokers?: number; timeoutMs?: number } = {},
): Promise<void> {
  const transport = new TcpTransport({ namesrvAddr });
  const client = new RemotingClient(transport);
  try {
    const queues = String(opts.queues ?? 4);
    for (const addr of brokerAddrs) {
      const res = await client.invoke(
        addr,
        createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
          topic,
          defaultTopic: 'TBW102',
          readQueueNums: queues,
          writeQueueNums: queues,
          perm: '6',
          topicFilterType: 'SINGLE_TAG',
          topicSysFlag: '0',
          order: 'false',
        }),
        3000,
      );
      if (res.code !== ResponseCode.SUCCESS) throw new Error(`UPDATE_AND_CREATE_TOPIC on ${addr}: ${res.code} ${res.remark}`);
    }
    const want = opts.expectBrokers ?? brokerAddrs.length;
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const res = await client.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 3000);
      if (res.code === ResponseCode.SUCCESS && res.body) {
        const route = parseLenientJson(new TextDecoder().decode(res.body)) as { queueDatas?: unknown[] };
        if ((route.queueDatas?.length ?? 0) >= want) return;
      }
      if (Date.now() > deadline) throw new Error(`route of ${topic} does not list ${want} brokers`);
      await sleep(100);
    }
  } finally {
    await client.close();
    await transport.close();
  }
}

/** A plain Uint8Array view (readAll may hand out Buffers; deepStrictEqual tells them apart). */
export const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
