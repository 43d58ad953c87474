// Helpers for this package's tests (not exported): a scriptable fake name server / broker over TCP.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import {
  FrameDecoder,
  encodeCommand,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  createResponse,
  decodeCommand,
  encodeFrame,
  isOneway,
  isResponse,
  MessageConst,
  encodeProperties,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { decodeEnvelope, encodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import WebSocket from 'ws';

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

// ---------- a fake cluster, the gateway command, raw HTTP ----------

/** Flag value (`h` of a V2 send) that makes a fake broker of startFakeCluster never answer. */
export const SILENT_FLAG = '777';

/**
 * A fake name server + brokers (default one, "broker-a") answering route lookups, cluster info and
 * every request with SUCCESS, except sends whose flag is SILENT_FLAG (never answered).
 */
export async function startFakeCluster(t: TestContext, names = ['broker-a']): Promise<{ namesrv: FakeServer; broker: FakeServer; brokers: FakeServer[] }> {
  const reply: FakeHandler = (cmd) =>
    cmd.extFields?.h === SILENT_FLAG ? 'silent' : createResponse(cmd, ResponseCode.SUCCESS, undefined, { msgId: 'M', queueId: '0', queueOffset: '0' });
  const brokers = await Promise.all(names.map(() => startFakeRemoting(reply)));
  const list = names.map((name, i) => ({ name, addr: brokers[i]!.addr }));
  const namesrv = await startFakeRemoting((cmd) => {
    if (cmd.code === RequestCode.GET_ROUTEINFO_BY_TOPIC) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, routeBody(list));
    if (cmd.code === RequestCode.GET_BROKER_CLUSTER_INFO) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, clusterInfoBody(list));
    return undefined;
  });
  t.after(async () => { for (const b of brokers) await b.close(); await namesrv.close(); });
  return { namesrv, broker: brokers[0]!, brokers };
}

export interface CliReady {
  event: 'ready';
  url: string;
  wsUrl: string;
  token: string | null;
  dev: boolean;
  devReason?: string;
  [k: string]: unknown;
}

/** Runs the rocketmq-edge command (packages/gateway/bin) and waits for its ready line; killed after the test. */
export async function spawnGatewayCli(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; ready: CliReady; readyLine: string; output(): string }> {
  const bin = fileURLToPath(new URL('../bin/rocketmq-edge.mjs', import.meta.url));
  const child = spawn(process.execPath, [bin, '--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  // SIGTERM first: without a build the bin runs the CLI in a child of its own, which only a
  // forwarded signal reaches (a SIGKILLed wrapper would leave it running).
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway command not ready:\n${out}`)), 30_000);
    const look = () => {
      const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'));
      if (line) { clearTimeout(timer); resolve(line); }
    };
    child.stdout!.on('data', look);
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`gateway command exited:\n${out}`)); });
  });
  return { child, ready: JSON.parse(readyLine) as CliReady, readyLine, output: () => out };
}

/** Writes `request` as is on a fresh TCP connection and returns everything the server answers until it closes. */
export function rawHttp(port: number, request: string | Buffer): Promise<{ statusLine: string; text: string }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d) => (text += d));
    s.on('error', (e) => (text += `\n[${(e as NodeJS.ErrnoException).code ?? e.message}]`));
    s.on('close', () => resolve({ statusLine: text.split('\r\n')[0] ?? '', text }));
    s.write(request);
  });
}

/** GET with headers set exactly as given (node:http, so a Host header can be anything). */
export function httpGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A well-behaved producer connection sending to `topic` on broker-a@0 in a loop, to show others' abuse leaves it alone. */
export function goodClient(t: TestContext, url: string, token: string, topic = 'demo-events'): { stop(): Promise<{ ok: number; failures: string[] }> } {
  const transport = new WebSocketTransport({ url, token });
  const client = new RemotingClient(transport);
  let stopped = false;
  t.after(async () => { stopped = true; await client.close(); await transport.close(); });
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      try {
        const r = await client.invoke('broker-a@0', sendV2(topic), 5000);
        if (r.code === ResponseCode.SUCCESS) ok++;
        else failures.push(`${r.code} ${r.remark ?? ''}`);
      } catch (e) {
        failures.push((e as Error).message);
        await sleep(10); // a closed client fails at once: do not spin on microtasks
      }
    }
  })();
  return { stop: async () => { stopped = true; await loop; return { ok, failures }; } };
}

/** A raw WebSocket client: any subprotocols and headers (Host, Origin …), enveloped remoting requests. */
export function rawClient(url: string, protocols: string[], headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, protocols, { headers });
  const waiting = new Map<number, (c: RemotingCommand) => void>();
  /** Requests the gateway relayed from a broker (check-backs, reply pushes), with their target. */
  const requests: { target: string; cmd: RemotingCommand }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
  /** True once the gateway says hello (authenticated), false when it closes first. */
  const opened = new Promise<boolean>((resolve) => {
    ws.on('message', (d, binary) => {
      if (!binary) { if ((JSON.parse(String(d)) as { type?: string }).type === 'hello') resolve(true); return; }
      const env = decodeEnvelope(d as Buffer);
      const cmd = decodeCommand(env.frame);
      if (!isResponse(cmd)) { requests.push({ target: env.target, cmd }); return; }
      waiting.get(cmd.opaque)?.(cmd);
      waiting.delete(cmd.opaque);
    });
    void closed.then(() => resolve(false));
  });
  ws.on('error', () => {});
  let opaque = 1;
  return {
    ws, closed, opened, requests,
    /** Writes a frame as is (a oneway request, or an answer to a relayed broker request). */
    send(target: string, cmd: RemotingCommand): void {
      ws.send(encodeEnvelope(target, encodeCommand(cmd)));
    },
    request(target: string, cmd: RemotingCommand, timeoutMs = 5000): Promise<RemotingCommand> {
      cmd.opaque = opaque++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no response to opaque ${cmd.opaque}`)), timeoutMs);
        waiting.set(cmd.opaque, (c) => { clearTimeout(timer); resolve(c); });
        ws.send(encodeEnvelope(target, encodeCommand(cmd)));
      });
    },
  };
}

