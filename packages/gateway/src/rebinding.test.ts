// DNS rebinding: a page on a name the attacker points at the gateway sees its own name in Host and
// Origin. It must get neither the development token nor a WebSocket; loopback names and the
// operator's allowlist still work, and clients that send no Origin are untouched.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayOptions } from './index.js';
import { goodClient, httpGet, rawClient, startFakeCluster } from './test-support.js';

const DEV_TOKEN = 'dev-token-that-must-not-leak';
const PROTOCOLS = ['rocketmq-edge.v1', `bearer.${DEV_TOKEN}`];

async function devGateway(t: TestContext, extra: Partial<GatewayOptions> = {}) {
  const { namesrv } = await startFakeCluster(t);
  const gw = await startGateway({
    namesrvAddr: namesrv.addr,
    auth: { staticTokens: { [DEV_TOKEN]: { sub: 'dev', topics: ['*'] } } },
    dev: { token: DEV_TOKEN },
    logLevel: 'silent',
    ...extra,
  });
  t.after(() => gw.close());
  return gw;
}

/** Connects with exactly these Host and Origin headers: 'open' or the close code. */
async function connectAs(url: string, host: string, origin: string | undefined): Promise<'open' | number> {
  const c = rawClient(url, PROTOCOLS, { Host: host, ...(origin !== undefined ? { Origin: origin } : {}) });
  if (await c.opened) { c.ws.close(); return 'open'; }
  return (await c.closed).code;
}

test('a rebinding page (Host and Origin evil.example) gets no dev config and no WebSocket; a good client is unaffected', async (t) => {
  const gw = await devGateway(t);
  const good = goodClient(t, gw.url, DEV_TOKEN);
  for (const host of ['evil.example', `evil.example:${gw.port}`]) {
    const r = await httpGet(gw.port, '/demo-config.json', { Host: host });
    assert.ok(r.status === 403 || r.status === 404, `${host}: ${r.status}`);
    assert.ok(!r.body.includes(DEV_TOKEN), 'the dev token is not handed out');
    assert.match(r.headers['content-type'] ?? '', /json/);
    assert.match(String((JSON.parse(r.body) as { error?: string }).error), /loopback/);
    assert.equal(await connectAs(gw.url, host, `http://${host}`), 4403, `${host}: same-origin but not loopback`);
  }
  // the token does not help, nor does a page that claims to be another site
  assert.equal(await connectAs(gw.url, 'evil.example', 'https://app.example.com'), 4403);
  const { ok, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(ok > 0, `good client sent ${ok}`);
  assert.match(await (await fetch(`${gw.httpUrl}/metrics`)).text(), /rocketmq_edge_refusals_total\{reason="forbidden_origin"\} 3/);
});

test('loopback Host spellings get the dev config and their same-origin pages connect', async (t) => {
  const gw = await devGateway(t);
  for (const host of [`127.0.0.1:${gw.port}`, `127.1.2.3:${gw.port}`, `localhost:${gw.port}`, `[::1]:${gw.port}`, '[::1]', 'localhost']) {
    const r = await httpGet(gw.port, '/demo-config.json', { Host: host });
    assert.equal(r.status, 200, host);
    assert.deepEqual(JSON.parse(r.body), { wsUrl: `ws://${host}/rmq`, token: DEV_TOKEN, topic: 'demo-events' }, host);
    assert.equal(await connectAs(gw.url, host, `http://${host}`), 'open', host);
  }
  // dev mode also lets a page on another loopback port (a dev server) connect
  assert.equal(await connectAs(gw.url, `127.0.0.1:${gw.port}`, 'http://localhost:5173'), 'open');
  // and clients that send no Origin (Node, Deno, Workers) whatever Host they name
  assert.equal(await connectAs(gw.url, 'evil.example', undefined), 'open');
});

test('tricky Host and Origin spellings are refused: uppercase, trailing dot, userinfo, 127.0.0.1.evil.example, 0x7f000001, …', async (t) => {
  const gw = await devGateway(t);
  const good = goodClient(t, gw.url, DEV_TOKEN);
  const p = gw.port;
  const tricky = [
    `LOCALHOST:${p}`, `Localhost:${p}`, `localhost.:${p}`, `127.0.0.1.:${p}`, `user@127.0.0.1:${p}`, `127.0.0.1@evil.example:${p}`,
    `127.0.0.1.evil.example:${p}`, `localhost.evil.example:${p}`, `0x7f000001:${p}`, `2130706433:${p}`, `0177.0.0.1:${p}`,
    `127.0.0.01:${p}`, `127.1:${p}`, `127.0.0.256:${p}`, `[::ffff:127.0.0.1]:${p}`, `[0:0:0:0:0:0:0:1]:${p}`, `::1`,
    `127.0.0.1:${p}, evil.example`, `127.0.0.1:${p}/x`, `127.0.0.1:${p}x`, `127.0.0.1 :${p}`, `%6cocalhost:${p}`, '',
  ];
  for (const host of tricky) {
    const r = await httpGet(p, '/demo-config.json', { Host: host });
    assert.ok(r.status === 403 || r.status === 404 || r.status === 400, `${JSON.stringify(host)}: ${r.status}`);
    assert.ok(!r.body.includes(DEV_TOKEN), `${JSON.stringify(host)} got the dev token`);
    if (host === '') continue; // a request without a usable Host never reaches the upgrade
    assert.equal(await connectAs(gw.url, host, `http://${host}`), 4403, JSON.stringify(host));
  }
  // Origins that are not serialized origins
  for (const origin of ['null', 'http://localhost:5173/', 'http://user@localhost:5173', 'HTTP://localhost:5173', 'http://LOCALHOST:5173',
    'http://localhost.:5173', 'http://0x7f000001:5173', 'http://127.0.0.1.evil.example', `http://evil.example#@127.0.0.1:${p}`, 'file://', 'localhost']) {
    assert.equal(await connectAs(gw.url, `127.0.0.1:${p}`, origin), 4403, origin);
  }
  const { ok, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(ok > 0);
});

test('without dev mode: loopback pages connect, a public name connects only when listed in allowedOrigins, and there is no /demo-config.json', async (t) => {
  const { namesrv } = await startFakeCluster(t);
  const gw = await startGateway({
    namesrvAddr: namesrv.addr,
    auth: { staticTokens: { [DEV_TOKEN]: { sub: 'op', topics: ['*'] } } },
    allowedOrigins: ['https://gw.example.com', 'https://app.example.com'],
    logLevel: 'silent',
  });
  t.after(() => gw.close());
  assert.equal((await httpGet(gw.port, '/demo-config.json', { Host: `127.0.0.1:${gw.port}` })).status, 404);
  assert.equal(await connectAs(gw.url, `127.0.0.1:${gw.port}`, gw.httpUrl), 'open', 'own loopback page');
  assert.equal(await connectAs(gw.url, `127.0.0.1:${gw.port}`, 'http://localhost:5173'), 4403, 'other loopback pages only in dev mode');
  assert.equal(await connectAs(gw.url, 'gw.example.com', 'https://gw.example.com'), 'open', 'listed');
  assert.equal(await connectAs(gw.url, 'gw.example.com', 'http://gw.example.com'), 'open', 'same-origin, its host is listed (TLS ended at a proxy)');
  assert.equal(await connectAs(gw.url, 'other.example.com', 'http://other.example.com'), 4403, 'same-origin but not listed');
  assert.equal(await connectAs(gw.url, 'other.example.com', 'https://app.example.com'), 'open', 'a listed origin from anywhere');
  assert.equal(await connectAs(gw.url, 'other.example.com', undefined), 'open', 'no Origin: not a browser');
});
