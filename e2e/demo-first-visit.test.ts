// The demo page as a first user meets it, in real Chromium against the real gateway CLI: it loads
// cleanly (icon, no failed request, no console error), publishes nothing by itself, sends exactly
// what its fields show, and fits a 390 px phone screen whatever the values.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openDemo, stored } from './demo-support.js';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, ROOT, freePort, namesrvOf, tempDir, until } from './support.js';

/** The elements that stick out past the right edge of the window (for the failure message). */
async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; wide: string[] }> {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className ? `.${String(e.className).replaceAll(' ', '.')}` : ''}`)
      .slice(0, 8),
  }));
}

async function assertFitsWidth(page: Page, what: string): Promise<void> {
  const o = await overflow(page);
  assert.ok(o.scrollWidth <= o.innerWidth, `${what}: page is ${o.scrollWidth} px wide in a ${o.innerWidth} px window; too wide: ${o.wide.join(', ')}`);
}

describe('demo page, first visit', { timeout: 120_000 }, () => {
  let browser: Browser;
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let namesrvAddr: string;

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    await mkdir(join(ROOT, 'test-results/e2e'), { recursive: true });
    data = await tempDir();
    [gateway, browser] = await Promise.all([
      freePort().then((port) => GatewayProcess.start({ port, dataDir: data.path })),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    namesrvAddr = namesrvOf(gateway.ready);
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop('SIGTERM');
    await data?.remove();
  });

  test('loads with an icon, no failed request and no console error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    try {
      await page.goto(gateway.ready.url);
      await page.evaluate(() => window.__demo.ready);
      await until(() => page.evaluate(() => window.__demo.state().type === 'connected'), 15_000, 'connected');
      await until(async () => /queues? on/.test((await page.getByTestId('route').textContent())!), 10_000, 'route shown');
      await page.waitForLoadState('networkidle');
      assert.deepEqual(problems, []);

      // The icon the page declares is an image the browser can draw (so it asks for no /favicon.ico).
      const icon = await page.evaluate(async () => {
        const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href;
        if (!href) return 'no <link rel="icon">';
        const img = new Image();
        img.src = href;
        try { await img.decode(); } catch (e) { return `icon does not decode: ${e}`; }
        return img.naturalWidth > 0 ? 'ok' : 'icon has no width';
      });
      assert.equal(icon, 'ok');
    } finally {
      await page.close();
    }
  });

  test('publishes no click until the user turns click capture on, and none after turning it off', async () => {
    const page = await openDemo(browser, gateway.ready.url);
    try {
      const topic = (await page.evaluate(() => window.__demo.config()!.topic));
      const capture = page.getByTestId('capture');
      assert.equal(await capture.isChecked(), false, 'click capture is off on a fresh page');
      const sent = () => page.evaluate(() => window.__demo.stats().sent);

      // A first visitor looks around: headings, counters, fields, the other check boxes.
      await page.locator('h1').click();
      await page.getByTestId('stat-acked').click();
      await page.getByTestId('tags').click();
      await page.locator('#failures-only').check();
      await page.locator('#failures-only').uncheck();
      await page.getByTestId('stream-ordered').uncheck();
      await page.getByTestId('stream-ordered').check();
      await page.getByTestId('route').click();
      assert.equal(await sent(), 0, 'nothing published by clicks on a fresh page');
      assert.equal(await page.locator('[data-testid="results"] tr').count(), 0);
      assert.equal(await page.getByTestId('empty').isVisible(), true);

      // Turned on: the click that turns it on is not published, the next one is.
      await capture.check();
      assert.equal(await sent(), 0, 'ticking the box publishes nothing');
      await page.locator('h1').click();
      const click = await until(() => page.evaluate(() => window.__demo.results().find((r) => r.kind === 'click')), 10_000, 'click event');
      assert.equal(click.ok, true, click.error);
      assert.equal(click.tags, 'click');
      assert.equal(click.keys, 'h1');
      const copies = (await stored(namesrvAddr, topic)).get(click.msgId!);
      assert.equal(copies?.[0]?.tags, 'click');
      assert.equal((JSON.parse(copies![0]!.body) as { type: string; target: string }).target, 'h1');

      // Turned off: the box itself and later clicks publish nothing more.
      await capture.uncheck();
      await page.locator('h1').click();
      await page.getByTestId('stat-sent').click();
      assert.equal(await sent(), 1, 'only the one click made while capture was on');
    } finally {
      await page.close();
    }
  });

  test('empty fields look empty and are left out; a message carries exactly what the fields show', async () => {
    const page = await openDemo(browser, gateway.ready.url);
    try {
      const topicField = page.getByTestId('topic');
      const tags = page.getByTestId('tags');
      const keys = page.getByTestId('keys');
      const body = page.getByTestId('body');
      // Real labels name the fields; the example text is a hint, not a value.
      const labels = await page.evaluate(() => ['topic', 'tags', 'keys', 'body'].map((id) => {
        const field = document.querySelector<HTMLInputElement>(`[data-testid="${id}"]`)!;
        const text = [...field.labels![0]!.childNodes].filter((n) => n !== field).map((n) => n.textContent).join(' ');
        return text.replace(/\s+/g, ' ').trim();
      }));
      assert.deepEqual(labels, ['Topic', 'Tags optional', 'Keys optional', 'Body']);
      for (const field of [tags, keys]) {
        assert.equal(await field.inputValue(), '');
        assert.match((await field.getAttribute('placeholder'))!, /^e\.g\. /);
      }
      const look = await tags.evaluate((input) => {
        const hint = getComputedStyle(input, '::placeholder');
        const value = getComputedStyle(input);
        return { hintStyle: hint.fontStyle, hintColor: hint.color, valueStyle: value.fontStyle, valueColor: value.color, border: value.borderTopStyle };
      });
      assert.equal(look.hintStyle, 'italic');
      assert.equal(look.valueStyle, 'normal');
      assert.notEqual(look.hintColor, look.valueColor);
      assert.equal(look.border, 'dashed', 'an empty field is drawn dashed');
      await tags.fill('TagB');
      assert.equal(await tags.evaluate((input) => getComputedStyle(input).borderTopStyle), 'solid', 'a filled field is drawn solid');
      await tags.fill('');

      // The topic and body fields show real values, and those are what is sent.
      const topic = await topicField.inputValue();
      assert.equal(topic, await page.evaluate(() => window.__demo.config()!.topic));
      const shownBody = await body.inputValue();
      assert.ok(shownBody.length > 0);
      await page.getByTestId('send').click();
      const plain = await until(() => page.evaluate(() => window.__demo.results().find((r) => r.kind === 'form')), 10_000, 'form send');
      assert.equal(plain.ok, true, plain.error);
      assert.equal(plain.tags, undefined, 'no tags sent from an empty field');
      assert.equal(plain.keys, undefined, 'no keys sent from an empty field');
      let copies = (await stored(namesrvAddr, topic)).get(plain.msgId!)!;
      assert.deepEqual({ tags: copies[0]!.tags, keys: copies[0]!.keys, body: copies[0]!.body },
        { tags: undefined, keys: undefined, body: shownBody });

      await tags.fill('TagB');
      await keys.fill('order-7');
      await body.fill('{"order":7}');
      await page.getByTestId('send').click();
      const filled = await until(() => page.evaluate(() => window.__demo.results().filter((r) => r.kind === 'form')[1]), 10_000, 'second form send');
      assert.equal(filled.ok, true, filled.error);
      copies = (await stored(namesrvAddr, topic)).get(filled.msgId!)!;
      assert.deepEqual({ tags: copies[0]!.tags, keys: copies[0]!.keys, body: copies[0]!.body },
        { tags: 'TagB', keys: 'order-7', body: '{"order":7}' });

      // A required field showing only its hint stops the send: no example text, no hidden default.
      const sent = () => page.evaluate(() => window.__demo.stats().sent);
      const before = await sent();
      await topicField.fill('');
      await page.getByTestId('send').click();
      assert.equal(await sent(), before, 'no send without a topic');
      assert.equal(await topicField.evaluate((i: HTMLInputElement) => i.validity.valueMissing), true);
      await topicField.fill(topic);
      await body.fill('');
      await page.getByTestId('send').click();
      assert.equal(await sent(), before, 'no send without a body');

      const count = page.getByTestId('stream-count');
      await count.fill('');
      await page.getByTestId('stream').click();
      assert.equal(await sent(), before, 'no stream without a number of events');
      assert.equal(await count.evaluate((i: HTMLInputElement) => i.validity.valueMissing), true);
      assert.equal(await page.getByTestId('stream-state').getAttribute('data-state'), 'idle');
    } finally {
      await page.close();
    }
  });

  test('a stream started while the gateway is unreachable waits, sends nothing, and Stop ends it', async () => {
    // A WebSocket URL where nothing listens: the transport keeps reconnecting.
    const q = new URLSearchParams({ url: `ws://127.0.0.1:${await freePort()}/rmq` });
    const page = await openDemo(browser, `${gateway.ready.url}?${q}`, { state: 'reconnecting' });
    try {
      await page.getByTestId('stream').click();
      await until(async () => await page.getByTestId('stream-state').getAttribute('data-state') === 'paused', 10_000, 'paused');
      assert.match((await page.getByTestId('stream-state').textContent())!, /^Paused at 0 of 1000: waiting for the gateway \(reconnecting/);
      assert.equal(await page.getByTestId('stream').isDisabled(), true);
      await until(() => page.evaluate(() => window.__demo.states().filter((s) => s.type === 'reconnecting').length >= 3), 15_000, 'three reconnect attempts');
      assert.deepEqual(await page.evaluate(() => window.__demo.stats()), { sent: 0, acked: 0, failed: 0, inFlight: 0 });

      await page.getByTestId('stop').click();
      await until(async () => await page.getByTestId('stream-state').getAttribute('data-state') === 'stopped', 10_000, 'stopped');
      assert.match((await page.getByTestId('stream-state').textContent())!, /^Stopped after 0 of 1000 events: 0 acknowledged, 0 failed\.$/);
      assert.equal(await page.getByTestId('stream').isDisabled(), false, 'a new stream can be started');
      assert.equal(await page.evaluate(() => window.__demo.stats().sent), 0);
    } finally {
      await page.close();
    }
  });

  test('fits a 390 px wide phone screen with long topics, bodies, keys, errors and tokens', async () => {
    // The longest topic RocketMQ takes (127 characters, no break opportunity for the browser).
    const topic = `demo_${'long_topic'.repeat(12)}`;
    const page = await openDemo(browser, `${gateway.ready.url}?topic=${topic}`, { width: 390, height: 844 });
    try {
      await assertFitsWidth(page, 'fresh page');
      const summary = await page.evaluate(() => window.__demo.stream(24, { concurrency: 4 }));
      assert.equal(summary.acked, 24);
      await page.getByTestId('tags').fill(`Tag${'T'.repeat(120)}`);
      await page.getByTestId('keys').fill(`key-${'k'.repeat(300)}`);
      await page.getByTestId('body').fill(JSON.stringify({ note: 'n'.repeat(2000), list: Array.from({ length: 50 }, (_, i) => i) }));
      await page.getByTestId('send').click();
      // Sends that fail with long error texts (a topic over the limit, a topic with a space).
      const failed = await page.evaluate(async () => [
        await window.__demo.send({ topic: `too_long_${'x'.repeat(300)}`, body: 'b' }),
        await window.__demo.send({ topic: `bad topic ${'y'.repeat(120)}`, body: 'b' }),
      ]);
      assert.ok(failed.every((r) => !r.ok && r.error!.length > 60));
      await until(() => page.evaluate(() => window.__demo.results().length === 27), 10_000, 'every send ended');
      assert.equal(await page.locator('[data-testid="results"] tr').count(), 27);
      await assertFitsWidth(page, 'after long sends and failures');
      await page.locator('#failures-only').check();
      await assertFitsWidth(page, 'failures only');
      await page.screenshot({ path: join(ROOT, 'test-results/e2e/demo-phone.png'), fullPage: true });
    } finally {
      await page.close();
    }

    // A long refused token and an invalid long topic: the refusal, route error and a stream that
    // cannot run are all shown in the width.
    const q = new URLSearchParams({ token: `tok_${'t'.repeat(1500)}`, topic: 'q'.repeat(300) });
    const refused = await openDemo(browser, `${gateway.ready.url}?${q}`, { width: 390, height: 844, state: 'refused' });
    try {
      await refused.getByTestId('stream').click();
      await until(async () => await refused.getByTestId('stream-state').getAttribute('data-state') === 'ended', 10_000, 'stream ended');
      assert.match((await refused.getByTestId('stream-state').textContent())!, /^Ended after 0 of 1000 events .*refused/);
      await until(async () => /failed/.test((await refused.getByTestId('route').textContent())!), 10_000, 'route error shown');
      await assertFitsWidth(refused, 'refused page');
      await refused.screenshot({ path: join(ROOT, 'test-results/e2e/demo-phone-refused.png'), fullPage: true });
    } finally {
      await refused.close();
    }
  });
});
