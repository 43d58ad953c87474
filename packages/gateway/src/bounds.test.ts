// Every per-connection resource is bounded, tried as an attacker would, with a well-behaved client
// beside the attacker whose requests must keep succeeding.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import {
  NAMESRV_TARGET,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  createResponse,
  encodeCommand,
  encodeFrame,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { encodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import { startGateway, type GatewayOptions } from './index.js';
import { SILENT_FLAG, clusterInfoBody, routeBody, sleep, startFakeCluster, startFakeRemoting, waitFor } from './test-support.js';

const TOKEN = 'bounds-token';

/** Two fake brokers (sends with flag SILENT_FLAG are never answered) and a name server. */
async function fixture(t: TestContext, extra: Partial<GatewayOptions> = {}) {
  const { namesrv, brokers: [a, b] } = await startFakeCluster(t, ['broker-a', 'broker-b']);
  const gw = await startGateway({
    namesrvAddr: namesrv.addr,
    auth: { staticTokens: { [TOKEN]: { sub: 'bounds', topics: ['orders-*'], subscribe: ['orders-*'], consumerGroups: ['g'] } } },
    logLevel: 'silent',
    ...extra,
  });
  t.after(() => gw.close());
  return { gw, a: a!, b: b! };
}

const send = (topic: string, extra: Record<string, string> = {}, body: Uint8Array = new Uint8Array(16)) =>
  createRequest(RequestCode.SEND_MESSAGE_V2, { a: 'g', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: '1', h: '0', j: '0', k: 'false', m: 'false', ...extra }, { body });
const route = (topic: string) => createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });

/** A well-behaved client: a RemotingClient over the real WebSocketTransport. */
async function goodClient(t: TestContext, url: string) {
  const transport = new WebSocketTransport({ url, token: TOKEN, heartbeatIntervalMs: 0 });
  const client = new RemotingClient(transport);
  t.after(async () => { await client.close(); await transport.close(); });
  assert.equal((await client.invoke(NAMESRV_TARGET, route('orders-1'), 3000)).code, ResponseCode.SUCCESS);
  return client;
}

/** Sends `n` requests from the good client one after another; all must succeed. */
async function goodSends(client: RemotingClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await client.invoke('broker-a@0', send('orders-1'), 3000);
    assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
  }
}

/** A raw socket that authenticates and can be told to stop reading. */
async function rawClient(url: string, protocols = ['rocketmq-edge.v1', `bearer.${TOKEN}`]) {
  const ws = new WebSocket(url, protocols);
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('error', () => {});
  const texts: string[] = [];
  ws.on('message', (d, binary) => { if (!binary) texts.push(String(d)); });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  return { ws, closed, texts, socket: (ws as unknown as { _socket: Socket })._socket };
}

test('a client that never reads: the gateway stops reading it, then closes it with 4410; memory stays bounded; a good client is unaffected', async (t) => {
  const { gw } = await fixture(t, {
    outboundPauseBytes: 64 * 1024, maxOutboundBytes: 256 * 1024, slowReaderTimeoutMs: 1000, rate: { perSecond: 1e6, burst: 1e6 },
  });
  const good = await goodClient(t, gw.url);
  const bad = await rawClient(gw.url);
  await waitFor(() => bad.texts.some((x) => x.includes('hello')), 3000, 'hello');
  bad.socket.pause(); // never reads again
  const before = process.memoryUsage().rss;
  // Each route answer is ~400 bytes: 40,000 requests would owe the client ~16 MB.
  const frame = encodeEnvelope(NAMESRV_TARGET, encodeCommand({ ...route('orders-1'), opaque: 1 }));
  const flooding = (async () => {
    for (let i = 0; i < 40_000 && bad.ws.readyState === WebSocket.OPEN; i++) {
      bad.ws.send(frame);
      if (i % 500 === 0) await sleep(1);
    }
  })();
  await goodSends(good, 50);
  await flooding;
  await waitFor(() => gw.connections === 1, 20_000, 'the non-reading client closed');
  const m = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  assert.match(m, /rocketmq_edge_refusals_total\{reason="slow_reader"\} 1/);
  assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'the gateway did not buffer what the client would not read');
  await goodSends(good, 20);
});

