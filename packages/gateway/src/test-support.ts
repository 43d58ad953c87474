// Helpers for this package's tests (not exported): a scriptable fake name server / broker over TCP.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { createServer, type Server, type Socket } from 'node:net';
import {
  FrameDecoder,
  ResponseCode,
  createResponse,
  decodeCommand,
  encodeFrame,
  isOneway,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';

export type FakeHandler = (cmd: RemotingCommand, socket: Socket) => RemotingCommand | undefined | 'silent';

export interface FakeServer {
  addr: string;
  port: number;
  received: RemotingCommand[];
  sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function startFakeRemoting(handler: FakeHandler, port = 0): Promise<FakeServer> {
  const received: RemotingCommand[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const dec = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const f of dec.push(chunk)) {
        const cmd = decodeCommand(f);
        received.push(cmd);
        const r = handler(cmd, socket);
        if (r === 'silent' || isOneway(cmd)) continue;
        socket.write(encodeFrame(r ?? createResponse(cmd, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${cmd.code} not supported`)));
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const p = (server.address() as { port: number }).port;
  return {
    addr: `127.0.0.1:${p}`,
    port: p,
    received,
    sockets,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

const utf8 = new TextEncoder();

/** A route JSON body like the 4.9.8 name server's (bare integer keys when `bare`). */
export function routeBody(brokers: { name: string; addr: string }[], bare = false): Uint8Array {
  const bds = brokers.map((b) => `{"brokerAddrs":{${bare ? '0' : '"0"'}:"${b.addr}"},"brokerName":"${b.name}","cluster":"DefaultCluster"}`);
  const qds = brokers.map((b) => `{"brokerName":"${b.name}","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}`);
  return utf8.encode(`{"brokerDatas":[${bds.join(',')}],"filterServerTable":{"${brokers[0]?.addr ?? 'x'}":["10.0.0.9:1"]},"queueDatas":[${qds.join(',')}]}`);
}

export function clusterInfoBody(brokers: { name: string; addr: string }[]): Uint8Array {
  const table = brokers.map((b) => `"${b.name}":{"brokerAddrs":{0:"${b.addr}"},"brokerName":"${b.name}","cluster":"DefaultCluster"}`);
  return utf8.encode(`{"brokerAddrTable":{${table.join(',')}},"clusterAddrTable":{"DefaultCluster":[${brokers.map((b) => `"${b.name}"`).join(',')}]}}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------- real broker processes ----------

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface BrokerProcess {
  child: ChildProcess;
  namesrvAddr: string;
  brokerAddr: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Spawns packages/broker/src/cli.ts (ports 0) and waits for its ready JSON line. */
export async function spawnBroker(
  t: TestContext,
  opts: { dataDir: string; name?: string; namesrv?: string; brokerPort?: number },
): Promise<BrokerProcess> {
  const args = ['--conditions=source', '--import', 'tsx', 'packages/broker/src/cli.ts',
    '--namesrv-port', '0', '--broker-port', String(opts.brokerPort ?? 0), '--data', opts.dataDir];
  if (opts.name) args.push('--name', opts.name);
  if (opts.namesrv) args.push('--namesrv', opts.namesrv, '--no-namesrv');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const kill = async () => { if (alive()) child.kill('SIGKILL'); await exited; };
  const stop = async () => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  t.after(kill);
  const ready = await new Promise<{ namesrvAddr: string; brokerAddr: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker CLI not ready:\n${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{') && l.endsWith('}'));
      if (line) { clearTimeout(timer); resolve(JSON.parse(line)); }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`broker CLI exited:\n${out}`)); });
  });
  return { child, namesrvAddr: opts.namesrv ?? ready.namesrvAddr, brokerAddr: ready.brokerAddr, stop, kill };
}
