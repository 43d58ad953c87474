// Deny by default: every refusal with the right close code or remoting response; fuzzing never
// crashes the gateway nor disturbs a well-behaved client; ops endpoints.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import {
  NAMESRV_TARGET,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  createResponse,
  decodeCommand,
  encodeBatchBody,
  encodeCommand,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { WebSocketTransport, type ConnectionState } from '@rocketmq-edge/transport-ws';
import { decodeEnvelope, encodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import { startGateway, type GatewayOptions } from './index.js';
import { SILENT_FLAG, sleep, startFakeCluster, waitFor } from './test-support.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
const enc = new TextEncoder();
const jwt = (claims: Record<string, unknown>, exp: string | number = '1h', secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(exp).sign(enc.encode(secret));

async function fixture(t: TestContext, extra: Partial<GatewayOptions> = {}) {
  const { namesrv, broker } = await startFakeCluster(t);
  const gw = await startGateway({
    namesrvAddr: namesrv.addr,
    auth: { jwt: { secret: SECRET }, staticTokens: { 'static-dev': { sub: 'dev', topics: ['*'] } } },
    logLevel: 'silent',
    ...extra,
  });
  t.after(() => gw.close());
  return { gw, broker, namesrv };
}

/** A raw client: open a socket with the given subprotocols/origin, send enveloped commands. */
async function raw(url: string, protocols: string[], headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, protocols, { headers });
  const responses = new Map<number, (c: RemotingCommand) => void>();
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
  let hello = false;
  ws.on('message', (d, bin) => {
    if (!bin) { if (JSON.parse(String(d)).type === 'hello') hello = true; return; }
    const cmd = decodeCommand(decodeEnvelope(d as Buffer).frame);
    responses.get(cmd.opaque)?.(cmd);
  });
  ws.on('error', () => {});
  let opaque = 1;
  return {
    ws, closed,
    get hello() { return hello; },
    request(target: string, cmd: RemotingCommand): Promise<RemotingCommand> {
      cmd.opaque = opaque++;
      return new Promise((resolve, reject) => {
        responses.set(cmd.opaque, resolve);
        setTimeout(() => reject(new Error('no response')), 3000);
        ws.send(encodeEnvelope(target, encodeCommand(cmd)));
      });
    },
  };
}
const opened = (c: { hello: boolean }) => waitFor(() => c.hello, 3000, 'hello');

const sendV2 = (topic: string, extra: Record<string, string> = {}, body: Uint8Array = new Uint8Array(8)) =>
  createRequest(RequestCode.SEND_MESSAGE_V2, { a: 'g', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: '1', h: '0', j: '0', k: 'false', m: 'false', ...extra }, { body });

async function refusedState(url: string, token: string | undefined): Promise<ConnectionState> {
  const tr = new WebSocketTransport({ url, ...(token !== undefined ? { token } : {}), reconnect: { initialDelayMs: 10 } });
  try {
    await tr.connect(NAMESRV_TARGET, { onFrame() {}, onClose() {} }).catch(() => {});
    return tr.state;
  } finally {
    await tr.close();
  }
}

test('connection refusals: no token, bad signature, expired token, no topics claim, disallowed Origin', async (t) => {
  const { gw } = await fixture(t, { authTimeoutMs: 300 });
  // no token at all: the gateway waits authTimeoutMs for an auth message, then 4408
  const none = await raw(gw.url, ['rocketmq-edge.v1']);
  assert.equal((await none.closed).code, 4408);
  // an explicitly empty/unknown token
  const s1 = await refusedState(gw.url, 'nope');
  assert.equal(s1.type, 'refused');
  assert.equal((s1 as { code?: number }).code, 4401);
  const bad = await refusedState(gw.url, await jwt({ topics: ['*'] }, '1h', 'another-secret-another-secret-another-secret'));
  assert.deepEqual([bad.type, (bad as { code?: number }).code], ['refused', 4401]);
  assert.match((bad as { reason: string }).reason, /signature/);
  const expired = await refusedState(gw.url, await jwt({ topics: ['*'] }, Math.floor(Date.now() / 1000) - 60));
  assert.deepEqual([expired.type, (expired as { code?: number }).code], ['refused', 4401]);
  assert.match((expired as { reason: string }).reason, /expired/);
  const noTopics = await refusedState(gw.url, await jwt({}));
  assert.match((noTopics as { reason: string }).reason, /topics/);
  // Origin: a foreign page is refused, the gateway's own page and non-browser clients are not
  const evil = await raw(gw.url, ['rocketmq-edge.v1', 'bearer.static-dev'], { Origin: 'https://evil.example' });
  assert.equal((await evil.closed).code, 4403);
  const own = await raw(gw.url, ['rocketmq-edge.v1', 'bearer.static-dev'], { Origin: gw.httpUrl });
  await opened(own);
  own.ws.close();
  // auth by control message works
  const msgAuth = await raw(gw.url, ['rocketmq-edge.v1']);
  await new Promise((r) => msgAuth.ws.once('open', r));
  msgAuth.ws.send(JSON.stringify({ type: 'auth', token: await jwt({ topics: ['x'] }) }));
  await opened(msgAuth);
  msgAuth.ws.close();
  const m = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  assert.match(m, /rocketmq_edge_refusals_total\{reason="unauthorized"\} [4-9]/);
  assert.match(m, /rocketmq_edge_refusals_total\{reason="forbidden_origin"\} 1/);
});

test('public-key JWTs (ES256, RS256) verify; token expiry during the session closes with 4419', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { gw } = await fixture(t, { auth: { jwt: { publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }) as string, issuer: 'me', clockToleranceSec: 1 } } });
  const exp = Math.floor(Date.now() / 1000) + 2;
  const ok = await new SignJWT({ topics: ['*'] }).setProtectedHeader({ alg: 'ES256' }).setIssuer('me')
    .setExpirationTime(exp).sign(ec.privateKey);
  const c = await raw(gw.url, ['rocketmq-edge.v1', `bearer.${ok}`]);
  await opened(c);
  const wrongIss = await new SignJWT({ topics: ['*'] }).setProtectedHeader({ alg: 'ES256' }).setIssuer('other').setExpirationTime('1h').sign(ec.privateKey);
  assert.equal((await (await raw(gw.url, ['rocketmq-edge.v1', `bearer.${wrongIss}`])).closed).code, 4401);
  const closed = await c.closed;
  assert.equal(closed.code, 4419);
  // at exp + tolerance, when verify starts refusing the same token, not at exp
  assert.ok(Date.now() >= (exp + 1) * 1000 - 20, `closed ${(exp + 1) * 1000 - Date.now()} ms before exp + tolerance`);

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const gw2 = await startGateway({ namesrvAddr: '127.0.0.1:1', auth: { jwt: { publicKey: rsa.publicKey } }, logLevel: 'silent' });
  t.after(() => gw2.close());
  const rs = await new SignJWT({ topics: ['*'] }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(rsa.privateKey);
  const c2 = await raw(gw2.url, ['rocketmq-edge.v1', `bearer.${rs}`]);
  await opened(c2);
  c2.ws.close();
  // an HS256 token forged with the public key as secret is not accepted (algorithm confusion)
  const forged = await new SignJWT({ topics: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h')
    .sign(enc.encode(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string));
  assert.equal((await (await raw(gw2.url, ['rocketmq-edge.v1', `bearer.${forged}`])).closed).code, 4401);
});

test('frame refusals: topic not in claims, admin code, consumer code, non-alias target, oversize, rate limit, in-flight', async (t) => {
  const { gw, broker } = await fixture(t, { maxFrameBytes: 64 * 1024, rate: { perSecond: 20, burst: 40 }, maxInFlightPerConnection: 3 });
  const c = await raw(gw.url, ['rocketmq-edge.v1', `bearer.${await jwt({ topics: ['orders-*', 'demo-events'] })}`]);
  await opened(c);
  t.after(() => c.ws.close());
  const route = await c.request(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'orders-eu' }));
  assert.equal(route.code, ResponseCode.SUCCESS);
  const tbw = await c.request(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TBW102' }));
  assert.equal(tbw.code, ResponseCode.SUCCESS, 'the default topic route stays readable for auto-created topics');
  const expectNo = async (target: string, cmd: RemotingCommand, code: number, remark: RegExp) => {
    const r = await c.request(target, cmd);
    assert.equal(r.code, code, r.remark);
    assert.match(r.remark ?? '', remark);
  };
  await expectNo(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'payments' }), 16, /may not use topic "payments".*orders-\*/);
  await expectNo('broker-a@0', sendV2('payments'), 16, /may not use topic/);
  await expectNo('broker-a@0', createRequest(RequestCode.SEND_MESSAGE, {
    producerGroup: 'g', topic: 'payments', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0', bornTimestamp: '1', flag: '0',
  }, { body: new Uint8Array(8) }), 16, /may not use topic/);
  const batch = sendV2('payments', { m: 'true' }, encodeBatchBody([{ topic: 'payments', body: new Uint8Array(4), flag: 0, properties: {} }]));
  batch.code = RequestCode.SEND_BATCH_MESSAGE;
  await expectNo('broker-a@0', batch, 16, /may not use topic/);
  await expectNo('broker-a@0', sendV2('RMQ_SYS_TRANS_HALF_TOPIC'), 16, /system topic|may not use/);
  await expectNo('broker-a@0', createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'orders-x' }), 16, /admin/);
  await expectNo(NAMESRV_TARGET, createRequest(215, { topic: 'orders-x' }), 16, /admin/);
  await expectNo('broker-a@0', createRequest(RequestCode.PULL_MESSAGE, { topic: 'orders-x' }), 16, /consumer/);
  await expectNo('broker-a@0', createRequest(4242, {}), 16, /not allowed/);
  await expectNo(broker.addr, sendV2('orders-x'), 16, /unknown broker alias/);
  await expectNo('10.0.0.1:10911', sendV2('orders-x'), 16, /unknown broker alias/);
  await expectNo('broker-a@0', sendV2('orders-x', {}, new Uint8Array(70 * 1024)), 13, /exceeds.*65536/);
  assert.equal(broker.received.filter((r) => r.extFields?.b !== 'orders-eu').length, 0, 'nothing refused reached the broker');
  // in-flight: 3 silent requests, the 4th is refused
  const silent = [1, 2, 3].map(() => c.request('broker-a@0', sendV2('orders-x', { h: SILENT_FLAG })).catch(() => undefined));
  await expectNo('broker-a@0', sendV2('orders-x'), 2, /TOO_MANY_REQUESTS/);
  void silent;
  // rate: burst 40 spent quickly → SYSTEM_BUSY (on a fresh connection: this one's in-flight slots are taken)
  const f = await raw(gw.url, ['rocketmq-edge.v1', `bearer.${await jwt({ topics: ['orders-*'] })}`]);
  await opened(f);
  t.after(() => f.ws.close());
  const flood = await Promise.all(Array.from({ length: 60 }, () => f.request(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'orders-eu' }))));
  const busy = flood.filter((r) => r.code === ResponseCode.SYSTEM_BUSY && /RATE_LIMIT/.test(r.remark ?? ''));
  assert.ok(busy.length >= 10, `rate limited ${busy.length}`);
  assert.match(busy[0]!.remark ?? '', /RATE_LIMIT/);
  // the connection survives all of it
  assert.equal(c.ws.readyState, WebSocket.OPEN);
});

