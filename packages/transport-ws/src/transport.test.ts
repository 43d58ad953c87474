// WebSocketTransport against a scripted `ws` server (a fake gateway): backoff, refusals,
// credentials per connect, waiting connects, heartbeats, envelope, version negotiation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, type WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import { RemotingConnectError } from '@rocketmq-edge/core';
import { RemotingClient, createRequest, createResponse, decodeCommand, encodeCommand, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { WebSocketTransport, backoffDelay, type ConnectionState } from './index.js';
import { CloseCode, SUBPROTOCOL, WIRE_VERSION, decodeEnvelope, encodeEnvelope } from './envelope.js';

interface Fake {
  url: string;
  port: number;
  connections: { ws: WebSocket; req: IncomingMessage; protocols: string[] }[];
  close(): Promise<void>;
}

type OnConn = (ws: WebSocket, req: IncomingMessage, n: number) => void;

async function fakeGateway(onConn: OnConn, port = 0): Promise<Fake> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, handleProtocols: (p) => (p.has(SUBPROTOCOL) ? SUBPROTOCOL : false) });
  const connections: Fake['connections'] = [];
  wss.on('connection', (ws, req) => {
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    connections.push({ ws, req, protocols });
    onConn(ws, req, connections.length);
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const p = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${p}/rmq`,
    port: p,
    connections,
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
  };
}

const hello = (ws: WebSocket) => ws.send(JSON.stringify({ type: 'hello', version: 1 }));
const echo = (ws: WebSocket) => ws.on('message', (d, bin) => {
  if (!bin) {
    const m = JSON.parse(String(d));
    if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: m.id }));
    return;
  }
  ws.send(d as Buffer);
});
const noop = { onFrame() {}, onClose() {} };
const fast = { initialDelayMs: 20, maxDelayMs: 100, factor: 2, jitter: 0.5 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, ms = 3000, what = 'condition') {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('backoff grows by the factor, is jittered per attempt, and caps', () => {
  const o = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2, jitter: 0.5 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, o, () => 0)), [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(backoffDelay(3, o, () => 1), 500); // full jitter halves it
  const samples = Array.from({ length: 200 }, () => backoffDelay(4, o));
  assert.ok(samples.every((d) => d >= 1000 && d <= 2000));
  assert.ok(new Set(samples).size > 20, 'jitter varies per attempt');
  assert.ok(Array.from({ length: 100 }, () => backoffDelay(50, o)).every((d) => d <= 10_000));
});

test('frames are enveloped per target and routed back to the virtual connection of that target', async (t) => {
  const fake = await fakeGateway((ws) => { hello(ws); echo(ws); });
  const tr = new WebSocketTransport({ url: fake.url, token: 'tok' });
  t.after(async () => { await tr.close(); await fake.close(); });
  const got: Record<string, Uint8Array[]> = { namesrv: [], 'broker-a@0': [] };
  const ns = await tr.connect('namesrv', { onFrame: (f) => got.namesrv!.push(f), onClose() {} });
  const b = await tr.connect('broker-a@0', { onFrame: (f) => got['broker-a@0']!.push(f), onClose() {} });
  ns.send(new Uint8Array([0, 0, 0, 0, 1]));
  b.send(new Uint8Array([0, 0, 0, 0, 2, 2]));
  await waitFor(() => got.namesrv!.length === 1 && got['broker-a@0']!.length === 1);
  assert.deepEqual([...got.namesrv![0]!], [0, 0, 0, 0, 1]);
  assert.deepEqual([...got['broker-a@0']![0]!], [0, 0, 0, 0, 2, 2]);
  assert.deepEqual(fake.connections[0]!.protocols, [SUBPROTOCOL, 'bearer.tok']);
  const env = decodeEnvelope(encodeEnvelope('broker-a@0', new Uint8Array([9])));
  assert.equal(env.target, 'broker-a@0');
  // a frame sent with headroom (as core encodes them) arrives the same as one without
  const room = b.headroom!;
  assert.equal(room, 2 + 'broker-a@0'.length);
  const roomy = new Uint8Array(room + 6).subarray(room);
  roomy.set([0, 0, 0, 0, 3, 3]);
  b.send(roomy, room);
  await waitFor(() => got['broker-a@0']!.length === 2);
  assert.deepEqual([...got['broker-a@0']![1]!], [0, 0, 0, 0, 3, 3]);
  // in place: the envelope is written into the room, the frame is not copied
  const inPlace = encodeEnvelope('broker-a@0', roomy, room);
  assert.equal(inPlace.buffer, roomy.buffer);
  assert.deepEqual(decodeEnvelope(inPlace).frame, roomy);
  assert.notEqual(encodeEnvelope('broker-a@0', roomy, room - 1).buffer, roomy.buffer, 'too little room: a copy');
  assert.equal(fake.connections.length, 1, 'one socket for every target');
});

test('stops at once on 4401 (state refused with the reason); connect() rejects', async (t) => {
  const fake = await fakeGateway((ws) => ws.close(CloseCode.UNAUTHORIZED, 'token expired: get a fresh token'));
  const tr = new WebSocketTransport({ url: fake.url, token: 'bad', reconnect: fast });
  t.after(async () => { await tr.close(); await fake.close(); });
  const states: ConnectionState[] = [];
  tr.on('state', (s) => states.push(s));
  await assert.rejects(tr.connect('namesrv', noop), (e: Error) => e instanceof RemotingConnectError && /4401/.test(e.message));
  await sleep(300);
  assert.equal(fake.connections.length, 1, 'no reconnect after a refusal');
  const last = states.at(-1)!;
  assert.equal(last.type, 'refused');
  assert.match((last as { reason: string }).reason, /token expired/);
  await assert.rejects(tr.connect('namesrv', noop), RemotingConnectError);
});

test('the credentials callback is asked on every (re)connect; tokens that are not subprotocol-safe go in an auth message', async (t) => {
  const authMessages: string[] = [];
  const fake = await fakeGateway((ws, _req, n) => {
    ws.on('message', (d, bin) => { if (!bin) { const m = JSON.parse(String(d)); if (m.type === 'auth') authMessages.push(m.token); } });
    hello(ws);
    if (n < 3) setTimeout(() => ws.close(CloseCode.GOING_AWAY, 'restart'), 20);
  });
  let calls = 0;
  const tr = new WebSocketTransport({
    url: fake.url, reconnect: fast,
    token: async () => (++calls === 2 ? 'needs space/=' : `t${calls}`),
  });
  t.after(async () => { await tr.close(); await fake.close(); });
  tr.open();
  await waitFor(() => fake.connections.length === 3 && tr.state.type === 'connected', 5000, 'third connection');
  assert.equal(calls, 3);
  assert.deepEqual(fake.connections.map((c) => c.protocols.find((p) => p.startsWith('bearer.'))), ['bearer.t1', undefined, 'bearer.t3']);
  assert.deepEqual(authMessages, ['needs space/=']);
});

test('socket loss fails virtual connections with RemotingConnectError; connects made while reconnecting resume', async (t) => {
  let fake = await fakeGateway((ws) => { hello(ws); echo(ws); });
  const port = fake.port;
  const tr = new WebSocketTransport({ url: fake.url, token: 'x', reconnect: { ...fast, initialDelayMs: 100 } });
  t.after(async () => { await tr.close(); await fake.close(); });
  let closeErr: Error | undefined;
  await tr.connect('namesrv', { onFrame() {}, onClose: (e) => { closeErr = e; } });
  await fake.close();
  await waitFor(() => closeErr !== undefined, 3000, 'onClose');
  assert.ok(closeErr instanceof RemotingConnectError);
  const states: string[] = [];
  tr.on('state', (s) => states.push(s.type));
  const waiting = tr.connect('broker-a@0', { onFrame() {}, onClose() {} });
  const aborted = new AbortController();
  const abortedConnect = tr.connect('namesrv', noop, aborted.signal);
  aborted.abort();
  await assert.rejects(abortedConnect, { name: 'AbortError' });
  await sleep(150);
  fake = await fakeGateway((ws) => { hello(ws); echo(ws); }, port);
  const conn = await waiting;
  assert.equal(conn.target, 'broker-a@0');
  assert.ok(states.includes('reconnecting'));
  assert.equal(states.at(-1), 'connected');
});

test('waiting connects are bounded by maxQueuedFrames', async (t) => {
  const fake = await fakeGateway(() => { /* never says hello */ });
  const tr = new WebSocketTransport({ url: fake.url, token: 'x', maxQueuedFrames: 2, connectTimeoutMs: 500 });
  t.after(async () => { await tr.close(); await fake.close(); });
  const a = tr.connect('namesrv', noop).catch((e: Error) => e);
  const b = tr.connect('namesrv', noop).catch((e: Error) => e);
  await assert.rejects(tr.connect('namesrv', noop), { name: 'RemotingTooMuchRequestError' });
  assert.equal(((await a) as Error).name, 'RemotingConnectError');
  assert.equal(((await b) as Error).name, 'RemotingConnectError');
});

test('no pong within two heartbeat intervals: the link is treated as dead and re-established', async (t) => {
  const fake = await fakeGateway((ws, _r, n) => { hello(ws); if (n > 1) echo(ws); /* first one ignores pings */ });
  const tr = new WebSocketTransport({ url: fake.url, token: 'x', heartbeatIntervalMs: 50, reconnect: fast });
  t.after(async () => { await tr.close(); await fake.close(); });
  const reasons: string[] = [];
  tr.on('state', (s) => { if (s.type === 'reconnecting' && s.reason) reasons.push(s.reason); });
  let closed: Error | undefined;
  await tr.connect('namesrv', { onFrame() {}, onClose: (e) => { closed = e; } });
  await waitFor(() => fake.connections.length >= 2 && tr.state.type === 'connected', 3000, 'reconnect after dead link');
  assert.ok(closed instanceof RemotingConnectError);
  assert.match(reasons[0] ?? '', /no pong/);
  await sleep(300);
  assert.equal(fake.connections.length, 2, 'a healthy link stays up');
});

test('close() stops everything: state closed, pending connects rejected, no reconnect', async (t) => {
  const fake = await fakeGateway(() => {});
  const tr = new WebSocketTransport({ url: fake.url, token: 'x', reconnect: fast });
  t.after(() => fake.close());
  const p = tr.connect('namesrv', noop);
  await tr.close();
  await assert.rejects(p, RemotingConnectError);
  assert.equal(tr.state.type, 'closed');
  await sleep(100);
  assert.ok(fake.connections.length <= 1);
});

/**
 * A fake gateway whose hello says `version` (after `helloDelayMs`): records every binary message
 * with the time it arrived and answers each two-way request (v1 envelope, or v2 when `replyV2`).
 */
async function versionedGateway(version: number, helloDelayMs = 0, replyV2 = false) {
  const got: { bytes: Uint8Array; at: number }[] = [];
  const fake = await fakeGateway((ws) => {
    setTimeout(() => ws.send(JSON.stringify({ type: 'hello', version })), helloDelayMs);
    ws.on('message', (d, bin) => {
      if (!bin) return;
      const bytes = new Uint8Array(d as Buffer);
      got.push({ bytes, at: Date.now() });
      const { target, frame } = decodeEnvelope(bytes);
      const cmd = decodeCommand(frame);
      if (!(cmd.flag & 2)) ws.send(encodeEnvelope(target, encodeCommand(createResponse(cmd, 0, 'ok')), 0, replyV2 ? 0 : undefined));
    });
  });
  return { fake, got };
}
const request = (): RemotingCommand => createRequest(310, { topic: 'demo-events' }, { body: new TextEncoder().encode('hi') });
const utf8 = (s: string) => new TextEncoder().encode(s);

test('against a version-1 gateway requests and oneways go out as 0x11 envelopes, byte for byte as before', async (t) => {
  const { fake, got } = await versionedGateway(1);
  const tr = new WebSocketTransport({ url: fake.url, token: 'x' });
  const client = new RemotingClient(tr);
  t.after(async () => { await client.close(); await tr.close(); await fake.close(); });
  const target = 'broker-a@0';
  const conn = await tr.connect(target, noop);
  assert.equal(conn.headroom, 2 + target.length, 'no room for a budget');
  conn.close();
  assert.equal((await client.invoke(target, request(), 1500)).remark, 'ok');
  await client.invokeOneway(target, { ...request(), flag: 2 });
  await waitFor(() => got.length === 2);
  const envelope = (cmd: RemotingCommand) => Uint8Array.of(0x11, target.length, ...utf8(target), ...encodeCommand(cmd));
  assert.deepEqual(got[0]!.bytes, envelope({ ...request(), opaque: 0, flag: 0 }));
  assert.deepEqual(got[1]!.bytes, envelope({ ...request(), opaque: 1, flag: 2 }));
});

test('against a version-2 gateway requests carry 0x21 and what is left of their timeout; oneways (no deadline) stay 0x11', async (t) => {
  assert.ok(WIRE_VERSION >= 2);
  const { fake, got } = await versionedGateway(2, 200, true);
  const tr = new WebSocketTransport({ url: fake.url, token: 'x' });
  const client = new RemotingClient(tr);
  t.after(async () => { await client.close(); await tr.close(); await fake.close(); });
  const target = 'broker-a@0';
  // The first request waits ~200 ms for the hello: its budget is what is left after that.
  const t0 = Date.now();
  assert.equal((await client.invoke(target, request(), 1500)).remark, 'ok', 'a version-2 response is read too');
  const first = decodeEnvelope(got[0]!.bytes);
  assert.equal(got[0]!.bytes[0], 0x21);
  assert.equal(first.target, target);
  const waited = got[0]!.at - t0;
  assert.ok(first.budgetMs! <= 1500 - 190 && first.budgetMs! >= 1500 - waited - 5, `budget ${first.budgetMs} ms, ${waited} ms after invoke`);
  assert.deepEqual(decodeCommand(first.frame).extFields, { topic: 'demo-events' });
  // Connected: the budget is the whole timeout, give or take a few ms.
  await client.invoke(target, request(), 1500);
  const second = decodeEnvelope(got[1]!.bytes).budgetMs!;
  assert.ok(second > 1490 && second <= 1500, `budget ${second}`);
  await client.invokeOneway(target, { ...request(), flag: 2 });
  await waitFor(() => got.length === 3);
  const oneway = got[2]!.bytes;
  assert.deepEqual(oneway, Uint8Array.of(0x11, target.length, ...utf8(target), ...encodeCommand({ ...request(), opaque: 2, flag: 2 })));
  assert.equal(decodeEnvelope(oneway).budgetMs, undefined, 'no deadline');
  const conn = await tr.connect(target, noop);
  assert.equal(conn.headroom, 2 + target.length + 4, 'room for the budget: still written in place');
  conn.close();
});

test('close code 4410 (slow reader) is not a refusal: the transport reconnects with backoff', async (t) => {
  const fake = await fakeGateway((ws, _req, n) => {
    hello(ws);
    if (n === 1) setTimeout(() => ws.close(CloseCode.SLOW_READER, 'slow reader: outbound buffer over its bound'), 20);
  });
  const tr = new WebSocketTransport({ url: fake.url, token: 'x', reconnect: fast });
  t.after(async () => { await tr.close(); await fake.close(); });
  const states: ConnectionState[] = [];
  tr.on('state', (s) => states.push(s));
  let closed: Error | undefined;
  await tr.connect('namesrv', { onFrame() {}, onClose: (e) => { closed = e; } });
  await waitFor(() => fake.connections.length === 2 && tr.state.type === 'connected', 3000, 'reconnect after 4410');
  assert.equal(CloseCode.SLOW_READER, 4410);
  assert.ok(closed instanceof RemotingConnectError && /4410/.test(closed.message));
  const reconnecting = states.find((s) => s.type === 'reconnecting');
  assert.match((reconnecting as { reason: string }).reason, /4410 slow reader/);
  assert.ok(!states.some((s) => s.type === 'refused'));
  await tr.connect('namesrv', noop); // usable again
});