test('floods before authentication: at most preAuthMessages, then 4400; pings after it share the request rate', async (t) => {
  const { gw } = await fixture(t, { rate: { perSecond: 10, burst: 20 } });
  const good = await goodClient(t, gw.url);
  const anon = await rawClient(gw.url, ['rocketmq-edge.v1']);
  for (let i = 0; i < 200; i++) anon.ws.send(JSON.stringify({ type: 'ping', id: i }));
  assert.equal(await anon.closed, 4400);
  assert.ok(anon.texts.length <= 8, `answered ${anon.texts.length} pings before authentication`);
  const authed = await rawClient(gw.url);
  await waitFor(() => authed.texts.length > 0, 3000, 'hello');
  const started = performance.now();
  for (let i = 0; i < 500; i++) authed.ws.send(JSON.stringify({ type: 'ping', id: i }));
  await sleep(300);
  const pongs = authed.texts.filter((x) => x.includes('pong')).length;
  // burst 20, then 10 per second for as long as this took
  const allowed = 20 + Math.ceil(((performance.now() - started) / 1000) * 10) + 1;
  assert.ok(pongs >= 20 && pongs <= allowed, `pongs are rate limited like requests (got ${pongs} of 500, at most ${allowed})`);
  authed.ws.close();
  // Control messages larger than any token are a violation, not something to parse.
  const big = await rawClient(gw.url, ['rocketmq-edge.v1']);
  big.ws.send(JSON.stringify({ type: 'auth', token: 'x'.repeat(64 * 1024) }));
  assert.equal(await big.closed, 4400);
  await goodSends(good, 5);
});

test('a broker that never answers holds in-flight slots only for each request\'s own budget', async (t) => {
  const { gw } = await fixture(t, { maxInFlightPerConnection: 20 });
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN, heartbeatIntervalMs: 0 });
  const client = new RemotingClient(transport);
  t.after(async () => { await client.close(); await transport.close(); });
  await client.invoke(NAMESRV_TARGET, route('orders-1'), 3000);
  // 20 sends to the silent broker with a 300 ms budget each fill every slot, then time out.
  const stuck = await Promise.allSettled(Array.from({ length: 20 }, () => client.invoke('broker-b@0', send('orders-1', { h: SILENT_FLAG }), 300)));
  assert.ok(stuck.every((r) => r.status === 'rejected'), 'the silent broker answers nothing');
  await sleep(250); // the gateway's sweep runs every 100 ms
  const r = await client.invoke('broker-a@0', send('orders-1'), 3000);
  assert.equal(r.code, ResponseCode.SUCCESS, `slots were freed at the client's deadline (${r.remark})`);
  assert.equal(gw.pendingUpstream(), 0);
});

