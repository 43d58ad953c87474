// The HTTP publish API as an attacker sees it: every refusal with its status and JSON remark, each
// bound, and a well-behaved client beside the abuse whose publishes all succeed. Real gateway,
// embedded broker over TCP (a scripted broker only where one must never answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { ResponseCode, createResponse, RequestCode } from '@rocketmq-edge/core/internal';
import { ORIGIN, OTHER_TOKEN, TOKEN, httpFixture, jwt } from './http-test-support.js';
import { rawHttp, routeBody, startFakeRemoting, clusterInfoBody, type FakeHandler } from './test-support.js';

const noAddress = (body: unknown, ...addrs: string[]) => {
  const s = JSON.stringify(body);
  assert.doesNotMatch(s, /127\.0\.0\.1|localhost/, s);
  for (const a of addrs) assert.ok(!s.includes(a.split(':')[1]!), `${s} names the port of ${a}`);
};

test('refused with 401/403/400 and a remark: no token, unknown token, bad signature, expired, foreign topic, system and retry topics, a malformed topic; nothing stored', async (t) => {
  const { call, stored } = await httpFixture(t);
  const path = '/v1/topics/http-sec/messages';
  const cases: [string, Parameters<typeof call>[1], number, RegExp][] = [
    ['no token', { token: null, body: 'x' }, 401, /no token: send the header "Authorization: Bearer <token>"/],
    ['unknown token', { token: 'guess', body: 'x' }, 401, /unknown token/],
    ['bad signature', { token: await jwt({ topics: ['*'] }, '1h', 'another-secret-that-is-long-enough-for-hs256'), body: 'x' }, 401, /signature does not verify/],
    ['expired', { token: await jwt({ topics: ['*'] }, Math.floor(Date.now() / 1000) - 60), body: 'x' }, 401, /expired/],
    ['not a Bearer token', { token: null, headers: { authorization: `Basic ${TOKEN}` }, body: 'x' }, 401, /no token/],
  ];
  for (const [what, init, status, remark] of cases) {
    const r = await call(path, init);
    assert.equal(r.status, status, what);
    assert.equal(r.json.code, ResponseCode.NO_PERMISSION, what);
    assert.match(r.json.remark as string, remark, what);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer', what);
  }
  const foreign = await call(path, { token: await jwt({ topics: ['orders-*'] }), body: 'x' });
  assert.equal(foreign.status, 403);
  assert.match(foreign.json.remark as string, /may not use topic "http-sec": the token.s "topics" claim \[orders-\*\] does not allow it/);
  const any = await jwt({ topics: ['*'] });
  const system = await call('/v1/topics/SCHEDULE_TOPIC_XXXX/messages', { token: any, body: 'x' });
  assert.equal(system.status, 403);
  assert.match(system.json.remark as string, /system topic/);
  const retry = await call('/v1/topics/%25RETRY%25group/messages', { token: any, body: 'x' });
  assert.equal(retry.status, 403);
  assert.match(retry.json.remark as string, /retry or dead-letter/);
  const malformed = await call('/v1/topics/orders.eu/messages', { token: any, body: 'x' });
  assert.equal(malformed.status, 400);
  assert.match(malformed.json.remark as string, /not a RocketMQ topic/);
  assert.equal((await stored('http-sec')).length, 0);
});

