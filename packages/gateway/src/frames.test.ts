// Several remoting frames per WebSocket message (wire version 3, FRAMES): negotiated in the hello,
// so old clients and old gateways keep working; every inner frame relayed under the checks a single
// frame gets; every malformed or abusive FRAMES message refused while a good client carries on.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import {
  NAMESRV_TARGET,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  decodeCommand,
  encodeCommand,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { WebSocketTransport, coalesceFrames, type WebSocketLike } from '@rocketmq-edge/transport-ws';
import {
  CloseCode,
  HEADER_FRAMES,
  MAX_FRAMES_BYTES,
  decodeEnvelope,
  decodeEnvelopes,
  encodeEnvelope,
} from '@rocketmq-edge/transport-ws/envelope';
import { startGateway, type GatewayOptions } from './index.js';
import { REPO_ROOT, SILENT_FLAG, goodClient, sendV2, startFakeCluster, waitFor } from './test-support.js';

const TOKEN = 'frames-token';
const BROKER = 'broker-a@0';

async function fixture(t: TestContext, extra: Partial<GatewayOptions> = {}) {
  const cluster = await startFakeCluster(t);
  const gw = await startGateway({
    namesrvAddr: cluster.namesrv.addr,
    auth: { staticTokens: { [TOKEN]: { sub: 'frames', topics: ['*'] } } },
    logLevel: 'silent',
    ...extra,
  });
  t.after(() => gw.close());
  return { gw, ...cluster };
}

/** A WebSocket factory that records what the transport sends and counts the messages it receives. */
function recording() {
  const sent: (string | Uint8Array)[] = [];
  let received = 0;
  const factory = (url: string, protocols?: string | string[]): WebSocketLike => {
    const ws = new WebSocket(url, protocols);
    const send = ws.send.bind(ws);
    ws.send = ((data: string | Uint8Array) => {
      sent.push(typeof data === 'string' ? data : new Uint8Array(data));
      send(data);
    }) as typeof ws.send;
    ws.addEventListener('message', () => { received++; });
    return ws as unknown as WebSocketLike;
  };
  return { factory, sent, received: () => received, binary: () => sent.filter((m): m is Uint8Array => typeof m !== 'string') };
}

