// The gateway's HTTP publish API from real Chromium pages: a page of an allowed origin publishes
// with fetch (a real CORS preflight: Authorization, Idempotency-Key, RocketMQ-* headers), mints a
// beacon token and sends a navigator.sendBeacon; a page of another origin gets nothing through.
// Real gateway CLI with its embedded broker; what was published is read back from the broker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { readAll } from '@rocketmq-edge/broker/testing';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, freePort, hs256, namesrvOf, tempDir, until } from './support.js';

const SECRET = 'e2e-http-publish-secret-that-is-long-enough';
const TOPIC = 'page-events';

/** A site serving one empty page on 127.0.0.1 (reachable as 127.0.0.1 and as localhost: two origins). */
async function site(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>page</title>'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('HTTP publish API from Chromium pages', { timeout: 120_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let page: Awaited<ReturnType<typeof site>>;
  const token = hs256(SECRET, { sub: 'page-user', topics: ['page-*'], exp: Math.floor(Date.now() / 1000) + 3600 });
  const stored = async () => readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: TOPIC });

  before(async () => {
    page = await site();
    data = await tempDir();
    gateway = await GatewayProcess.start({
      port: await freePort(), dataDir: data.path, jwtSecret: SECRET,
      extraArgs: ['--no-dev', '--no-demo', '--allowed-origins', `http://127.0.0.1:${page.port}`],
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await new Promise((r) => page?.server.close(r));
    await data?.remove();
  });

  test('an allowed page: fetch with a preflight, then a beacon token and sendBeacon; all stored, the beacon\'s repeat once', async () => {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${page.port}/`);
    const gw = gateway.ready.url.replace(/\/$/, '');
    const out = await tab.evaluate(async ({ gw, token, topic }) => {
      const res = await fetch(`${gw}/v1/topics/${topic}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'idempotency-key': 'fetch-1', 'rocketmq-tags': 'click', 'rocketmq-property-source': 'page' },
        body: 'by fetch',
      });
      const first = await res.json();
      const minted = await (await fetch(`${gw}/v1/beacon-tokens`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ topics: [topic] }),
      })).json();
      // what an outbox does on pagehide: everything not yet acknowledged, the fetched one included
      const queued = navigator.sendBeacon(`${gw}/v1/beacon`, JSON.stringify({
        token: minted.token, topic, messages: [{ id: 'fetch-1', body: 'by fetch', tags: 'click' }, { id: 'beacon-1', body: 'on pagehide' }],
      }));
      return { status: res.status, first, queued };
    }, { gw, token, topic: TOPIC });
    assert.equal(out.status, 200, JSON.stringify(out.first));
    assert.equal(out.first.id, 'fetch-1');
    assert.equal(out.queued, true);
    const all = await until(async () => {
      const msgs = await stored();
      return msgs.some((m) => m.msgId === 'beacon-1') ? msgs : undefined;
    }, 10_000, 'the beacon stored');
    assert.deepEqual(all.map((m) => m.msgId).sort(), ['beacon-1', 'fetch-1'], 'fetch-1 once, though sent twice');
    const fetched = all.find((m) => m.msgId === 'fetch-1')!;
    assert.equal(fetched.properties.TAGS, 'click');
    assert.equal(fetched.properties.source, 'page');
    assert.equal(new TextDecoder().decode(all.find((m) => m.msgId === 'beacon-1')!.body), 'on pagehide');
    await tab.close();
  });

  test('a page of another origin: its fetch fails the preflight, its beacon is refused; nothing stored', async () => {
    const before = (await stored()).length;
    const tab = await browser.newPage();
    await tab.goto(`http://localhost:${page.port}/`); // same server, another origin: not on the allowlist
    const gw = gateway.ready.url.replace(/\/$/, '');
    // a beacon token leaked to this page still gets nothing through
    const leaked = await (await fetch(`${gw}/v1/beacon-tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json() as { token: string };
    const out = await tab.evaluate(async ({ gw, token, beacon, topic }) => {
      let fetchError = '';
      try {
        await fetch(`${gw}/v1/topics/${topic}/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'from elsewhere' });
      } catch (e) {
        fetchError = (e as Error).name;
      }
      const queued = navigator.sendBeacon(`${gw}/v1/beacon`, JSON.stringify({ token: beacon, topic, messages: [{ id: 'evil-1', body: 'x' }] }));
      return { fetchError, queued };
    }, { gw, token, beacon: leaked.token, topic: TOPIC });
    assert.equal(out.fetchError, 'TypeError', 'the browser refused the cross-origin request');
    assert.equal(out.queued, true, 'the browser sends the beacon; the gateway refuses it');
    await until(async () => {
      const metrics = await (await fetch(`${gw}/metrics`)).text();
      const n = /rocketmq_edge_refusals_total\{reason="forbidden_origin"\} (\d+)/.exec(metrics);
      return n && Number(n[1]) >= 2 ? true : undefined;
    }, 10_000, 'the preflight and the beacon refused for their origin');
    assert.equal((await stored()).length, before);
    await tab.close();
  });
});
