// The durable browser outbox in real Chromium against the real gateway CLI (embedded broker over
// TCP, HTTP publish API): messages published right before navigation, while offline across a
// reload, from two tabs, refused for good, and over the outbox's bounds. What the broker stored is
// read back per message id (UNIQ_KEY) with readAll.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { PageEvent } from './outbox-page.js';
import { pageUrl, routeSite, serveSite, settled, tokenFor, writeOutboxSite, SECRET } from './outbox-support.js';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, freePort, namesrvOf, tempDir, until } from './support.js';

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
    await page.goto(`${origin}/away.html`);

    const { stored, missing, duplicates } = await settled(namesrvAddr, topic, ok);
    assert.equal(stored, 200, `missing: ${missing.slice(0, 5).join(' ')}`);
    assert.equal(duplicates, 0);
    const ws = eventsOf(page, 'delivered').filter((e) => e.via === 'websocket').length;
    const handed = eventsOf(page, 'handedover').flatMap((e) => e.ids).length;
    console.log(`# navigation: ${ws} delivered over WebSocket before the page was left, ${handed} handed over at unload, ${200 - ws - handed} in flight then`);
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
      const posts: string[] = [];
      ctx.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });
      const beaconToken = form === 'beacon' ? ctx.waitForEvent('response', (r) => r.url().endsWith('/v1/beacon-tokens') && r.ok()) : undefined;
      const page = await openPage(pageUrl(pageOrigin, { ...settings, ws: dead }), ctx);
      await beaconToken;
      const { ok, errors } = await page.evaluate(() => window.__outbox.publish(200, 'handover'));
      assert.deepEqual(errors, []);
      await page.goto(`${pageOrigin}/away.html`);

      const first = await settled(namesrvAddr, topic, ok);
      console.log(posts, eventsOf(page, 'handedover').length);
      assert.deepEqual([first.stored, first.duplicates], [200, 0], `missing: ${first.missing.slice(0, 5).join(' ')}`);

      // The next page of this origin finds them marked handed over: it asks the gateway again, by id.
      const next = await openPage(pageUrl(pageOrigin, { ...settings, ws: wsUrl }), ctx);
      await until(() => eventsOf(next, 'delivered').length >= 200, 20_000, '200 delivered events on the next page');
      const delivered = eventsOf(next, 'delivered');
      assert.ok(delivered.every((e) => e.via === 'http' && e.duplicate), `via/duplicate: ${JSON.stringify(delivered.slice(0, 3))}`);
      assert.deepEqual((await settled(namesrvAddr, topic, ok)).duplicates, 0);
      assert.deepEqual(await next.evaluate(() => window.__outbox.size()), { count: 0, bytes: 0 });
    });
  }
});