async function client(t: TestContext, url: string, opts: { coalesce?: boolean; factory?: ReturnType<typeof recording>['factory'] } = {}) {
  const transport = new WebSocketTransport({
    url, token: TOKEN, heartbeatIntervalMs: 0,
    ...(opts.coalesce ? { coalesce: coalesceFrames } : {}),
    ...(opts.factory ? { webSocketFactory: opts.factory } : {}),
  });
  const c = new RemotingClient(transport);
  t.after(async () => { await c.close(); await transport.close(); });
  assert.equal((await c.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-events' }), 3000)).code, ResponseCode.SUCCESS);
  return c;
}

/** Sends to ATTACK (a topic only the attacking clients use), so the broker's log tells their frames apart. */
const ATTACK = 'attack-events';
const attackSends = (broker: { received: RemotingCommand[] }) => broker.received.filter((c) => c.extFields?.b === ATTACK).length;

/** `n` sends started in one task (as a window of concurrent producer sends is). */
const burst = (c: RemotingClient, n: number, topic = 'demo-events') =>
  Promise.all(Array.from({ length: n }, () => c.invoke(BROKER, sendV2(topic), 5000)));

/**
 * A raw client speaking the wire by hand: hello handling, envelopes in and out. `readsFrames`
 * answers the gateway's hello as a version-3 client does; without it, it is a client from before
 * FRAMES, and any message that is not a single envelope fails the test.
 */
async function raw(url: string, opts: { auth?: boolean; readsFrames?: boolean } = {}) {
  const ws = new WebSocket(url, opts.auth === false ? ['rocketmq-edge.v1'] : ['rocketmq-edge.v1', `bearer.${TOKEN}`]);
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  const answers: RemotingCommand[] = [];
  const problems: string[] = [];
  let hello: Record<string, unknown> | undefined;
  let messages = 0;
  ws.on('message', (d, binary) => {
    if (!binary) {
      const m = JSON.parse(String(d));
      if (m.type === 'hello') {
        hello = m;
        if (opts.readsFrames) ws.send(JSON.stringify({ type: 'hello', version: 3 }));
      }
      return;
    }
    messages++;
    const buf = d as Buffer;
    if (!opts.readsFrames && buf[0] === HEADER_FRAMES) problems.push('a FRAMES message to a client that never said it reads them');
    try {
      for (const env of opts.readsFrames ? decodeEnvelopes(buf) : [decodeEnvelope(buf)]) answers.push(decodeCommand(env.frame));
    } catch (e) {
      problems.push((e as Error).message);
    }
  });
  ws.on('error', () => {});
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  if (opts.auth !== false) await waitFor(() => hello !== undefined, 3000, 'hello');
  return { ws, closed, answers, problems, hello: () => hello, messages: () => messages };
}

const u32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
/** A FRAMES message of `envs` exactly as given (no bound: attackers do not respect one). */
const framesOf = (envs: Uint8Array[]) => Uint8Array.of(HEADER_FRAMES, ...envs.flatMap((e) => [...u32(e.length), ...e]));
const envelope = (target: string, cmd: RemotingCommand, opaque: number) => encodeEnvelope(target, encodeCommand({ ...cmd, opaque }));
/** The smallest request there is: a JSON header with a code and an opaque, no fields (40 bytes enveloped, in FRAMES). */
const tiny = (opaque: number) => {
  const h = new TextEncoder().encode(`{"code":105,"opaque":${opaque}}`);
  return encodeEnvelope(NAMESRV_TARGET, Uint8Array.of(...u32(h.length), ...h));
};

test('new client and gateway: sends of one task leave in a few WebSocket messages each way, each answered; a lone send is a plain envelope', async (t) => {
  const { gw, broker } = await fixture(t);
  const rec = recording();
  const c = await client(t, gw.url, { coalesce: true, factory: rec.factory });
  const hello = rec.sent.find((m) => typeof m === 'string' && m.includes('hello'));
  assert.deepEqual(JSON.parse(hello as string), { type: 'hello', version: 3 }, 'the client says it reads FRAMES');
  const before = broker.received.length;
  const lone = await c.invoke(BROKER, sendV2('demo-events'), 3000);
  assert.equal(lone.code, ResponseCode.SUCCESS);
  assert.equal(rec.binary().at(-1)![0], 0x21, 'a lone send is a single version-2 envelope: nothing waits, nothing is copied');
  const [sentBefore, receivedBefore] = [rec.binary().length, rec.received()];
  const answers = await burst(c, 300);
  assert.ok(answers.every((r) => r.code === ResponseCode.SUCCESS));
  assert.deepEqual(new Set(answers.map((r) => r.opaque)).size, 300, 'each send got its own answer');
  assert.equal(broker.received.length - before, 301, 'every frame relayed to the broker, once');
  const sent = rec.binary().slice(sentBefore);
  // 300 sends of ~230 bytes: about 69 KB, five or six FRAMES messages of at most 16 KiB
  assert.ok(sent.length <= 6, `300 sends in ${sent.length} WebSocket messages`);
  assert.ok(sent.every((m) => m.length <= MAX_FRAMES_BYTES));
  assert.equal(sent.reduce((n, m) => n + decodeEnvelopes(m).length, 0), 300);
  assert.ok(rec.received() - receivedBefore < 100, `300 answers in ${rec.received() - receivedBefore} WebSocket messages`);
});

test('a client from before FRAMES (no hello of its own) gets single envelopes from a new gateway, however many answers are ready at once', async (t) => {
  const { gw } = await fixture(t);
  const old = await raw(gw.url);
  assert.equal(old.hello()!.version, 3);
  assert.equal(old.hello()!.frames, MAX_FRAMES_BYTES, 'the gateway offers FRAMES; this client ignores the offer');
  for (let i = 1; i <= 300; i++) old.ws.send(envelope(BROKER, sendV2('demo-events'), i));
  await waitFor(() => old.answers.length === 300, 5000, '300 answers');
  assert.deepEqual(old.problems, []);
  assert.equal(old.messages(), 300, 'one WebSocket message per answer');
  assert.ok(old.answers.every((a) => a.code === ResponseCode.SUCCESS));
});

/**
 * WebSocketTransport exactly as released before FRAMES: its sources at the parent of the commit
 * that made WIRE_VERSION 3, from git, loaded from a folder inside transport-ws (so that its
 * package imports resolve as they did). Its one import that no longer resolves, eventemitter3
 * (since replaced by core's emitter of the same API), is pointed at core's.
 */
async function transportBeforeFrames(t: TestContext): Promise<typeof WebSocketTransport> {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  const intro = git('log', '--format=%H', '-S', 'export const WIRE_VERSION = 3', '--', 'packages/transport-ws/src/envelope.ts').trim().split('\n').at(-1);
  assert.ok(intro, 'the commit that introduced FRAMES is in the history');
  const dir = join(REPO_ROOT, 'packages/transport-ws', `.before-frames-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['transport.ts', 'envelope.ts', 'defaults.ts', 'types.ts']) {
    const src = git('show', `${intro}~1:packages/transport-ws/src/${f}`);
    writeFileSync(join(dir, f), src.replace(/import \{ EventEmitter \} from 'eventemitter3';/, "import { EventEmitter } from '@rocketmq-edge/core';"));
  }
  const old = await import(pathToFileURL(join(dir, 'transport.ts')).href) as { WebSocketTransport: typeof WebSocketTransport };
  return old.WebSocketTransport;
}

test('the WebSocketTransport released before FRAMES, against a new gateway: its sends go through and it gets one envelope per message', async (t) => {
  const { gw, broker } = await fixture(t);
  const OldTransport = await transportBeforeFrames(t);
  const rec = recording();
  const transport = new OldTransport({ url: gw.url, token: TOKEN, heartbeatIntervalMs: 0, webSocketFactory: rec.factory });
  const c = new RemotingClient(transport);
  t.after(async () => { await c.close(); await transport.close(); });
  assert.equal((await c.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-events' }), 3000)).code, ResponseCode.SUCCESS);
  const before = [rec.received(), broker.received.length];
  const answers = await burst(c, 300);
  assert.ok(answers.every((r) => r.code === ResponseCode.SUCCESS));
  assert.equal(broker.received.length - before[1]!, 300);
  assert.equal(rec.received() - before[0]!, 300, 'one WebSocket message per answer: no FRAMES to a client that never asked');
  assert.ok(!rec.sent.some((m) => typeof m === 'string' && m.includes('hello')));
  assert.ok(rec.binary().every((m) => m[0] === 0x21 || m[0] === 0x11), 'it writes what it always wrote');
});

test('a new client with a gateway pinned to wire version 2 (as before FRAMES): single frames both ways, nothing refused', async (t) => {
  const { gw, broker } = await fixture(t, { wireVersion: 2 });
  const rec = recording();
  const c = await client(t, gw.url, { coalesce: true, factory: rec.factory });
  const before = [rec.binary().length, rec.received(), broker.received.length];
  const answers = await burst(c, 200);
  assert.ok(answers.every((r) => r.code === ResponseCode.SUCCESS));
  assert.equal(rec.binary().length - before[0]!, 200, 'one message per send');
  assert.ok(rec.binary().every((m) => m[0] !== HEADER_FRAMES));
  assert.equal(rec.received() - before[1]!, 200, 'one message per answer');
  assert.equal(broker.received.length - before[2]!, 200);
  assert.ok(!rec.sent.some((m) => typeof m === 'string' && m.includes('hello')), 'no hello of its own to a gateway that did not offer FRAMES');
  // What the client therefore must not send: the pinned gateway refuses both, as older gateways did.
  const a = await raw(gw.url);
  assert.equal(a.hello()!.version, 2);
  assert.equal(a.hello()!.frames, undefined);
  a.ws.send(framesOf([envelope(BROKER, sendV2('demo-events'), 1)]));
  assert.equal(await a.closed, CloseCode.PROTOCOL_VIOLATION);
  const b = await raw(gw.url);
  b.ws.send(JSON.stringify({ type: 'hello', version: 3 }));
  assert.equal(await b.closed, CloseCode.PROTOCOL_VIOLATION);
  await assert.rejects(startGateway({ namesrvAddr: '127.0.0.1:1', auth: { staticTokens: { x: { sub: 'x', topics: ['*'] } } }, logLevel: 'silent', wireVersion: 4 }),
    /wireVersion must be 2 or 3/);
});

test('thousands of tiny frames in FRAMES messages count against the rate like single frames; the answers coalesce; a good client is unaffected', async (t) => {
  const { gw, namesrv } = await fixture(t, { rate: { perSecond: 1, burst: 100 } });
  const good = goodClient(t, gw.url, TOKEN);
  const bad = await raw(gw.url, { readsFrames: true });
  // Eight messages of 350 tiny frames each (about 15 KB each, under the 16 KiB bound).
  for (let m = 0; m < 8; m++) bad.ws.send(framesOf(Array.from({ length: 350 }, (_, i) => tiny(m * 350 + i + 1))));
  await waitFor(() => bad.answers.length === 2800, 10_000, '2,800 answers');
  assert.deepEqual(bad.problems, []);
  const limited = bad.answers.filter((a) => a.code === ResponseCode.SYSTEM_BUSY && /RATE_LIMIT/.test(a.remark ?? ''));
  assert.ok(limited.length >= 2800 - 102 && limited.length <= 2700, `${limited.length} of 2,800 refused by the rate limit (burst 100)`);
  // Those within the burst got today's per-frame answer (a route lookup without a topic is refused by its schema).
  assert.ok(bad.answers.filter((a) => a.code === ResponseCode.MESSAGE_ILLEGAL).length >= 98);
  assert.equal(namesrv.received.filter((c) => c.code === RequestCode.GET_ROUTEINFO_BY_TOPIC && !c.extFields?.topic).length, 0,
    'nothing malformed reached the name server');
  assert.ok(bad.messages() < 2800 / 10, `2,800 answers in ${bad.messages()} WebSocket messages`);
  const r = await good.stop();
  assert.deepEqual(r.failures, []);
  assert.ok(r.ok > 0);
});

test('frames of one FRAMES message count against in-flight like single frames: past the limit each gets its own refusal', async (t) => {
  const { gw, broker } = await fixture(t, { maxInFlightPerConnection: 20 });
  const good = goodClient(t, gw.url, TOKEN);
  await waitFor(() => gw.aliases.resolve(BROKER) !== undefined, 3000, 'the broker alias known');
  const bad = await raw(gw.url, { readsFrames: true });
  // 60 sends the broker never answers (flag SILENT_FLAG), in one message.
  const silent = createRequest(RequestCode.SEND_MESSAGE_V2,
    { a: 'g', b: ATTACK, c: 'TBW102', d: '4', e: '0', f: '0', g: '1', h: SILENT_FLAG, j: '0', k: 'false', m: 'false' }, { body: new Uint8Array(8) });
  bad.ws.send(framesOf(Array.from({ length: 60 }, (_, i) => envelope(BROKER, silent, i + 1))));
  await waitFor(() => bad.answers.length === 40, 5000, '40 refusals');
  assert.ok(bad.answers.every((a) => a.code === ResponseCode.SYSTEM_BUSY && /in flight on this connection \(limit 20\)/.test(a.remark ?? '')));
  await waitFor(() => attackSends(broker) === 20, 3000, '20 relayed');
  const r = await good.stop();
  assert.deepEqual(r.failures, []);
  assert.ok(r.ok > 0);
});

test('malformed FRAMES messages close with 4400 and relay nothing of themselves; a good client is unaffected', async (t) => {
  const { gw, broker } = await fixture(t);
  const good = goodClient(t, gw.url, TOKEN);
  const send = envelope(BROKER, sendV2(ATTACK), 1);
  const cases: [string, Uint8Array][] = [
    ['an inner length that lies (past the end)', Uint8Array.of(HEADER_FRAMES, ...u32(send.length + 10), ...send)],
    ['an inner length that lies (short: the rest is junk)', Uint8Array.of(HEADER_FRAMES, ...u32(send.length - 40), ...send)],
    ['a zero-length frame', Uint8Array.of(HEADER_FRAMES, ...u32(send.length), ...send, ...u32(0))],
    ['nothing after the header', Uint8Array.of(HEADER_FRAMES)],
    ['a nested FRAMES message', framesOf([send, framesOf([send, send])])],
    ['an undecodable frame among good ones', framesOf([send, encodeEnvelope(BROKER, Uint8Array.of(0, 0, 0, 99, 1, 2)), send])],
    ['more than the hello\'s bound in all', framesOf(Array.from({ length: 300 }, (_, i) => envelope(BROKER, sendV2(ATTACK), i)))],
  ];
  for (const [what, msg] of cases) {
    const bad = await raw(gw.url, { readsFrames: true });
    bad.ws.send(msg);
    assert.equal(await bad.closed, CloseCode.PROTOCOL_VIOLATION, what);
    assert.deepEqual(bad.answers, [], what);
  }
  assert.ok(cases.at(-1)![1].length > MAX_FRAMES_BYTES);
  assert.equal(attackSends(broker), 0, 'nothing of any of them was relayed');
  const r = await good.stop();
  assert.deepEqual(r.failures, []);
  assert.ok(r.ok > 0);
});

test('FRAMES before authentication: closed like any binary message (4401); a flood of them stops at the first; nothing relayed', async (t) => {
  const { gw, broker } = await fixture(t, { authTimeoutMs: 2000 });
  const good = goodClient(t, gw.url, TOKEN);
  const anon = await raw(gw.url, { auth: false, readsFrames: true });
  const frames = framesOf(Array.from({ length: 100 }, (_, i) => envelope(BROKER, sendV2(ATTACK), i)));
  for (let i = 0; i < 200 && anon.ws.readyState === WebSocket.OPEN; i++) anon.ws.send(frames);
  assert.equal(await anon.closed, CloseCode.UNAUTHORIZED);
  assert.equal(anon.answers.length, 0);
  assert.equal(attackSends(broker), 0, 'nothing relayed');
  const r = await good.stop();
  assert.deepEqual(r.failures, []);
  assert.ok(r.ok > 0);
});

test('a client that reads FRAMES and never reads its socket is still closed as a slow reader (4410)', async (t) => {
  const { gw } = await fixture(t, { outboundPauseBytes: 64 * 1024, maxOutboundBytes: 256 * 1024, slowReaderTimeoutMs: 1000, rate: { perSecond: 1e6, burst: 1e6 } });
  const good = goodClient(t, gw.url, TOKEN);
  const bad = await raw(gw.url, { readsFrames: true });
  await new Promise((r) => setTimeout(r, 50));
  (bad.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const route = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-events' });
  const msg = framesOf(Array.from({ length: 100 }, (_, i) => envelope(NAMESRV_TARGET, route, i)));
  assert.ok(msg.length <= MAX_FRAMES_BYTES);
  for (let i = 0; i < 400 && bad.ws.readyState === WebSocket.OPEN; i++) {
    bad.ws.send(msg);
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => gw.connections === 1, 20_000, 'the non-reading client closed');
  const m = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  assert.match(m, /rocketmq_edge_refusals_total\{reason="slow_reader"\} 1/);
  const r = await good.stop();
  assert.deepEqual(r.failures, []);
});
