// The HTTP surface alone, on a plain node http server: ops endpoints, the demo config's loopback
// rule, static files, and status lines for requests the parser refuses.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerClientError, httpHandler, type HttpSurfaceOptions } from './http.js';
import { GatewayMetrics } from './metrics.js';
import { httpGet, rawHttp } from './test-support.js';

async function serve(t: TestContext, extra: Partial<HttpSurfaceOptions> = {}) {
  let ready = true;
  const server = createServer(httpHandler({
    metrics: new GatewayMetrics(new Set([10])), ready: async () => ready, wsPath: '/rmq', log: { warn() {} }, ...extra,
  }));
  server.on('clientError', answerClientError);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const port = (server.address() as { port: number }).port;
  return { port, setReady: (v: boolean) => { ready = v; } };
}

test('ops endpoints: /healthz, /readyz follows its probe, /metrics, 405 for other methods, 404 elsewhere', async (t) => {
  const { port, setReady } = await serve(t);
  const host = { Host: `127.0.0.1:${port}` };
  assert.deepEqual(JSON.parse((await httpGet(port, '/healthz', host)).body), { status: 'ok' });
  assert.equal((await httpGet(port, '/readyz', host)).status, 200);
  setReady(false);
  assert.deepEqual(JSON.parse((await httpGet(port, '/readyz', host)).body), { status: 'not ready', namesrv: 'unreachable' });
  assert.match((await httpGet(port, '/metrics', host)).body, /rocketmq_edge_connections /);
  assert.equal((await httpGet(port, '/demo-config.json', host)).status, 404, 'no dev mode, no config');
  assert.equal((await httpGet(port, '/nope', host)).status, 404);
  assert.match((await rawHttp(port, `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)).statusLine, / 405 /);
});

test('/demo-config.json: loopback Host names only, JSON 403 with what to do otherwise', async (t) => {
  const { port } = await serve(t, { dev: { token: 'secret-dev-token', topic: 't' } });
  const ok = await httpGet(port, '/demo-config.json', { Host: `localhost:${port}` });
  assert.deepEqual(JSON.parse(ok.body), { wsUrl: `ws://localhost:${port}/rmq`, token: 'secret-dev-token', topic: 't' });
  assert.equal(ok.headers['cache-control'], 'no-store');
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `LOCALHOST:${port}`, '']) {
    const r = await httpGet(port, '/demo-config.json', { Host: host });
    assert.equal(r.status, 403, host);
    assert.doesNotMatch(r.body, /secret-dev-token/);
    assert.match((JSON.parse(r.body) as { error: string }).error, /loopback hosts only.*\?token=/);
  }
  // no Host header at all (HTTP/1.0): refused as well
  assert.match((await rawHttp(port, 'GET /demo-config.json HTTP/1.0\r\n\r\n')).text, /^HTTP\/1\.1 403 [^]*loopback/);
});

test('static demo files: served from the folder, nothing outside it, "not built" page when missing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-http-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), '<h1>demo</h1>');
  const { port } = await serve(t, { demoDir: dir });
  const h = { Host: '127.0.0.1' };
  assert.equal((await httpGet(port, '/', h)).body, '<h1>demo</h1>');
  for (const path of ['/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/a%00b', '/%E0%A4%A']) {
    assert.notEqual((await httpGet(port, path, h)).status, 200, path);
  }
  const { port: p2 } = await serve(t, { demoDir: join(dir, 'missing') });
  assert.match((await httpGet(p2, '/', h)).body, /not built.*pnpm build/);
});

test('answerClientError: 431 for headers over the limit, 400 for malformed requests, one answer per connection', async (t) => {
  const { port } = await serve(t);
  assert.equal((await rawHttp(port, `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(64 * 1024)}\r\n\r\n`)).statusLine, 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.equal((await rawHttp(port, 'BREW / HTCPCP/1.0\r\n\r\n')).statusLine, 'HTTP/1.1 400 Bad Request');
  // a megabyte of header arrives after the answer: still exactly one status line
  const r = await rawHttp(port, `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(1024 * 1024)}\r\n\r\n`);
  assert.equal(r.text.match(/HTTP\/1\.1 /g)?.length, 1, r.text);
  // a kept-alive connection that already had an answer is closed without a second status line in the middle of it
  const ka = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n`);
  assert.match(ka.text, /^HTTP\/1\.1 200 OK/);
  assert.equal(ka.text.match(/HTTP\/1\.1 /g)?.length, 1);
});
