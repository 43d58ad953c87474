// The worker in real workerd (miniflare) against the real gateway CLI + embedded broker on
// loopback; every published request is looked up in the broker's store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { readAll } from '@rocketmq-edge/broker/testing';
import { GatewayProcess, ROOT, freePort, namesrvOf, tempDir } from '../../../e2e/support.js';

const DIST = join(ROOT, 'apps/worker/dist');
const TOPIC = 'edge-requests';

describe('worker in workerd (miniflare)', { timeout: 90_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let mf: Miniflare;
  let badMf: Miniflare;
  let httpMf: Miniflare;
  let badHttpMf: Miniflare;

  const worker = async (token: string, path: 'ws' | 'http' = 'ws') => new Miniflare({
    compatibilityDate: '2026-04-20',
    modulesRoot: DIST,
    modules: [
      { type: 'ESModule', path: join(DIST, 'worker.js'), contents: await readFile(join(DIST, 'worker.js'), 'utf8') },
      { type: 'ESModule', path: join(DIST, 'rocketmq-edge.js'), contents: await readFile(join(DIST, 'rocketmq-edge.js'), 'utf8') },
    ],
    bindings: path === 'ws'
      ? { RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: token, RMQ_TOPIC: TOPIC }
      : { RMQ_HTTP_URL: gateway.ready.url, RMQ_TOKEN: token, RMQ_TOPIC: TOPIC },
  });

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    data = await tempDir();
    gateway = await GatewayProcess.start({ port: await freePort(), dataDir: data.path });
    [mf, badMf, httpMf, badHttpMf] = await Promise.all([
      worker(gateway.ready.token ?? ''), worker('not-a-real-token'), worker(gateway.ready.token ?? '', 'http'), worker('not-a-real-token', 'http'),
    ]);
  });

  after(async () => {
    await Promise.all([mf?.dispose(), badMf?.dispose(), httpMf?.dispose(), badHttpMf?.dispose()]);
    await gateway?.stop();
    await data?.remove();
  });

  test('publishes the request and answers with the SendResult', async () => {
    const res = await mf.dispatchFetch('https://shop.example/orders?id=42', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1', cookie: 'secret=1' },
      body: JSON.stringify({ order: 42 }),
    });
    const result = await res.json() as { sendStatus: string; msgId: string; messageQueue: { topic: string; queueId: number }; queueOffset: number };
    assert.equal(res.status, 200, JSON.stringify(result));
    assert.equal(result.sendStatus, 'SEND_OK');
    assert.equal(result.messageQueue.topic, TOPIC);

    const stored = (await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: TOPIC })).find((m) => m.msgId === result.msgId);
    assert.ok(stored, 'the event is in the broker');
    assert.equal(stored.queueId, result.messageQueue.queueId);
    assert.equal(stored.queueOffset, result.queueOffset);
    assert.equal(stored.properties.TAGS, 'POST');
    assert.equal(stored.properties.KEYS, 'req-1');
    const event = JSON.parse(new TextDecoder().decode(stored.body));
    assert.equal(event.method, 'POST');
    assert.equal(event.url, 'https://shop.example/orders?id=42');
    assert.equal(event.body, '{"order":42}');
    assert.equal(event.headers['x-request-id'], 'req-1');
    assert.equal(event.headers.cookie, undefined, 'cookies are not published');
  });

  test('concurrent requests each get their own producer and are all stored', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const res = await mf.dispatchFetch(`https://shop.example/hit/${i}`, { headers: { 'x-request-id': `c-${i}` } });
      assert.equal(res.status, 200);
      return await res.json() as { msgId: string };
    }));
    const ids = new Set((await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: TOPIC })).map((m) => m.msgId));
    for (const r of results) assert.ok(ids.has(r.msgId), `${r.msgId} stored`);
  });

  test('a refused token answers 502 with the reason, promptly', async () => {
    const t0 = Date.now();
    const res = await badMf.dispatchFetch('https://shop.example/x', { method: 'POST', body: 'x' });
    const body = await res.json() as { error: string; message: string };
    assert.equal(res.status, 502);
    assert.match(body.message, /token/i, body.message);
    assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
  });

  test('HTTP path (RMQ_HTTP_URL): one fetch to the gateway per request; stored as sent, answered with the result', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const res = await httpMf.dispatchFetch(`https://shop.example/http/${i}`, {
        method: 'POST', headers: { 'x-request-id': `h-${i}`, 'content-type': 'text/plain' }, body: `over http ${i}`,
      });
      const json = await res.json() as { sendStatus: string; msgId: string; brokerName: string; queueId: number; queueOffset: number };
      assert.equal(res.status, 200, JSON.stringify(json));
      assert.equal(json.sendStatus, 'SEND_OK');
      assert.equal(json.brokerName, 'broker-a@0');
      return json;
    }));
    const stored = new Map((await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: TOPIC })).map((m) => [m.msgId, m]));
    for (const [i, r] of results.entries()) {
      const m = stored.get(r.msgId);
      assert.ok(m, `${r.msgId} stored`);
      assert.equal(m.queueId, r.queueId);
      assert.equal(m.queueOffset, r.queueOffset);
      assert.equal(m.properties.TAGS, 'POST');
      assert.equal(m.properties.KEYS, `h-${i}`);
      const event = JSON.parse(new TextDecoder().decode(m.body));
      assert.equal(event.url, `https://shop.example/http/${i}`);
      assert.equal(event.body, `over http ${i}`);
    }
  });

  test('HTTP path: a refused token answers 502 with the gateway\'s reason', async () => {
    const res = await badHttpMf.dispatchFetch('https://shop.example/x', { method: 'POST', body: 'x' });
    const body = await res.json() as { error: string; message: string };
    assert.equal(res.status, 502);
    assert.equal(body.error, 'HttpPublishError');
    assert.match(body.message, /HTTP 401 .*unknown token|HTTP 401 .*signature/, body.message);
  });
});
