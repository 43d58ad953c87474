// The demo page in real Chromium against the real gateway CLI (embedded broker, fresh data dir):
// publishes, pauses a stream through gateway restarts, refuses bad tokens without a retry loop. The
// 1,000 events are asserted as received by a consumer through the gateway (@rocketmq-edge/playwright's
// core, from node:test); the other tests look acknowledged sends up in the broker's store (readAll).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type {} from '../apps/demo/src/app.js'; // window.__demo typings
import type { ResultEntry } from '../apps/demo/src/app.js';
import { Rmq, assertReceivedTimes, type ReceivedMessage } from '@rocketmq-edge/playwright/core';
import { assertAllStored, stored, type Stored } from './demo-support.js';
import {
  CHROMIUM, CHROMIUM_ARGS, GatewayProcess, ROOT, freePort, hs256, namesrvOf, sleep, tempDir, until,
} from './support.js';

const ARTIFACTS = join(ROOT, 'test-results/e2e');

/** Per ordered key: one queue, and acknowledged events stored in the order they were sent. */
function assertOrdered(acked: ResultEntry[], byId: Map<string, Stored[]>): number {
  const keys = new Map<string, ResultEntry[]>();
  for (const r of acked.filter((r) => r.ordered)) keys.set(r.keys!, [...(keys.get(r.keys!) ?? []), r]);
  for (const [key, rs] of keys) {
    const queues = new Set(rs.map((r) => r.queue!.queueId));
    assert.equal(queues.size, 1, `ordered key ${key} went to queues ${[...queues]}`);
    const inStore = rs.map((r) => byId.get(r.msgId!)![0]!).sort((a, b) => a.queueOffset - b.queueOffset);
    const seqs = inStore.map((s) => (JSON.parse(s.body) as { seq: number }).seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `ordered key ${key} stored out of order: ${seqs.join(',')}`);
  }
  return keys.size;
}

/** Received messages by msgId, in the shape the store checks take. */
function byMsgId(msgs: readonly ReceivedMessage[]): Map<string, Stored[]> {
  const byId = new Map<string, Stored[]>();
  for (const m of msgs) {
    const s = { msgId: m.msgId, queueId: m.queue!.queueId, queueOffset: m.queueOffset, tags: m.tags, keys: m.keys, body: m.text };
    byId.set(m.msgId, [...(byId.get(m.msgId) ?? []), s]);
  }
  return byId;
}

