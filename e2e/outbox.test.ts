// The durable browser outbox in real Chromium against the real gateway CLI (embedded broker over
// TCP, HTTP publish API): messages published right before navigation, while offline across a
// reload, from two tabs, refused for good, and over the outbox's bounds. What the broker stored is
// read back per message id (UNIQ_KEY) with readAll.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { PageEvent } from './outbox-page.js';
import { pageUrl, routeSite, serveSite, settled, storedCopies, tally, tokenFor, writeOutboxSite, SECRET } from './outbox-support.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, ROOT, freePort, namesrvOf, sleep, tempDir, until } from './support.js';
import { ChromiumProcess } from './outbox-support.js';

describe('browser outbox in Chromium', { timeout: 240_000 }, () => {
  let browser: Browser;
  let gateway: GatewayProcess;
  let site: Awaited<ReturnType<typeof tempDir>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let other: Awaited<ReturnType<typeof serveSite>>;
  let namesrvAddr: string;
  /** The gateway's own origin (pages there use the Bearer form at unload). */
  let origin: string;
  let wsUrl: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    [site, data] = await Promise.all([tempDir('rmq-edge-outbox-site-'), tempDir()]);
    await writeOutboxSite(site.path);
    other = await serveSite(site.path);
    const port = await freePort();
    [gateway, browser] = await Promise.all([
      GatewayProcess.start({
        port, dataDir: data.path, jwtSecret: SECRET,
        extraArgs: ['--demo-dir', site.path, '--allowed-origins', other.origin, '--log-level', 'warn'],
      }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    namesrvAddr = namesrvOf(gateway.ready);
    origin = gateway.ready.url.replace(/\/$/, '');
    wsUrl = gateway.ready.wsUrl;
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop('SIGTERM');
    await other?.close();
    await Promise.all([site, data].map((d) => d?.remove()));
  });

  /** Events of every page, as each page printed them (so those of a page being left count too). */
  const heard: (PageEvent & { page: Page })[] = [];
  const eventsOf = (page: Page, type: PageEvent['type']) => heard.filter((e) => e.page === page && e.type === type);

  /** A counter of the gateway's /metrics, e.g. 'rocketmq_edge_http_requests_total{endpoint="beacon",status="200"}'. */
  async function counter(series: string): Promise<number> {
    const text = await (await fetch(`${origin}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
  const httpRequests = (endpoint: 'publish' | 'beacon') => counter(`rocketmq_edge_http_requests_total{endpoint="${endpoint}",status="200"}`);
  const httpStored = () => counter('rocketmq_edge_http_messages_total{result="stored"}');

  async function openPage(url: string, ctx?: BrowserContext): Promise<Page> {
    if (!ctx) contexts.push((ctx = await browser.newContext()));
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    page.on('console', (m) => {
      if (m.text().startsWith('[outbox] ')) heard.push({ ...(JSON.parse(m.text().slice(9)) as PageEvent), page });
    });
    await page.goto(url);
    await page.evaluate(() => window.__outbox.ready);
    return page;
  }

  test('200 events published right before navigating to a page without the outbox are all stored, once', async () => {
    const topic = 'outbox-nav';
    const token = tokenFor('nav', ['outbox-*']);
    const page = await openPage(pageUrl(origin, { ws: wsUrl, token, topic, http: origin, name: 'nav' }));
    const { ok, errors } = await page.evaluate(() => window.__outbox.publish(200, 'nav'));
    assert.deepEqual(errors, []);
    const before = await httpStored();
    await page.goto(`${origin}/away.html`);

    const { stored, missing, duplicates } = await settled(namesrvAddr, topic, ok);
    const handed = (await httpStored()) - before;
    console.log(`# navigation: ${200 - handed} of 200 sent over the WebSocket, ${handed} handed to the gateway's HTTP endpoint at unload`);
    assert.equal(stored, 200, `${missing.length} missing, e.g. ${missing.slice(0, 5).join(' ')}`);
    assert.equal(duplicates, 0);
  });

  for (const form of ['bearer', 'beacon'] as const) {
    test(`with no WebSocket, the unload flush hands all 200 to the gateway (${form} form); a later page retries them there: stored once`, async () => {
      const topic = `outbox-handover-${form}`;
      const token = tokenFor(`handover-${form}`, ['outbox-*']);
      // The gateway's own page uses the Bearer form; a page of another origin the beacon form.
      const pageOrigin = form === 'bearer' ? origin : other.origin;
      const dead = `ws://127.0.0.1:${await freePort()}/rmq`;
      const ctx = await browser.newContext();
      contexts.push(ctx);
      const settings = { token, topic, http: origin, name: `handover-${form}` };
      const beaconToken = form === 'beacon' ? ctx.waitForEvent('response', (r) => r.url().endsWith('/v1/beacon-tokens') && r.ok()) : undefined;
      const page = await openPage(pageUrl(pageOrigin, { ...settings, ws: dead }), ctx);
      await beaconToken;
      const { ok, errors } = await page.evaluate(() => window.__outbox.publish(200, 'handover'));
      assert.deepEqual(errors, []);
      const endpoint = form === 'bearer' ? 'publish' : 'beacon';
      const before = await httpRequests(endpoint);
      await page.goto(`${pageOrigin}/away.html`);

      const first = await settled(namesrvAddr, topic, ok);
      assert.deepEqual([first.stored, first.duplicates], [200, 0], `missing: ${first.missing.slice(0, 5).join(' ')}`);
      assert.ok(await httpRequests(endpoint) > before, `the gateway answered ${endpoint} requests`);

      // The next page of this origin finds them marked handed over: it asks the gateway again, by id.
      const next = await openPage(pageUrl(pageOrigin, { ...settings, ws: wsUrl }), ctx);
      await until(() => eventsOf(next, 'delivered').length >= 200, 20_000, '200 delivered events on the next page');
      const delivered = eventsOf(next, 'delivered');
      assert.ok(delivered.every((e) => e.via === 'http' && e.duplicate), `via/duplicate: ${JSON.stringify(delivered.slice(0, 3))}`);
      assert.deepEqual((await settled(namesrvAddr, topic, ok)).duplicates, 0);
      assert.deepEqual(await next.evaluate(() => window.__outbox.size()), { count: 0, bytes: 0 });
    });
  }

  test('offline: 500 published, the page reloaded while still offline, back online: all 500 stored', async () => {
    const topic = 'outbox-offline';
    const token = tokenFor('offline', ['outbox-*']);
    // A page the test fulfils has no server address, so Chromium's Local Network Access checks
    // would count it as public and block its WebSocket to 127.0.0.1; a page served from a real
    // server (as the other tests' are) needs no such grant.
    const ctx = await browser.newContext({ permissions: ['local-network-access'] });
    contexts.push(ctx);
    const url = pageUrl(origin, { ws: wsUrl, token, topic, http: origin, name: 'offline' });
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    // The test serves the page itself, so that it loads while the browser is offline.
    await routeSite(page, origin, site.path);
    await page.goto(url);
    await page.evaluate(() => window.__outbox.ready);
    await ctx.setOffline(true);
    const { ok, errors } = await page.evaluate(() => window.__outbox.publish(500, 'offline'));
    assert.deepEqual(errors, []);
    assert.equal((await page.evaluate(() => window.__outbox.size())).count, 500, 'all queued, none delivered while offline');

    await page.reload();
    await page.evaluate(() => window.__outbox.ready);
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    assert.equal((await page.evaluate(() => window.__outbox.size())).count, 500, 'still queued after the reload');
    await ctx.setOffline(false);

    const { stored, missing, duplicates } = await settled(namesrvAddr, topic, ok, 30_000);
    console.log(`# offline + reload: ${stored} of 500 stored, ${duplicates} duplicates (by UNIQ_KEY)`);
    assert.equal(stored, 500, `missing: ${missing.slice(0, 5).join(' ')}`);
    // At least once: a copy more is allowed only for a send whose acknowledgement was lost; none was here.
    assert.equal(duplicates, 0);
    await until(async () => (await page.evaluate(() => window.__outbox.size())).count === 0, 10_000, 'the outbox empty');
  });

  test('a bad message is refused by publish() with the reason, and nothing is stored', async () => {
    const page = await openPage(pageUrl(origin, { ws: `ws://127.0.0.1:${await freePort()}/rmq`, token: tokenFor('bad', ['outbox-*']), name: 'bad-input' }));
    const refusals = await page.evaluate(async () => [
      await window.__outbox.publishOne({ topic: 'outbox-bad', body: '' }),
      await window.__outbox.publishOne({ topic: 'bad topic', body: 'x' }),
      await window.__outbox.publishOne({ topic: 'outbox-bad', body: 'x', properties: { TAGS: 'reserved' } }),
      await window.__outbox.publishOne({ topic: 'outbox-bad', body: 'x', msgId: 'é'.repeat(3) }),
      await window.__outbox.publishOne({ topic: 'outbox-bad', body: 'x', flag: 3 }),
      await window.__outbox.publishOne({ topic: 'outbox-bad', body: 'x'.repeat(4 * 1024 * 1024 + 1) }),
    ]);
    assert.match(refusals[0]!, /^MQClientError: the message body is empty/);
    assert.match(refusals[1]!, /^MQClientError: topic "bad topic" contains " "/);
    assert.match(refusals[2]!, /^MQClientError: user property "TAGS" is reserved/);
    assert.match(refusals[3]!, /^MQClientError: msgId must be 1 to 128 printable ASCII characters/);
    assert.match(refusals[4]!, /^TypeError: the outbox carries topic, body, tags, keys, properties, delayLevel, msgId; not flag/);
    assert.match(refusals[5]!, /^MQClientError: the message body is 4194305 bytes; the limit \(maxMessageSize\) is 4194304/);
    assert.deepEqual(await page.evaluate(() => window.__outbox.size()), { count: 0, bytes: 0 });
    // A good message beside them is queued under the id it was given.
    assert.equal(await page.evaluate(() => window.__outbox.publishOne({ topic: 'outbox-bad', body: 'fine', msgId: 'order-42 #1' })), 'order-42 #1');
  });

  test('over maxMessages or maxBytes, publish rejects with OutboxFullError and stores nothing (overflow: reject)', async () => {
    const dead = `ws://127.0.0.1:${await freePort()}/rmq`;
    const token = tokenFor('bounds', ['outbox-*']);
    const byCount = await openPage(pageUrl(origin, { ws: dead, token, name: 'bounds-count', maxMessages: 50 }));
    const count = await byCount.evaluate(() => window.__outbox.publish(60, 'count'));
    assert.equal(count.ok.length, 50);
    assert.equal(count.errors.length, 10);
    assert.ok(count.errors.every((e) => /^OutboxFullError: the outbox is full \(maxMessages: 50 of 50 messages\); nothing was stored/.test(e)), count.errors[0]);
    assert.deepEqual((await byCount.evaluate(() => window.__outbox.size())).count, 50);
    const countEvents = eventsOf(byCount, 'overflow');
    assert.equal(countEvents.length, 10);
    assert.ok(countEvents.every((e) => e.limit === 'maxMessages' && e.ids.length === 0));

    // 1,000-byte bodies in a 20,000-byte outbox: 18 fit.
    const byBytes = await openPage(pageUrl(origin, { ws: dead, token, name: 'bounds-bytes', maxBytes: 20_000 }));
    const bytes = await byBytes.evaluate(() => window.__outbox.publish(25, 'bytes', undefined, 1000));
    assert.equal(bytes.ok.length, 18);
    assert.ok(bytes.errors.every((e) => /^OutboxFullError: the outbox is full \(maxBytes: /.test(e)), bytes.errors[0]);
    const size = await byBytes.evaluate(() => window.__outbox.size());
    assert.equal(size.count, 18);
    assert.ok(size.bytes <= 20_000 && size.bytes > 18_000, `bytes ${size.bytes}`);
    assert.ok(eventsOf(byBytes, 'overflow').every((e) => e.limit === 'maxBytes'));
  });

  test('overflow: drop-oldest makes room by dropping the oldest, reports each, and never delivers them', async () => {
    const topic = 'outbox-drop';
    const token = tokenFor('drop', ['outbox-*']);
    const settings = { token, topic, name: 'drop', maxMessages: 50, overflow: 'drop-oldest' };
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const page = await openPage(pageUrl(origin, { ...settings, ws: `ws://127.0.0.1:${await freePort()}/rmq` }), ctx);
    const { ok, errors } = await page.evaluate(() => window.__outbox.publish(60, 'drop'));
    assert.deepEqual(errors, []);
    const dropped = eventsOf(page, 'overflow').flatMap((e) => e.ids);
    assert.deepEqual(dropped, ok.slice(0, 10), 'the 10 oldest, each reported');
    assert.equal((await page.evaluate(() => window.__outbox.size())).count, 50);
    await page.close();

    // A page that can deliver takes over: the 50 kept are stored, the dropped ones never.
    await openPage(pageUrl(origin, { ...settings, ws: wsUrl }), ctx);
    const kept = await settled(namesrvAddr, topic, ok.slice(10));
    assert.deepEqual([kept.stored, kept.duplicates], [50, 0]);
    assert.equal(tally(dropped, await storedCopies(namesrvAddr, topic)).stored, 0);
  });

  test('a message the gateway refuses for good (topic not in the token) leaves with "failed"; those after it are delivered', async () => {
    const topic = 'outbox-refusal';
    const page = await openPage(pageUrl(origin, { ws: wsUrl, token: tokenFor('refusal', ['outbox-*']), topic, name: 'refusal' }));
    const before = await page.evaluate(() => window.__outbox.publish(5, 'before'));
    const bad = await page.evaluate(() => window.__outbox.publish(1, 'bad', 'forbidden-topic'));
    const afterIt = await page.evaluate(() => window.__outbox.publish(5, 'after'));
    const good = [...before.ok, ...afterIt.ok];
    await until(() => eventsOf(page, 'failed').length === 1 && eventsOf(page, 'delivered').length === 10, 20_000, '1 failed, 10 delivered');
    const [failed] = eventsOf(page, 'failed');
    assert.deepEqual(failed!.ids, bad.ok);
    assert.equal(failed!.reason, 'refused');
    assert.match(failed!.error!, /forbidden-topic/);
    assert.deepEqual(eventsOf(page, 'delivered').map((e) => e.ids[0]).sort(), [...good].sort());
    assert.equal((await page.evaluate(() => window.__outbox.size())).count, 0, 'the refused message does not clog the outbox');
    const t = await settled(namesrvAddr, topic, good);
    assert.deepEqual([t.stored, t.duplicates], [10, 0]);
  });

  test('a message not delivered within maxAgeMs leaves with "failed" (reason expired), so it cannot clog the outbox', async () => {
    const page = await openPage(pageUrl(origin, {
      ws: `ws://127.0.0.1:${await freePort()}/rmq`, token: tokenFor('age', ['outbox-*']), name: 'age', maxAgeMs: 1500,
    }));
    const { ok } = await page.evaluate(() => window.__outbox.publish(3, 'old'));
    await until(() => eventsOf(page, 'failed').length === 3, 15_000, '3 expired');
    assert.ok(eventsOf(page, 'failed').every((e) => e.reason === 'expired' && /maxAgeMs \(1500 ms\)/.test(e.error!)));
    assert.deepEqual(eventsOf(page, 'failed').map((e) => e.ids[0]).sort(), [...ok].sort());
    assert.equal((await page.evaluate(() => window.__outbox.size())).count, 0);
  });

  test('a page hidden but not left: the gateway\'s answers to the hand-over settle the messages, none is sent twice', async () => {
    const topic = 'outbox-hidden';
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const page = await openPage(pageUrl(origin, { ws: `ws://127.0.0.1:${await freePort()}/rmq`, token: tokenFor('hidden', ['outbox-*']), topic, http: origin, name: 'hidden' }), ctx);
    const { ok } = await page.evaluate(() => window.__outbox.publish(50, 'hidden'));
    // The page is hidden (as by a switch to another app) and lives on. Headless Chromium never hides
    // a page (another tab in front and a minimized window leave it 'visible'), so the page's
    // visibilityState is set and its visibilitychange event fired here; the rest is real.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await until(() => eventsOf(page, 'delivered').length === 50, 15_000, '50 delivered');
    assert.ok(eventsOf(page, 'handedover').every((e) => e.form === 'bearer'));
    assert.ok(eventsOf(page, 'delivered').every((e) => e.via === 'http' && !e.duplicate));
    assert.equal((await page.evaluate(() => window.__outbox.size())).count, 0);
    const t = await settled(namesrvAddr, topic, ok);
    assert.deepEqual([t.stored, t.duplicates], [50, 0]);
  });

  test('two tabs of one origin: one delivers at a time, each message is stored once, the other takes over when it closes', async () => {
    const topic = 'outbox-tabs';
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const url = pageUrl(origin, { ws: wsUrl, token: tokenFor('tabs', ['outbox-*']), topic, name: 'tabs' });
    const [a, b] = [await openPage(url, ctx), await openPage(url, ctx)];
    assert.deepEqual([await a.evaluate(() => window.__outbox.delivering()), await b.evaluate(() => window.__outbox.delivering())], [true, false]);
    const [fromA, fromB] = await Promise.all([a, b].map((p, i) => p.evaluate((prefix) => window.__outbox.publish(150, prefix), `tab${i}`)));
    const both = [...fromA!.ok, ...fromB!.ok];
    const t = await settled(namesrvAddr, topic, both);
    assert.deepEqual([t.stored, t.duplicates], [300, 0]);
    // Tab b hears of the deliveries of its messages from tab a.
    await until(() => fromB!.ok.every((id) => eventsOf(b, 'delivered').some((e) => e.ids[0] === id)), 10_000, "b's delivered events");

    await a.close();
    await until(() => b.evaluate(() => window.__outbox.delivering()), 10_000, 'b takes over');
    const later = await b.evaluate(() => window.__outbox.publish(50, 'later'));
    const t2 = await settled(namesrvAddr, topic, [...both, ...later.ok]);
    assert.deepEqual([t2.stored, t2.duplicates], [350, 0]);
  });

  test('the browser killed right after publish() resolved: a new browser on the same profile delivers every message', async () => {
    const topic = 'outbox-crash';
    const profile = await tempDir('rmq-edge-outbox-profile-');
    const settings = { token: tokenFor('crash', ['outbox-*']), topic, name: 'crash' };
    try {
      const first = await ChromiumProcess.start(profile.path);
      let ok: string[];
      try {
        const page = await first.browser.contexts()[0]!.newPage();
        await page.goto(pageUrl(origin, { ...settings, ws: `ws://127.0.0.1:${await freePort()}/rmq` }));
        await page.evaluate(() => window.__outbox.ready);
        ({ ok } = await page.evaluate(() => window.__outbox.publish(100, 'crash')));
        assert.equal(ok.length, 100);
      } finally {
        await first.kill(); // SIGKILL: no unload, no flush, nothing but what is on disk
      }
      const second = await ChromiumProcess.start(profile.path);
      try {
        const page = await second.browser.contexts()[0]!.newPage();
        await page.goto(pageUrl(origin, { ...settings, ws: wsUrl }));
        await page.evaluate(() => window.__outbox.ready);
        const t = await settled(namesrvAddr, topic, ok);
        assert.deepEqual([t.stored, t.duplicates], [100, 0], `missing: ${t.missing.slice(0, 5).join(' ')}`);
      } finally {
        await second.kill();
      }
    } finally {
      await profile.remove();
    }
  });

  test("the README's outbox snippet runs as written: a click is queued, then stored under the id publish() gave", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const snippet = /^##### Browser: delivery that survives the page\n[\s\S]*?^```html\n([\s\S]*?)^```/m.exec(readme)?.[1];
    assert.ok(snippet, 'README: "##### Browser: delivery that survives the page" and its html block');
    const html = snippet.replace('ws://127.0.0.1:8080/rmq', wsUrl).replace('http://127.0.0.1:8080', origin)
      .replace('<dev token>', tokenFor('readme', ['demo-events']));
    await writeFile(join(site.path, 'readme.html'), `<!doctype html><body style="height:400px">${html}</body>`);
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const page = await ctx.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    await page.goto(`${origin}/readme.html`);
    // Clicks until one is queued (the listener is added once openOutbox resolved).
    const queued = await until(async () => {
      await page.mouse.click(120, 80);
      await sleep(200);
      const ids = logs.filter((l) => l.startsWith('queued ')).map((l) => l.split(' ')[1]!);
      return ids.length ? ids : undefined;
    }, 10_000, 'a click queued');
    await until(() => queued.every((id) => logs.includes(`stored ${id} websocket`)), 10_000, 'stored events');
    assert.ok(!logs.some((l) => l.startsWith('dropped')), logs.join('\n'));
    const t = await settled(namesrvAddr, 'demo-events', queued);
    assert.deepEqual([t.stored, t.duplicates], [queued.length, 0]);
  });
});