test('bad input is refused whole with 400 naming the field, and nothing of it is stored', async (t) => {
  const { call, stored } = await httpFixture(t);
  const path = '/v1/topics/http-input/messages';
  const json = (body: string) => call(path, { headers: { 'content-type': 'application/json' }, body });
  const cases: [string, Promise<Awaited<ReturnType<typeof call>>>, RegExp][] = [
    ['not JSON', json('{"body":'), /not JSON/],
    ['unknown field', json(JSON.stringify({ messages: [{ body: 'a' }, { body: 'b', tag: 'typo' }] })), /messages\[1\]: unknown field "tag"/],
    ['empty body', json(JSON.stringify({ body: '' })), /body is empty/],
    ['bad base64', json(JSON.stringify({ body: 'not base64!', encoding: 'base64' })), /not base64/],
    ['reserved property', json(JSON.stringify({ body: 'a', properties: { UNIQ_KEY: 'x' } })), /"UNIQ_KEY" is reserved/],
    ['id not printable ASCII', json(JSON.stringify({ body: 'a', id: 'é' })), /id must be 1 to 128 printable ASCII/],
    ['id too long', json(JSON.stringify({ body: 'a', id: 'x'.repeat(129) })), /id must be 1 to 128/],
    ['one id twice', json(JSON.stringify({ messages: [{ id: 'a', body: 'a' }, { id: 'a', body: 'b' }] })), /appears twice/],
    ['negative delay', json(JSON.stringify({ body: 'a', delayLevel: -1 })), /delayLevel/],
    ['Idempotency-Key on a list', call(path, { headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k' }, body: JSON.stringify({ messages: [{ body: 'a' }] }) }), /give each message its "id"/],
    ['Idempotency-Key and another id', call(path, { headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k' }, body: JSON.stringify({ id: 'j', body: 'a' }) }), /differ/],
    ['raw: unknown RocketMQ header', call(path, { headers: { 'RocketMQ-Tag': 'typo' }, body: 'a' }), /unknown header RocketMQ-Tag/],
    ['raw: bad delay level', call(path, { headers: { 'RocketMQ-Delay-Level': 'soon' }, body: 'a' }), /delay level/],
    ['raw: empty body', call(path, { body: '' }), /body is empty/],
  ];
  for (const [what, pending, remark] of cases) {
    const r = await pending;
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.code, ResponseCode.MESSAGE_ILLEGAL, what);
    assert.match(r.json.remark as string, remark, what);
  }
  assert.equal((await stored('http-input')).length, 0);
});

test('Origin: a disallowed page gets 403 and no Access-Control-Allow-Origin, on its preflight and its POST; an allowed page gets both; no Origin is left to the token', async (t) => {
  const { call, stored } = await httpFixture(t);
  const path = '/v1/topics/http-cors/messages';
  const preflight = (origin: string) => call(path, {
    method: 'OPTIONS', token: null,
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, rocketmq-property-orderid, x-evil' },
  });
  const evil = await preflight('https://evil.example');
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.match(evil.json.remark as string, /origin "https:\/\/evil\.example" is not allowed/);
  const good = await preflight(ORIGIN);
  assert.equal(good.status, 204);
  assert.equal(good.headers.get('access-control-allow-origin'), ORIGIN);
  assert.equal(good.headers.get('access-control-allow-methods'), 'POST');
  const allowed = good.headers.get('access-control-allow-headers')!.split(', ');
  for (const h of ['authorization', 'content-type', 'idempotency-key', 'rocketmq-tags', 'rocketmq-keys', 'rocketmq-property-orderid']) assert.ok(allowed.includes(h), h);
  assert.ok(!allowed.includes('x-evil'));
  assert.equal(good.headers.get('access-control-max-age'), '600');
  assert.match(good.headers.get('vary')!, /origin/);

  const refused = await call(path, { headers: { origin: 'https://evil.example' }, body: 'csrf' });
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  const page = await call(path, { headers: { origin: ORIGIN }, body: 'from the page' });
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('access-control-allow-origin'), ORIGIN);
  assert.equal(page.headers.get('access-control-expose-headers'), 'retry-after');
  const server = await call(path, { body: 'from a server' });
  assert.equal(server.status, 200);
  assert.equal(server.headers.get('access-control-allow-origin'), null);
  assert.deepEqual((await stored('http-cors')).map((m) => Buffer.from(m.body).toString()).sort(), ['from a server', 'from the page']);
});

/** Sends a chunked body in 16 KiB pieces until the server answers; resolves with the status. */
function chunkedUntilAnswered(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      clearInterval(timer);
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => { clearInterval(timer); reject(e); });
    const chunk = Buffer.alloc(16 * 1024, 1);
    const timer = setInterval(() => { if (!req.destroyed) req.write(chunk); }, 2);
  });
}

test('body bounds: a Content-Length over the limit is refused before a byte is read, a chunked body once it passes the limit, too many messages, too large or too many headers; a good client is unaffected', async (t) => {
  const { gw, call, stored } = await httpFixture(t, { maxBatchMessages: 10, http: { maxBodyBytes: 64 * 1024 } });
  const path = '/v1/topics/http-big/messages';
  // Content-Length of 1 GB and no body at all: answered at once.
  const declared = await rawHttp(gw.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000000000\r\n\r\n`);
  assert.match(declared.text, /^HTTP\/1\.1 413 [^]*"remark":"the body is 1000000000 bytes; at most 65536 bytes per request/);
  assert.equal(await chunkedUntilAnswered(gw.port, path), 413);
  const exact = await call(path, { body: Buffer.alloc(64 * 1024 + 1, 7) });
  assert.equal(exact.status, 413);
  assert.equal(exact.json.code, ResponseCode.MESSAGE_ILLEGAL);
  const many = await call(path, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: Array.from({ length: 11 }, () => ({ body: 'm' })) }) });
  assert.equal(many.status, 413);
  assert.match(many.json.remark as string, /11 messages in one request; at most 10/);
  const headers = await rawHttp(gw.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nRocketMQ-Property-big: ${'v'.repeat(20_000)}\r\nContent-Length: 1\r\n\r\nx`);
  assert.equal(headers.statusLine, 'HTTP/1.1 431 Request Header Fields Too Large');
  // node would drop headers past its count without a word (and properties with them): refused instead
  const props = Array.from({ length: 300 }, (_, i) => `RocketMQ-Property-p${i}: v\r\n`).join('');
  const count = await rawHttp(gw.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${props}Content-Length: 1\r\nConnection: close\r\n\r\nx`);
  assert.match(count.text, /^HTTP\/1\.1 431 [^]*256 headers or more; send many properties in the JSON form/);
  const good = await call(path, { token: OTHER_TOKEN, body: Buffer.alloc(60 * 1024, 1) });
  assert.equal(good.status, 200);
  assert.equal((await stored('http-big')).length, 1, 'only the good message');
});

test('a flood over the rate limit gets 429 with retry-after; another principal publishing meanwhile is unaffected', async (t) => {
  const { call, stored } = await httpFixture(t, { http: { rate: { perSecond: 20, burst: 20 } } });
  const path = '/v1/topics/http-flood/messages';
  let flooding = true;
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  let remark = '';
  const flood = (async () => {
    while (flooding && statuses.length < 2000) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => call(path, { body: 'flood' })));
      for (const r of batch) {
        statuses.push(r.status);
        if (r.status === 429) { retryAfter = r.headers.get('retry-after'); remark = r.json.remark as string; }
      }
    }
  })();
  const good: number[] = [];
  for (let i = 0; i < 10; i++) good.push((await call(path, { token: OTHER_TOKEN, headers: { 'Idempotency-Key': `good-${i}` }, body: `good ${i}` })).status);
  flooding = false;
  await flood;
  assert.deepEqual(good, Array(10).fill(200));
  assert.ok(statuses.includes(429), 'the flood was limited');
  assert.equal(retryAfter, '1');
  assert.match(remark, /\[RATE_LIMIT\] more than 20 requests per second \(burst 20\)/);
  const ok = statuses.filter((s) => s === 200).length;
  assert.deepEqual([...new Set(statuses)].sort(), [200, 429]);
  const all = await stored('http-flood');
  assert.equal(all.length, ok + 10, 'exactly the acknowledged publishes are stored');
});

test('slow clients (headers or body trickling in) are answered 408 and closed; a good client is unaffected', async (t) => {
  const { gw, call } = await httpFixture(t, { http: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
  const path = '/v1/topics/http-slow/messages';
  const slowBody = rawHttp(gw.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100\r\n\r\nonly ten b`);
  const slowHeaders = rawHttp(gw.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bea`);
  const good = await call(path, { token: OTHER_TOKEN, body: 'fine' });
  assert.equal(good.status, 200);
  assert.equal((await slowBody).statusLine, 'HTTP/1.1 408 Request Timeout');
  assert.equal((await slowHeaders).statusLine, 'HTTP/1.1 408 Request Timeout');
});

/** A name server + broker that store sends to any topic but http-hang, which they never answer. */
async function hangingCluster(t: Parameters<typeof httpFixture>[0]) {
  let offset = 0;
  const reply: FakeHandler = (cmd) => {
    if (cmd.code === RequestCode.HEART_BEAT || cmd.code === RequestCode.UNREGISTER_CLIENT) return createResponse(cmd, ResponseCode.SUCCESS);
    if (cmd.extFields?.b === 'http-hang') return 'silent';
    return createResponse(cmd, ResponseCode.SUCCESS, undefined, { msgId: 'M', queueId: cmd.extFields?.e ?? '0', queueOffset: String(offset++) });
  };
  const broker = await startFakeRemoting(reply);
  const list = [{ name: 'broker-a', addr: broker.addr }];
  const namesrv = await startFakeRemoting((cmd) => {
    if (cmd.code === RequestCode.GET_ROUTEINFO_BY_TOPIC) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, routeBody(list));
    if (cmd.code === RequestCode.GET_BROKER_CLUSTER_INFO) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, clusterInfoBody(list));
    return undefined;
  });
  t.after(async () => { await broker.close(); await namesrv.close(); });
  return { broker, namesrv };
}

test('publishes awaiting the broker are bounded per principal, and gateway-wide by fair share; a broker that never answers is a 504 naming no address', async (t) => {
  const { broker, namesrv } = await hangingCluster(t);
  const { call } = await httpFixture(t, { maxUpstreamInFlight: 2, http: { maxInFlightPerPrincipal: 3, sendTimeoutMs: 1500 } }, namesrv.addr);
  const hang = () => call('/v1/topics/http-hang/messages', { body: 'never answered' });
  const first = [hang(), hang()];
  await new Promise((r) => setTimeout(r, 200));
  // the gateway holds 2 upstream publishes (its cap), both this principal's: a third is past its fair share
  const third = await hang();
  assert.equal(third.status, 429);
  assert.match(third.json.remark as string, /fair share/);
  // another principal gets its share at once, and its publish is stored
  const other = await call('/v1/topics/http-ok/messages', { token: OTHER_TOKEN, body: 'fine' });
  assert.equal(other.status, 200, JSON.stringify(other.json));
  for (const r of await Promise.all(first)) {
    assert.equal(r.status, 504);
    assert.equal(r.json.code, 10002);
    assert.match(r.json.remark as string, /^no acknowledgement within 1500 ms(: no response from broker-a@0 within \d+ ms)?; the message may or may not be stored: retry with the same id$/);
    noAddress(r.json, broker.addr, namesrv.addr);
  }
});

test('per principal: past maxInFlightPerPrincipal publishes are refused with 429', async (t) => {
  const { namesrv } = await hangingCluster(t);
  const { call } = await httpFixture(t, { http: { maxInFlightPerPrincipal: 2, sendTimeoutMs: 1000 } }, namesrv.addr);
  const hang = () => call('/v1/topics/http-hang/messages', { body: 'never answered' });
  const first = [hang(), hang()];
  await new Promise((r) => setTimeout(r, 200));
  const third = await hang();
  assert.equal(third.status, 429);
  assert.match(third.json.remark as string, /2 publishes of this token await the broker; at most 2/);
  assert.equal(third.headers.get('retry-after'), '1');
  await Promise.all(first);
});

test('a name server that cannot be reached: 503 saying so, naming no address', async (t) => {
  // a port that was free a moment ago: nothing listens there
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => resolve(p)); });
  });
  const addr = `127.0.0.1:${port}`;
  const { call } = await httpFixture(t, {}, addr);
  const r = await call('/v1/topics/http-nowhere/messages', { body: 'x' });
  assert.equal(r.status, 503);
  assert.equal(r.json.code, 10004);
  assert.match(r.json.remark as string, /^name server unavailable \(ECONNREFUSED\): the gateway cannot look up the route of topic http-nowhere/);
  assert.equal(r.headers.get('retry-after'), '1');
  noAddress(r.json, addr);
});

test('shutting down: a publish in flight gets its answer, one whose body was still arriving 503 with connection: close, new connections none', async (t) => {
  const { namesrv } = await hangingCluster(t);
  const { gw } = await httpFixture(t, { drainTimeoutMs: 5000, http: { sendTimeoutMs: 800 } }, namesrv.addr);
  const hanging = fetch(`${gw.httpUrl}/v1/topics/http-hang/messages`, { method: 'POST', headers: { authorization: `Bearer ${OTHER_TOKEN}` }, body: 'in flight' });
  // a request whose body is still arriving when the shutdown begins
  const socket = connect(gw.port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('latin1').on('data', (d) => (answer += d)).on('error', () => {});
  const ended = new Promise((r) => socket.on('close', r));
  socket.write(`POST /v1/topics/http-ok/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 4\r\n\r\nha`);
  await new Promise((r) => setTimeout(r, 100));
  const closed = gw.close();
  await new Promise((r) => setTimeout(r, 50));
  socket.write('lf');
  await ended;
  assert.match(answer, /^HTTP\/1\.1 503 [^]*connection: close[^]*"remark":"the gateway is shutting down; retry on another"/i);
  await assert.rejects(fetch(`${gw.httpUrl}/v1/topics/http-ok/messages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: 'late' }));
  assert.equal((await hanging).status, 504, 'the publish in flight was answered before the gateway closed');
  await closed;
});