describe('demo page in Chromium', { timeout: 240_000 }, () => {
  let browser: Browser;
  let gateway: GatewayProcess;
  let port: number;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let page: Page;
  let rmq: Rmq;
  const extra: GatewayProcess[] = [];
  const extraDirs: Awaited<ReturnType<typeof tempDir>>[] = [];

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    await mkdir(ARTIFACTS, { recursive: true });
    data = await tempDir();
    port = await freePort();
    [gateway, browser] = await Promise.all([
      // --enable-consumer: the test reads what the page published through the gateway, with the dev token.
      GatewayProcess.start({ port, dataDir: data.path, extraArgs: ['--enable-consumer'] }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    rmq = new Rmq({ gatewayUrl: gateway.ready.wsUrl, token: gateway.ready.token! });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (err) => console.error('[page error]', err));
  });

  after(async () => {
    await rmq?.close();
    await browser?.close();
    await Promise.all([gateway, ...extra].map((g) => g?.stop('SIGTERM')));
    await Promise.all([data, ...extraDirs].map((d) => d?.remove()));
  });

  test('publishes 1,000 events; every acknowledged one is received, once, where it was stored, ordered keys in order', async () => {
    await page.goto(gateway.ready.url);
    await page.evaluate(() => window.__demo.ready);
    await until(() => page.evaluate(() => window.__demo.state().type === 'connected'), 15_000, 'connected');
    const topic = (await page.evaluate(() => window.__demo.config()!.topic));
    // Read from the topic's end as of now: what this test's stream publishes.
    const events = await rmq.topic(topic, { shared: true }).ready();

    const summary = await page.evaluate(() => window.__demo.stream(1000, { concurrency: 16, orderedEvery: 4, orderedKeys: 4 }));
    assert.equal(summary.issued, 1000);
    assert.equal(summary.failed, 0, 'no failures on a healthy gateway');
    assert.equal(summary.acked, 1000);

    const results = (await page.evaluate(() => window.__demo.results())).filter((r) => r.run === summary.run);
    const acked = results.filter((r) => r.ok);
    assert.equal(acked.length, 1000);
    assert.ok(acked.every((r) => r.status === 'SEND_OK' && r.msgId && r.brokerAddr));

    const ackedIds = new Set(acked.map((r) => r.msgId));
    await assertReceivedTimes(events, 1000, (m) => ackedIds.has(m.msgId), { timeout: 30_000 });
    const byId = byMsgId(await events.messages());
    await events.close(); // the restarts below are the page's business alone
    assertAllStored(acked, byId);
    assert.equal(assertOrdered(acked, byId), 4);

    // The counters on the page say the same.
    const stats = await page.evaluate(() => window.__demo.stats());
    assert.equal(await page.getByTestId('stat-acked').textContent(), String(stats.acked));
    assert.equal(await page.getByTestId('stat-failed').textContent(), '0');
    assert.equal(await page.locator('[data-testid="results"] tr').count(), 200);

    // A person using the form: one message with tags and keys.
    await page.getByTestId('tags').fill('TagA');
    await page.getByTestId('keys').fill('order-42');
    await page.getByTestId('send').click();
    await until(() => page.evaluate(() => window.__demo.results().some((r) => r.kind === 'form' && r.ok)), 10_000, 'form send');
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png') });
  });

  test('gateway stopped and restarted while streaming: the stream pauses, sends and fails nothing while disconnected, resumes by itself', async () => {
    const topic = (await page.evaluate(() => window.__demo.config()!.topic));
    const statesBefore = (await page.evaluate(() => window.__demo.states())).length;
    const concurrency = 8;
    const events = 300;
    const stats = () => page.evaluate(() => window.__demo.stats());
    let sent = (await stats()).sent;
    await page.evaluate(([n, c]) => {
      (window as unknown as { __run: Promise<unknown> }).__run = window.__demo.stream(n!, { concurrency: c, intervalMs: 8 });
    }, [events, concurrency]);

    // Two outages: a graceful stop, then a crash. Same port, same data dir.
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await until(async () => (await stats()).sent >= sent + 60, 20_000, `60 events sent before the ${signal}`);
      await gateway.stop(signal);
      await until(() => page.evaluate(() => window.__demo.state().type === 'reconnecting'), 10_000, `reconnecting after ${signal}`);
      assert.equal(await page.getByTestId('conn').getAttribute('data-state'), 'reconnecting');
      assert.match((await page.getByTestId('conn-text').textContent())!, /reconnecting · attempt \d+/);

      // The page says the stream is paused, and why.
      await until(async () => await page.getByTestId('stream-state').getAttribute('data-state') === 'paused', 10_000, `paused after ${signal}`);
      assert.match((await page.getByTestId('stream-state').textContent())!, new RegExp(`^Paused at \\d+ of ${events}: waiting for the gateway \\(reconnecting`));
      // Sends that were in flight when the link went end (acknowledged if the gateway drained
      // them, else failed); after that the page sends nothing and nothing fails while it waits.
      await until(async () => (await stats()).inFlight === 0, 10_000, `in-flight sends ended after ${signal}`);
      const paused = await stats();
      await sleep(1500);
      assert.deepEqual(await stats(), paused, `nothing sent or failed while the gateway is down (${signal})`);
      assert.equal(await page.getByTestId('stream-state').getAttribute('data-state'), 'paused');

      gateway = await GatewayProcess.start({ port, dataDir: data.path });
      await until(() => page.evaluate(() => window.__demo.state().type === 'connected'), 20_000, `connected after ${signal} restart`);
      // It resumes by itself.
      await until(async () => (await stats()).sent > paused.sent, 10_000, `stream resumed after ${signal} restart`);
      sent = paused.sent;
    }

    const summary = await page.evaluate(() => (window as unknown as { __run: Promise<{ run: number; issued: number; acked: number; failed: number }> }).__run);
    assert.equal(summary.issued, events, 'the stream sent every event in the end');
    assert.equal(summary.acked + summary.failed, summary.issued, 'every event ends acknowledged or failed');
    // The page renders once per animation frame: the line may follow the resolved run a frame later.
    await until(async () => await page.getByTestId('stream-state').getAttribute('data-state') === 'done', 5000, 'stream line says done');

    const allStates = (await page.evaluate(() => window.__demo.states())).slice(statesBefore);
    const states = allStates.map((s) => s.type);
    assert.ok(states.filter((t) => t === 'reconnecting').length >= 2, `states: ${states.join(' ')}`);
    assert.ok(states.filter((t) => t === 'connected').length >= 2, `states: ${states.join(' ')}`);
    assert.ok(!states.includes('refused'));

    // It publishes again without a reload.
    const after = await page.evaluate((t) => window.__demo.send({ topic: t, tags: 'after-restart', body: 'still here' }), topic);
    assert.equal(after.ok, true, after.error);

    const results = (await page.evaluate(() => window.__demo.results())).filter((r) => r.run === summary.run);
    const acked = results.filter((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    assert.equal(acked.length, summary.acked);
    assertAllStored([...acked, after], await stored(namesrvOf(gateway.ready), topic));

    // Nothing was sent while disconnected: every event went out while the page saw "connected",
    // so the only failures are sends in flight when a link went down (at most `concurrency` each).
    const outages: [number, number][] = [];
    for (let i = 0; i < allStates.length; i++) {
      if (allStates[i]!.type !== 'reconnecting' || allStates[i - 1]?.type === 'reconnecting') continue;
      const back = allStates.slice(i).find((s) => s.type === 'connected');
      outages.push([allStates[i]!.at, back?.at ?? Infinity]);
    }
    const duringOutage = results.filter((r) => outages.some(([from, to]) => r.issuedAt > from && r.issuedAt < to));
    assert.deepEqual(duringOutage.map((r) => r.n), [], 'events sent while disconnected');
    assert.ok(failed.length <= concurrency * outages.length, `${failed.length} failed: ${failed.slice(0, 3).map((r) => r.error).join('; ')}`);
    assert.ok(results.some((r) => r.issuedAt > outages.at(-1)![1]), 'events sent after the last reconnect');

    // Failures are shown and counted, not swallowed.
    const total = await stats();
    assert.equal(await page.getByTestId('stat-failed').textContent(), String(total.failed));
    assert.ok(failed.every((r) => r.error && r.error.length > 0));
    if (total.failed > 0) {
      await page.locator('#failures-only').check();
      assert.equal(await page.locator('[data-testid="results"] tr[data-ok="false"]').count(), Math.min(200, total.failed));
      await page.screenshot({ path: join(ARTIFACTS, 'demo-failures.png') });
      await page.locator('#failures-only').uncheck();
    }
    console.log(`# restart run: ${summary.acked} acknowledged (all stored), ${summary.failed} failed (in flight at an outage) and shown; states: ${states.join(' → ')}`);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-after-restart.png'), fullPage: true });
  });

  test('a bad token is refused clearly, once, without a retry loop', async () => {
    const bad = await browser.newPage({ viewport: { width: 1360, height: 700 } });
    const sockets: string[] = [];
    bad.on('websocket', (ws) => sockets.push(ws.url()));
    try {
      await bad.goto(`${gateway.ready.url}?token=not-a-real-token`);
      await bad.evaluate(() => window.__demo.ready);
      await until(() => bad.evaluate(() => window.__demo.state().type === 'refused'), 10_000, 'refused');
      assert.equal(await bad.getByTestId('conn').getAttribute('data-state'), 'refused');
      assert.match((await bad.getByTestId('conn-text').textContent())!, /^refused/);
      assert.match((await bad.getByTestId('banner').textContent())!, /refused/);

      // A send fails visibly; still no new connection attempt.
      const r = await bad.evaluate(() => window.__demo.send({ topic: 'demo-events', body: 'nope' }));
      assert.equal(r.ok, false);
      await sleep(2500);
      assert.equal(sockets.length, 1, `connection attempts: ${sockets.length}`);
      const states = (await bad.evaluate(() => window.__demo.states())).map((s) => s.type);
      assert.ok(!states.includes('reconnecting'), `states: ${states.join(' ')}`);
      assert.equal(states.at(-1), 'refused');
      assert.ok(Number(await bad.getByTestId('stat-failed').textContent()) >= 1);
      await bad.screenshot({ path: join(ARTIFACTS, 'demo-refused.png') });
    } finally {
      await bad.close();
    }
  });

  test('an expired JWT is refused as expired, without a retry loop', async () => {
    const secret = 'e2e-secret-0123456789-0123456789-abcdef';
    const dir = await tempDir();
    extraDirs.push(dir);
    // --jwt-secret alone is no development mode (no demo page by default): ask for the page itself
    const jwtGateway = await GatewayProcess.start({
      port: await freePort(), dataDir: dir.path, jwtSecret: secret, extraArgs: ['--demo-dir', join(ROOT, 'apps/demo/dist')],
    });
    extra.push(jwtGateway);
    const now = Math.floor(Date.now() / 1000);
    const expired = hs256(secret, { sub: 'e2e', topics: ['*'], iat: now - 3600, exp: now - 600 });
    const pg = await browser.newPage();
    const sockets: string[] = [];
    pg.on('websocket', (ws) => sockets.push(ws.url()));
    try {
      const q = new URLSearchParams({ token: expired, url: jwtGateway.ready.wsUrl, topic: 'demo-events' });
      await pg.goto(`${jwtGateway.ready.url}?${q}`);
      await until(() => pg.evaluate(() => window.__demo.state().type === 'refused'), 10_000, 'refused');
      assert.match((await pg.getByTestId('conn-text').textContent())!, /expired|unauthorized/i);
      await sleep(2000);
      assert.equal(sockets.length, 1, `connection attempts: ${sockets.length}`);
    } finally {
      await pg.close();
    }
  });
});