test('a batch of many tiny records is refused before it reaches a broker', async (t) => {
  const { gw, a } = await fixture(t, { maxBatchMessages: 1024 });
  const good = await goodClient(t, gw.url);
  // 190,000 empty 22-byte records in one 4 MiB body.
  const n = 190_000;
  const body = new Uint8Array(22 * n);
  const v = new DataView(body.buffer);
  for (let i = 0; i < n; i++) v.setInt32(i * 22, 22);
  const batch = send('orders-1', { m: 'true' }, body);
  batch.code = RequestCode.SEND_BATCH_MESSAGE;
  const r = await good.invoke('broker-a@0', batch, 5000);
  assert.equal(r.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.match(r.remark ?? '', /at most 1024 messages/);
  assert.equal(a.received.filter((c) => c.code === RequestCode.SEND_BATCH_MESSAGE).length, 0);
  await goodSends(good, 5);
});

test('consumer requests are checked like sends: every topic, in headers and bodies; send-back is never relayed', async (t) => {
  const { gw, a } = await fixture(t, { enableConsumer: true });
  const good = await goodClient(t, gw.url);
  const expect = async (cmd: RemotingCommand, code: number, remark: RegExp) => {
    const r = await good.invoke('broker-a@0', cmd, 3000);
    assert.equal(r.code, code, r.remark);
    assert.match(r.remark ?? '', remark);
  };
  await expect(createRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: '0', group: 'g', delayLevel: '0', originTopic: 'orders-1' }), 16, /not allowed/);
  const lock = (topic: string) => createRequest(RequestCode.LOCK_BATCH_MQ, undefined, {
    body: new TextEncoder().encode(JSON.stringify({ consumerGroup: 'g', clientId: 'c', mqSet: [{ topic: 'orders-1', brokerName: 'broker-a', queueId: 0 }, { topic, brokerName: 'broker-a', queueId: 0 }] })),
  });
  await expect(lock('payments'), 16, /may not read topic "payments"/);
  const pull = (extra: Record<string, string>) => createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: 'g', topic: 'orders-1', queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '0', commitOffset: '0',
    suspendTimeoutMillis: '0', subVersion: '0', ...extra,
  });
  await expect(pull({ topic: 'payments' }), 16, /may not read topic "payments"/);
  await expect(pull({ offset: '0' }), 13, /"offset" is not part of request code 11/);
  assert.equal(a.received.filter((c) => c.code !== RequestCode.SEND_MESSAGE_V2).length, 0, 'nothing refused reached the broker');
  assert.equal((await good.invoke('broker-a@0', lock('orders-2'), 3000)).code, ResponseCode.SUCCESS, 'an allowed lock is relayed');
  const relayed = a.received.find((c) => c.code === RequestCode.LOCK_BATCH_MQ)!;
  assert.deepEqual(JSON.parse(new TextDecoder().decode(relayed.body)).mqSet.map((q: { topic: string }) => q.topic), ['orders-1', 'orders-2']);
});

test('many clients each within their own limits cannot queue a broker full in front of a good client: fair shares past maxUpstreamInFlight', async (t) => {
  // A broker that answers one request every 2 ms, in order (a saturated broker).
  let queue = Promise.resolve();
  const slow = await startFakeRemoting((cmd, socket) => {
    queue = queue.then(async () => {
      await sleep(2);
      if (!socket.destroyed) socket.write(encodeFrame(createResponse(cmd, ResponseCode.SUCCESS, undefined, { msgId: 'M', queueId: '0', queueOffset: '0' })));
    });
    return 'silent';
  });
  const list = [{ name: 'broker-a', addr: slow.addr }];
  const namesrv = await startFakeRemoting((cmd) =>
    createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, cmd.code === RequestCode.GET_ROUTEINFO_BY_TOPIC ? routeBody(list) : clusterInfoBody(list)));
  const gw = await startGateway({
    namesrvAddr: namesrv.addr, auth: { staticTokens: { [TOKEN]: { sub: 'fair', topics: ['orders-*'] } } }, logLevel: 'silent',
    maxUpstreamInFlight: 64, rate: { perSecond: 1e6, burst: 1e6 },
  });
  t.after(async () => { await gw.close(); await slow.close(); await namesrv.close(); });
  const good = await goodClient(t, gw.url);
  // Four clients fire 1,000 sends each at once: 8 s of work for this broker.
  const attackers = await Promise.all([1, 2, 3, 4].map(() => goodClient(t, gw.url)));
  const flood = attackers.flatMap((c) => Array.from({ length: 1000 }, () => c.invoke('broker-a@0', send('orders-1'), 20_000).catch((e: Error) => e)));
  await sleep(50);
  const t0 = performance.now();
  await goodSends(good, 3);
  const waited = performance.now() - t0;
  const answers = await Promise.all(flood);
  const busy = answers.filter((r) => !(r instanceof Error) && r.code === ResponseCode.SYSTEM_BUSY && /fair share/.test(r.remark ?? ''));
  assert.ok(busy.length > 3000, `past the gateway-wide bound each client is held to its share (${busy.length} refused)`);
  assert.ok(waited < 3000, `the good client waited behind at most ~64 requests, not 4,000 (${waited.toFixed(0)} ms for 3 sends)`);
});
