// Requests the HTTP parser refuses get an answer, not a reset: 431 when the headers are over the
// limit (plain HTTP and WebSocket upgrades alike), 400 for anything else malformed. Nobody else
// notices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startGateway } from './index.js';
import { goodClient, rawHttp, startFakeCluster } from './test-support.js';

const TOKEN = 'header-limits-token';
const BIG = 'a'.repeat(100 * 1024);

test('request headers over the limit get 431 (HTTP and WebSocket upgrade); malformed requests get 400; a good client is unaffected', async (t) => {
  const { namesrv } = await startFakeCluster(t);
  const gw = await startGateway({ namesrvAddr: namesrv.addr, auth: { staticTokens: { [TOKEN]: { sub: 'a', topics: ['*'] } } }, logLevel: 'silent' });
  t.after(() => gw.close());
  const good = goodClient(t, gw.url, TOKEN);
  const upgrade = 'GET /rmq HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: rocketmq-edge.v1\r\n';

  const tooLarge = [
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${BIG}\r\n\r\n`, // one huge header
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}\r\n`).join('')}\r\n`, // many small ones
    `GET /${'p'.repeat(100 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, // a huge request line
    `${upgrade}Cookie: ${BIG}\r\n\r\n`, // a WebSocket upgrade with a huge cookie
    `${upgrade}X-Big: ${'c'.repeat(1024 * 1024)}\r\n\r\n`, // 1 MiB
  ];
  for (const req of tooLarge) {
    const r = await rawHttp(gw.port, req);
    assert.equal(r.statusLine, 'HTTP/1.1 431 Request Header Fields Too Large', `${req.slice(0, 40)}… → ${r.text.slice(0, 80)}`);
    assert.match(r.text, /\r\nconnection: close\r\n/i);
  }
  // what a browser or the ws client sees for a WebSocket upgrade with headers over the limit
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(gw.url, ['rocketmq-edge.v1', `bearer.${TOKEN}`], { headers: { 'x-big': BIG } });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => reject(new Error('opened')));
    ws.on('error', () => {});
  });
  assert.equal(status, 431);

  const malformed = [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: y\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\rb\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    `${upgrade}X\u0000: y\r\n\r\n`,
    '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003', // a TLS ClientHello on the plain port
  ];
  for (const req of malformed) {
    const r = await rawHttp(gw.port, Buffer.from(req, 'latin1'));
    assert.equal(r.statusLine, 'HTTP/1.1 400 Bad Request', `${JSON.stringify(req.slice(0, 40))} → ${r.text.slice(0, 80)}`);
  }

  // all of it at once, while the good client keeps sending
  const burst = await Promise.all([...tooLarge, ...malformed].flatMap((req) => [rawHttp(gw.port, Buffer.from(req, 'latin1')), rawHttp(gw.port, Buffer.from(req, 'latin1'))]));
  assert.ok(burst.every((r) => /^HTTP\/1\.1 4(00|31) /.test(r.statusLine)), burst.map((r) => r.statusLine).join(' | '));
  assert.equal((await fetch(`${gw.httpUrl}/healthz`)).status, 200);
  const { ok, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(ok > 0, `good client sent ${ok}`);
});