test('protocol violations close with 4400; fuzzed frames never crash the gateway nor disturb a good client', async (t) => {
  const { gw } = await fixture(t);
  const good = new WebSocketTransport({ url: gw.url, token: 'static-dev' });
  const client = new RemotingClient(good);
  t.after(async () => { await client.close(); await good.close(); });
  let stop = false;
  let goodOk = 0;
  const goodLoop = (async () => {
    while (!stop) {
      const r = await client.invoke('broker-a@0', sendV2('demo-events'), 3000);
      assert.equal(r.code, ResponseCode.SUCCESS);
      goodOk++;
    }
  })();
  const text = await raw(gw.url, ['rocketmq-edge.v1', 'bearer.static-dev']);
  await opened(text);
  text.ws.send('not json');
  assert.equal((await text.closed).code, 4400);
  const valid = encodeEnvelope('broker-a@0', encodeCommand({ ...sendV2('demo-events'), opaque: 1 }));
  let closes = 0;
  for (let round = 0; round < 30; round++) {
    const c = await raw(gw.url, ['rocketmq-edge.v1', 'bearer.static-dev']);
    await opened(c);
    for (let i = 0; i < 20 && c.ws.readyState === WebSocket.OPEN; i++) {
      const kind = (round + i) % 4;
      let msg: Buffer;
      if (kind === 0) msg = randomBytes(1 + (i * 37) % 300);
      else if (kind === 1) { msg = Buffer.from(valid); for (let k = 0; k < 5; k++) msg[Math.floor(Math.random() * msg.length)] = Math.floor(Math.random() * 256); }
      else if (kind === 2) msg = Buffer.from(valid.subarray(0, Math.floor(Math.random() * valid.length)));
      else msg = Buffer.concat([Buffer.from([0x11, 3]), Buffer.from('abc'), randomBytes(8)]);
      c.ws.send(msg);
    }
    if ((await Promise.race([c.closed, sleep(300).then(() => undefined)]))?.code === 4400) closes++;
    c.ws.terminate();
  }
  stop = true;
  await goodLoop;
  assert.ok(closes > 10, `violations closed ${closes}`);
  assert.ok(goodOk > 20, `good client kept working (${goodOk})`);
  assert.equal((await fetch(`${gw.httpUrl}/healthz`)).status, 200);
});

