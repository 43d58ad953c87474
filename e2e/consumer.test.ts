// LitePullConsumer in real Chromium through the real gateway CLI (--enable-consumer, embedded
// broker): a page publishes and consumes over WebSocketTransport, bodies (compressed ones too),
// tags, keys and properties come back as acknowledged; two pages share a group, and the queues of
// one that closes move to the other (the gateway relays the broker's NOTIFY_CONSUMER_IDS_CHANGED over
// each client's own broker connection).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { servePageLibrary } from './page-library.js';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, freePort, tempDir } from './support.js';

/** What the page's scenarios get. */
interface Params { wsUrl: string; token: string; topic: string }
interface Seen { msgId: string; body: string; tags?: string; keys?: string; n?: string; queueId?: number; queueOffset: number }

describe('LitePullConsumer in Chromium through the gateway', { timeout: 120_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let site: Server;
  let page: Page;
  let params: Omit<Params, 'topic'>;

  before(async () => {
    // The page's library: what an app that publishes and consumes bundles, built as the browser bundle is.
    site = await servePageLibrary(
      "export { Producer } from '@rocketmq-edge/core';\nexport { LitePullConsumer } from '@rocketmq-edge/core/consumer';\n" +
          "export { WebSocketTransport } from '@rocketmq-edge/transport-ws';",
    );
    data = await tempDir();
    [gateway, browser] = await Promise.all([
      GatewayProcess.start({ port: await freePort(), dataDir: data.path, extraArgs: ['--enable-consumer'] }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    params = { wsUrl: gateway.ready.wsUrl, token: gateway.ready.token! };
    page = await browser.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'rmq' in window);
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await new Promise((r) => site?.close(r));
    await data?.remove();
  });

  test('what the page published comes back to its consumer: bodies (compressed too), tags, keys, properties, positions', async () => {
    const { sent, got } = await page.evaluate(async ({ wsUrl, token, topic }: Params) => {
      const { Producer, LitePullConsumer, WebSocketTransport } = (window as any).rmq;
      const producer = new Producer({ transport: new WebSocketTransport({ url: wsUrl, token }), producerGroup: 'e2e-consumer-pg' });
      await producer.start();
      const sent: Seen[] = [];
      for (let i = 0; i < 12; i++) {
        const body = i % 4 === 2 ? `${'compressible '.repeat(500)}#${i}` : `m${i}`; // ≥ 4096 bytes: sent compressed
        const tags = i % 2 ? 'TagB' : 'TagA';
        const r = await producer.send({ topic, body, tags, keys: `k${i}`, properties: { n: String(i) } });
        sent.push({ msgId: r.msgId, body, tags, keys: `k${i}`, n: String(i), queueId: r.messageQueue.queueId, queueOffset: r.queueOffset });
      }
      const consumer = new LitePullConsumer({ transport: new WebSocketTransport({ url: wsUrl, token }), consumerGroup: 'e2e-tag-a' });
      consumer.subscribe(topic, 'TagA');
      await consumer.start();
      const got: Seen[] = [];
      const deadline = Date.now() + 20_000;
      while (got.length < 6 && Date.now() < deadline) {
        for (const m of await consumer.poll(500)) {
          got.push({ msgId: m.msgId, body: new TextDecoder().decode(m.body), tags: m.tags, keys: m.keys, n: m.properties.n, queueId: m.queue.queueId, queueOffset: m.queueOffset });
        }
      }
      await consumer.shutdown();
      await producer.shutdown();
      return { sent, got };
    }, { ...params, topic: 'e2e-consume' });
    const wanted = sent.filter((s) => s.tags === 'TagA');
    assert.ok(wanted.some((s) => s.body.length >= 4096), 'a compressed body among them');
    assert.deepEqual([...got].sort((a, b) => a.msgId.localeCompare(b.msgId)), [...wanted].sort((a, b) => a.msgId.localeCompare(b.msgId)));
  });

  test('two pages are two members of one group; when one tab closes, the other takes its queues on the broker\'s notice; nothing is read twice', async () => {
    const other = await browser.newPage();
    other.on('pageerror', (err) => console.error('[page error]', err));
    await other.goto(page.url());
    await other.waitForFunction(() => 'rmq' in window);
    const topic = 'e2e-shared';
    // No named helper functions inside evaluate: the test runner's transform would name them with a helper the page lacks.
    // A 60 s rebalance interval: only the broker's NOTIFY_CONSUMER_IDS_CHANGED, relayed by the gateway, moves queues here.
    const join = (p: Page) => p.evaluate(async ({ wsUrl, token, topic }: Params) => {
      const { Producer, LitePullConsumer, WebSocketTransport } = (window as any).rmq;
      const w = window as any;
      w.producer = new Producer({ transport: new WebSocketTransport({ url: wsUrl, token }) });
      await w.producer.start();
      await w.producer.send({ topic, body: 'creates the topic' });
      w.consumer = new LitePullConsumer({ transport: new WebSocketTransport({ url: wsUrl, token }), consumerGroup: 'e2e-shared', rebalanceInterval: 60_000 });
      w.consumer.subscribe(topic);
      await w.consumer.start();
      w.got = [];
      return w.consumer.clientId as string;
    }, { ...params, topic });
    const assigned = (p: Page) => p.evaluate(() => (window as any).consumer.assignment().length as number);
    const until = async (what: string, ok: () => Promise<boolean>) => {
      for (const end = Date.now() + 20_000; !(await ok());) {
        if (Date.now() > end) throw new Error(`not within 20 s: ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const publish = (n: number, label: string) => page.evaluate(async ({ topic, n, label }) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await (window as any).producer.send({ topic, body: `${label} ${i}` })).msgId);
      return ids;
    }, { topic, n, label });
    /** Everything the page's consumer has handed out so far (after one more poll). */
    const poll = (p: Page) => p.evaluate(async () => {
      const w = window as any;
      for (const m of await w.consumer.poll(200)) w.got.push(m.msgId);
      return [...w.got] as string[];
    });

    const idA = await join(page);
    const idB = await join(other);
    assert.notEqual(idA, idB);
    await until('two and two queues', async () => (await assigned(page)) === 2 && (await assigned(other)) === 2);
    const before = await publish(8, 'before');
    let gotA: string[] = [];
    let gotB: string[] = [];
    await until('every message read by one of the two', async () => {
      gotA = await poll(page);
      gotB = await poll(other);
      return before.every((id) => gotA.includes(id) || gotB.includes(id));
    });
    assert.ok(gotB.length > 0, 'the other tab read its share');
    await Promise.all([page, other].map((p) => p.evaluate(() => (window as any).consumer.commitSync())));
    await other.close(); // a closed tab: no unregister, its socket just goes
    await until('the first tab reads all four queues', async () => (await assigned(page)) === 4);
    const after = await publish(8, 'after');
    await until('every later message read by the first tab', async () => {
      gotA = await poll(page);
      return after.every((id) => gotA.includes(id));
    });
    const all = [...gotA, ...gotB];
    assert.deepEqual(all.filter((id, i) => all.indexOf(id) !== i), [], 'nothing read twice');
    await page.evaluate(async () => { const w = window as any; await w.consumer.shutdown(); await w.producer.shutdown(); });
  });
});
