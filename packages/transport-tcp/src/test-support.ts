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
import { withClient } from '@rocketmq-edge/broker/testing';
import { TcpTransport } from './index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BROKER_CLI = join(REPO_ROOT, 'packages/broker/src/cli.ts');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fresh directory under os.tmpdir(), removed after the test. */
export async function tempDir(t: TestContext, prefix = 'rmq-edge-tcp-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanupStack(t)(() => rm(dir, { recursive: true, force: true }));
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
  cleanupStack(t)(kill);
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

/** A RemotingClient over a fresh TcpTransport for the duration of `fn` (the broker's test helper). */
export { withClient };

export interface RouteData {
  brokerDatas: { brokerName: string; brokerAddrs: Record<string, string> }[];
  queueDatas: { brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }[];
}

/** GET_ROUTEINFO_BY_TOPIC (105): the route, or undefined when the name server answers an error. */
export function getRoute(client: RemotingClient, topic: string): Promise<RouteData | undefined> {
  return client.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 3000).then((res) =>
    res.code === ResponseCode.SUCCESS && res.body ? (parseLenientJson(new TextDecoder().decode(res.body)) as RouteData) : undefined,
  );
}

/**
 * Creates `topic` on brokers with UPDATE_AND_CREATE_TOPIC (17), as mqadmin updateTopic does, and
 * waits until the name server's route lists `expectBrokers` (default: all of them) for it.
 */
export function createTopic(
  namesrvAddr: string,
  brokerAddrs: string[],
  topic: string,
  opts: { queues?: number; expectBrokers?: number; timeoutMs?: number } = {},
): Promise<void> {
  return withClient(namesrvAddr, async (client) => {
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
      const route = await getRoute(client, topic);
      if ((route?.queueDatas?.length ?? 0) >= want) return;
      if (Date.now() > deadline) throw new Error(`route of ${topic} does not list ${want} brokers`);
      await sleep(100);
    }
  });
}

/** QUERY_CONSUMER_OFFSET (14): the committed offset, or undefined (QUERY_NOT_FOUND). */
export async function queryConsumerOffset(
  client: RemotingClient,
  brokerAddr: string,
  consumerGroup: string,
  topic: string,
  queueId: number,
): Promise<number | undefined> {
  const res = await client.invoke(
    brokerAddr,
    createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup, queueId: String(queueId), topic }),
    3000,
  );
  if (res.code === ResponseCode.QUERY_NOT_FOUND) return undefined;
  if (res.code !== ResponseCode.SUCCESS) throw new Error(`QUERY_CONSUMER_OFFSET: ${res.code} ${res.remark}`);
  return Number(res.extFields?.offset);
}

/** A plain Uint8Array view (readAll may hand out Buffers; deepStrictEqual tells them apart). */
export const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const stacks = new WeakMap<TestContext, (fn: () => unknown) => void>();

/**
 * The test's cleanup stack: functions run last-in first-out after the test (node:test runs
 * `t.after` hooks in registration order, which would stop a broker before the clients using it).
 * The helpers here (tempDir, spawnBrokerCli) register on the same stack.
 */
export function cleanupStack(t: TestContext): (fn: () => unknown) => void {
  let defer = stacks.get(t);
  if (defer) return defer;
  const fns: (() => unknown)[] = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of fns.reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  });
  defer = (fn) => void fns.push(fn);
  stacks.set(t, defer);
  return defer;
}