test('ops: /healthz, /readyz follows the name server, /metrics, 404 elsewhere, demo page when configured', async (t) => {
  const { gw, namesrv } = await fixture(t);
  assert.deepEqual(await (await fetch(`${gw.httpUrl}/healthz`)).json(), { status: 'ok' });
  assert.equal((await fetch(`${gw.httpUrl}/readyz`)).status, 200);
  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  assert.match(metrics, /rocketmq_edge_connections /);
  assert.match(metrics, /rocketmq_edge_upstream_latency_seconds/);
  assert.equal((await fetch(`${gw.httpUrl}/nope`)).status, 404);
  await namesrv.close();
  await sleep(50);
  assert.equal((await fetch(`${gw.httpUrl}/readyz`)).status, 503);
  const gw2 = await startGateway({
    namesrvAddr: '127.0.0.1:1', auth: { staticTokens: { a: { sub: 'a', topics: ['*'] } } }, logLevel: 'silent',
    demoDir: '/nonexistent-demo-dir', dev: { token: 'a' },
  });
  t.after(() => gw2.close());
  assert.match(await (await fetch(`${gw2.httpUrl}/`)).text(), /not built.*pnpm build/);
  assert.deepEqual(await (await fetch(`${gw2.httpUrl}/demo-config.json`)).json(), { wsUrl: `${gw2.url}`, token: 'a', topic: 'demo-events' });
  assert.equal((await fetch(`${gw2.httpUrl}/..%2f..%2fetc%2fpasswd`)).status !== 200, true);
});