/** A JSON-header frame whose extFields are written exactly as listed (duplicates and all). */
export function jsonFrame(code: number, fields: [string, string][], opaque: number, body: Uint8Array = utf8.encode('hello'), flag = 0, rawKeys = false): Uint8Array {
  const ext = fields.map(([k, v]) => `${rawKeys ? `"${k}"` : JSON.stringify(k)}:${JSON.stringify(v)}`).join(',');
  const header = utf8.encode(`{"code":${code},"extFields":{${ext}},"flag":${flag},"language":"JAVA","opaque":${opaque},"serializeTypeCurrentRPC":"JSON","version":409}`);
  return frame(0, header, body);
}

/** A remoting frame (no length prefix) from its serialize type, header and body bytes. */
export function frame(type: number, header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + header.length + body.length);
  out[0] = type;
  out[1] = header.length >> 16; out[2] = header.length >> 8; out[3] = header.length;
  out.set(header, 4);
  out.set(body, 4 + header.length);
  return out;
}

// ---------- producers with broker callbacks ----------

/** A producer-only HEART_BEAT. */
export const producerHeartbeat = (clientID: string, groups: string[]) => createRequest(RequestCode.HEART_BEAT, undefined, {
  body: utf8.encode(JSON.stringify({ clientID, consumerDataSet: [], producerDataSet: groups.map((groupName) => ({ groupName })) })),
});
/** SEND_MESSAGE_V2 (or `code`) with these properties (and a fresh UNIQ_KEY), group pg, topic orders-1 unless given. */
export const sendWith = (props: Record<string, string>, opts: { group?: string; topic?: string; code?: number } = {}) =>
  createRequest(opts.code ?? RequestCode.SEND_MESSAGE_V2, {
    a: opts.group ?? 'pg', b: opts.topic ?? 'orders-1', c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0',
    i: encodeProperties({ [MessageConst.UNIQ_KEY]: `U${Math.random().toString(16).slice(2)}`, ...props }), j: '0', k: 'false', m: 'false',
  }, { body: utf8.encode('hello') });
/** A request message (REPLY_TO_CLIENT, CORRELATION_ID, TTL). */
export const request = (replyTo: string, correlation: string) =>
  sendWith({ [MessageConst.REPLY_TO_CLIENT]: replyTo, [MessageConst.CORRELATION_ID]: correlation, [MessageConst.TTL]: '60000' });
/** END_TRANSACTION (oneway) of group pg, commit unless given. */
export const endTx = (h: Record<string, string>) => createRequest(RequestCode.END_TRANSACTION, {
  producerGroup: 'pg', commitOrRollback: '8', fromTransactionCheck: 'false', ...h,
}, { oneway: true });
/** The broker's PUSH_REPLY_MESSAGE_TO_CLIENT for a reply to `replyTo`'s request `correlation`. */
export const push = (replyTo: string, correlation: string) => createRequest(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, {
  producerGroup: 'rg', topic: 'DefaultCluster_REPLY_TOPIC', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0',
  sysFlag: '0', bornTimestamp: '1', flag: '0', unitMode: 'false', bornHost: '10.0.0.1:1', storeHost: '10.0.0.2:2', storeTimestamp: '2',
  properties: encodeProperties({ [MessageConst.REPLY_TO_CLIENT]: replyTo, [MessageConst.CORRELATION_ID]: correlation, [MessageConst.MSG_TYPE]: 'reply' }),
}, { body: utf8.encode(`reply to ${correlation}`) });
/** SEND_MESSAGE_V2 to `topic`, the shape a producer sends. */
export const sendV2 = (topic: string, body = new Uint8Array(8)): RemotingCommand =>
  createRequest(RequestCode.SEND_MESSAGE_V2,
    { a: 'g', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: '1', h: '0', j: '0', k: 'false', m: 'false' }, { body });
