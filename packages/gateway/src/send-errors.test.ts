// The README's "Errors" table, proven: each condition a user meets is provoked with real parts —
// core's Producer over WebSocketTransport through a started gateway to a name server and broker
// over TCP, and, where the condition exists without a gateway, over TcpTransport straight to them —
// and each error is checked for its class, its responseCode and a message that names the cause.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import {
  GATEWAY_DENIED,
  MQBrokerError,
  MQClientError,
  Producer,
  RemotingConnectError,
  RemotingTimeoutError,
  type Message,
  type ProducerOptions,
  type Transport,
} from '@rocketmq-edge/core/internal';
import { startEmbedded, type EmbeddedOptions } from '@rocketmq-edge/broker';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport, type WebSocketTransportOptions } from '@rocketmq-edge/transport-ws';
import { startGateway, type Gateway, type GatewayOptions } from './index.js';
import { goodClient, spawnBroker, waitFor } from './test-support.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
/** A static token for topics orders-* and demo-events (the good client's topic). */
const TOKEN = 'orders-token';
const AUTH: GatewayOptions['auth'] = { jwt: { secret: SECRET }, staticTokens: { [TOKEN]: { sub: 'shop', topics: ['orders-*', 'demo-events'] } } };
const msg = (topic: string, body = 'hello'): Message => ({ topic, body });
const jwt = (exp: number) =>
  new SignJWT({ topics: ['orders-*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

async function embedded(t: TestContext, opts: Partial<EmbeddedOptions> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-errors-'));
  const emb = await startEmbedded({ dataDir: dir, ...opts });
  t.after(async () => { await emb.close(); await rm(dir, { recursive: true, force: true }); });
  return emb.namesrvAddr;
}

async function gateway(t: TestContext, namesrvAddr: string, extra: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const gw = await startGateway({ namesrvAddr, auth: AUTH, logLevel: 'silent', ...extra });
  t.after(() => gw.close());
  return gw;
}

/** A started Producer over `transport`, shut down after the test. */
async function producer(t: TestContext, transport: Transport, opts: Partial<ProducerOptions> = {}): Promise<Producer> {
  const p = new Producer({ transport, producerGroup: 'errors-test', ...opts });
  t.after(async () => { await p.shutdown(); await transport.close(); });
  await p.start();
  return p;
}

const overWs = (t: TestContext, gw: Gateway, opts: Partial<WebSocketTransportOptions> = {}, popts: Partial<ProducerOptions> = {}) =>
  producer(t, new WebSocketTransport({ url: gw.url, token: TOKEN, ...opts }), popts);
const overTcp = (t: TestContext, namesrvAddr: string, popts: Partial<ProducerOptions> = {}) =>
  producer(t, new TcpTransport({ namesrvAddr }), popts);

/** Request frames the gateway received, by request code (its /metrics counter). */
async function framesIn(gw: Gateway): Promise<Record<string, number>> {
  const m = await gw.metrics.registry.getSingleMetric('rocketmq_edge_frames_in_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.code), v.value]));
}

/** An address nobody listens on (the port was just free). */
async function deadAddr(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

/** Rejects with `cls`; returns the error for further checks. */
async function rejection<E extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  const e = await p.then(() => assert.fail('expected a rejection'), (err: unknown) => err);
  assert.ok(e instanceof cls, `${String(e)} is not a ${cls.name}`);
  return e as E;
}

test('validation: MQClientError -1 (topic) or 13 (body) naming the rule, before any request leaves', async (t) => {
  const namesrv = await embedded(t);
  const gw = await gateway(t, namesrv);
  for (const p of [await overWs(t, gw, {}, { maxMessageSize: 10 }), await overTcp(t, namesrv, { maxMessageSize: 10 })]) {
    const topic = await rejection(p.send(msg('orders 1')), MQClientError);
    assert.equal(topic.responseCode, -1);
    assert.match(topic.message, /^topic "orders 1" contains " " at index 6; allowed: letters, digits/);
    const body = await rejection(p.send(msg('orders-1', 'x'.repeat(11))), MQClientError);
    assert.equal(body.responseCode, 13);
    assert.equal(body.message, 'the message body is 11 bytes; the limit (maxMessageSize) is 10');
  }
  assert.deepEqual(await framesIn(gw), {}, 'nothing reached the gateway');
});

test('no name server: none configured → MQClientError 10004; unreachable → the gateway\'s code 1 and remark, or over TCP RemotingConnectError', async (t) => {
  const none = await producer(t, new TcpTransport({}));
  const unset = await rejection(none.send(msg('orders-1')), MQClientError);
  assert.equal(unset.responseCode, 10004);
  assert.match(unset.message, /No name server address configured: pass namesrvAddr/);

  const dead = await deadAddr();
  const gw = await gateway(t, dead);
  const viaGw = await rejection((await overWs(t, gw)).send(msg('orders-1')), MQClientError);
  assert.equal(viaGw.responseCode, 1);
  assert.equal(viaGw.message, 'Route lookup of topic orders-1: namesrv answered code 1: upstream name server unavailable (connect ECONNREFUSED)');

  const viaTcp = await rejection((await overTcp(t, dead)).send(msg('orders-1')), RemotingConnectError);
  assert.equal(viaTcp.addr, dead);
  assert.match(viaTcp.message, /ECONNREFUSED/);
});

test('no route: the topic does not exist and auto-creation is off → MQClientError 10005 saying to create it', async (t) => {
  const namesrv = await embedded(t, { autoCreateTopicEnable: false });
  const gw = await gateway(t, namesrv);
  for (const p of [await overWs(t, gw), await overTcp(t, namesrv)]) {
    const e = await rejection(p.send(msg('orders-unknown')), MQClientError);
    assert.equal(e.responseCode, 10005);
    assert.equal(e.message, 'No route info of this topic: orders-unknown: create it, or enable autoCreateTopicEnable on the broker');
  }
});

test('a broker that stops answering → RemotingTimeoutError (budget used up); one that is gone → connect failure after every retry', async (t) => {
  // A gateway nobody listens on: the transport keeps reconnecting, the send waits within its budget.
  const nowhere = await producer(t, new WebSocketTransport({ url: `ws://${await deadAddr()}/rmq`, token: TOKEN }));
  const unreachable = await rejection(nowhere.send(msg('orders-slow'), { timeout: 500 }), RemotingTimeoutError);
  // The route lookup waits for what is left of the 500 ms budget (a millisecond may have gone).
  const waited = Number(/^no response from namesrv within (\d+) ms$/.exec(unreachable.message)?.[1]);
  assert.ok(waited > 400 && waited <= 500, unreachable.message);
  const short = await producer(t, new WebSocketTransport({ url: `ws://${await deadAddr()}/rmq`, token: TOKEN, connectTimeoutMs: 200 }));
  const notReady = await rejection(short.send(msg('orders-slow'), { timeout: 500 }), RemotingConnectError);
  assert.equal(notReady.message, 'cannot reach namesrv: gateway not ready within 200 ms');

  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-errors-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const broker = await spawnBroker(t, { dataDir: dir });
  const gw = await gateway(t, broker.namesrvAddr);
  const ws = await overWs(t, gw);
  const tcp = await overTcp(t, broker.namesrvAddr);
  for (const p of [ws, tcp]) assert.equal((await p.send(msg('orders-slow'))).sendStatus, 'SEND_OK'); // routes cached

  broker.child.kill('SIGSTOP'); // alive, connected, silent
  for (const [p, addr] of [[ws, 'broker-a@0'], [tcp, broker.brokerAddr]] as const) {
    const e = await rejection(p.send(msg('orders-slow'), { timeout: 1500 }), RemotingTimeoutError);
    assert.equal(e.timeoutMs, 1500);
    assert.match(e.message, /^Send \[1\] times, still failed, .*Topic: orders-slow, BrokersSent: \[broker-a\]: out of time \(sendMsgTimeout \/ SendOptions.timeout\); last error: RemotingTimeoutError: no response from (\S+) within \d+ ms$/);
    assert.equal(/from (\S+) within/.exec(e.message)![1], addr);
    assert.ok(e.cause instanceof RemotingTimeoutError);
  }

  await broker.kill(); // the port is closed now
  const viaTcp = await rejection(tcp.send(msg('orders-slow')), MQClientError);
  assert.equal(viaTcp.responseCode, 10001);
  assert.match(viaTcp.message, /^Send \[3\] times, still failed, .*BrokersSent: \[broker-a, broker-a, broker-a\]; last error: RemotingConnectError: cannot reach 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  // Through the gateway the connect failure is the gateway's answer: code 1, which is retried.
  const viaGw = await rejection(ws.send(msg('orders-slow')), MQClientError);
  assert.equal(viaGw.responseCode, 1);
  assert.match(viaGw.message, /^Send \[3\] times, still failed, .*last error: MQBrokerError: broker broker-a@0 answered code 1: upstream broker broker-a@0 unavailable.*ECONNREFUSED/);
  assert.ok(viaGw.cause instanceof MQBrokerError);
});

test('permission: a topic outside the token\'s claim is refused once, naming the claim, never retried', async (t) => {
  const namesrv = await embedded(t);
  const gw = await gateway(t, namesrv);
  // A fresh producer: the route lookup is refused, so no send is even tried.
  const fresh = await overWs(t, gw);
  const lookup = await rejection(fresh.send(msg('payments')), MQClientError);
  assert.equal(lookup.responseCode, 16);
  assert.equal(lookup.message, `Route lookup of topic payments: namesrv answered code 16: ${GATEWAY_DENIED} token of "shop" may not use topic "payments": ` +
    'the token\'s "topics" claim [orders-*, demo-events] does not allow it; ask for a token whose claim covers it');
  assert.deepEqual(await framesIn(gw), { 105: 1 });

  // A producer with the route cached when the operator narrows the token's claim (same token, a
  // gateway restarted with new grants): the send itself is refused, once.
  const before = await gateway(t, namesrv, { auth: { staticTokens: { 'wide-token': { sub: 'ops', topics: ['*'] } } } });
  const transport = new WebSocketTransport({ url: before.url, token: 'wide-token', reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
  const p = await producer(t, transport);
  assert.equal((await p.send(msg('payments'))).sendStatus, 'SEND_OK');
  await before.close();
  const after = await gateway(t, namesrv, { port: before.port, auth: { staticTokens: { 'wide-token': { sub: 'ops', topics: ['orders-*'] } } } });
  await waitFor(() => transport.state.type === 'connected', 10_000, 'reconnected');
  const send = await rejection(p.send(msg('payments')), MQBrokerError);
  assert.equal(send.responseCode, 16);
  assert.ok(send.remark.startsWith(GATEWAY_DENIED));
  assert.match(send.message, /the token's "topics" claim \[orders-\*\] does not allow it/);
  assert.doesNotMatch(send.message, /retryTimesWhenSendFailed/);
  assert.deepEqual(await framesIn(after), { 310: 1 }, 'one send request, no retry, no route lookup');
});

test('refused connections (no token, unknown token, expired JWT, foreign Origin) fail the send with the gateway\'s reason, at once; a good client is unaffected', async (t) => {
  const namesrv = await embedded(t);
  const gw = await gateway(t, namesrv, { authTimeoutMs: 60_000 }); // a wait for the auth timeout would hang the test
  const good = goodClient(t, gw.url, TOKEN);
  const foreign = (url: string, protocols: string[]) => new WebSocket(url, protocols, { headers: { Origin: 'https://evil.example' } });
  const cases: [string, Partial<WebSocketTransportOptions>, RegExp][] = [
    ['no token', { token: undefined }, /\(4401 no token: this gateway requires one/],
    ['unknown token', { token: 'nope' }, /\(4401 unknown token \(not a static token, not a JWT\)\)/],
    ['expired JWT', { token: await jwt(Math.floor(Date.now() / 1000) - 60) }, /\(4401 token expired: get a fresh token\)/],
    ['foreign Origin', { webSocketFactory: foreign as unknown as WebSocketTransportOptions['webSocketFactory'] }, /\(4403 origin not allowed\)/],
  ];
  for (const [name, opts, reason] of cases) {
    const transport = new WebSocketTransport({ url: gw.url, token: TOKEN, ...opts });
    const p = await producer(t, transport, { sendMsgTimeout: 60_000 }); // a wait would end in a timeout, not this error
    for (let i = 0; i < 2; i++) { // the second send is refused by the transport itself: no new connection
      const e = await rejection(p.send(msg('orders-1')), RemotingConnectError);
      assert.match(e.message, /^cannot reach namesrv: refused by the gateway \(44\d\d /, name);
      assert.match(e.message, reason, name);
      assert.match(e.message, /: not retrying$/, name);
    }
    assert.equal(transport.state.type, 'refused', name);
  }
  const { ok, failures } = await good.stop();
  assert.ok(ok > 0, 'the good client kept sending');
  assert.deepEqual(failures, []);
  const m = await gw.metrics.registry.getSingleMetric('rocketmq_edge_refusals_total')!.get();
  const refusals = Object.fromEntries(m.values.map((v) => [String(v.labels.reason), v.value]));
  assert.deepEqual(refusals, { unauthorized: 3, forbidden_origin: 1 }, 'one connection each: refusals are not retried');
});
