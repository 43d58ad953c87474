// Helpers for this package's tests (not exported): a scriptable fake name server / broker over TCP.
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
