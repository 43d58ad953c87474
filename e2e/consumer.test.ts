// LitePullConsumer in real Chromium through the real gateway CLI (--enable-consumer, embedded
// broker): a page publishes and consumes over WebSocketTransport, bodies (compressed ones too),
// tags, keys and properties come back as acknowledged; two consumers in the page share a group,
// and the queues of one that leaves move to the other (the gateway relays the broker's
// NOTIFY_CONSUMER_IDS_CHANGED over each client's own broker connection; the interval is the fallback).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, ROOT, freePort, tempDir } from './support.js';

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
    const { bundleOptions } = (await import(join(ROOT, 'scripts/build.mjs'))) as { bundleOptions: esbuild.BuildOptions };
    const bundle = await esbuild.build({
      ...bundleOptions,
      stdin: {
        contents: "export { Producer } from '@rocketmq-edge/core';\nexport { LitePullConsumer } from '@rocketmq-edge/core/consumer';\n" +
          "export { WebSocketTransport } from '@rocketmq-edge/transport-ws';",
        resolveDir: join(ROOT, 'e2e'),
        loader: 'js',
      },
      outfile: 'rmq.js',
      write: false,
    });
    const js = bundle.outputFiles![0]!.contents;
    site = createServer((req, res) => {
      if (req.url === '/rmq.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module">import * as rmq from "/rmq.js"; window.rmq = rmq;</script>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
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

  test('two consumers of one group share the queues; when one leaves, the other takes its queues on the rebalance interval', async () => {
    const result = await page.evaluate(async ({ wsUrl, token, topic }: Params) => {
      // No named helper functions in here: the test runner's transform would name them with a helper the page lacks.
      const { Producer, LitePullConsumer, WebSocketTransport } = (window as any).rmq;
      const producer = new Producer({ transport: new WebSocketTransport({ url: wsUrl, token }) });
      await producer.start();
      await producer.send({ topic, body: 'creates the topic' });
      const [a, b] = [0, 1].map(() =>
        new LitePullConsumer({ transport: new WebSocketTransport({ url: wsUrl, token }), consumerGroup: 'e2e-shared', rebalanceInterval: 1000 }));
      a.subscribe(topic);
      b.subscribe(topic);
      await a.start();
      await b.start();
      for (const end = Date.now() + 20_000; !(a.assignment().length === 2 && b.assignment().length === 2);) {
        if (Date.now() > end) throw new Error(`not shared: ${a.assignment().length} + ${b.assignment().length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const shared = [a.assignment().length, b.assignment().length];
      await a.shutdown();
      for (const end = Date.now() + 20_000; b.assignment().length !== 4;) {
        if (Date.now() > end) throw new Error(`b reads ${b.assignment().length} queues after a left`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push((await producer.send({ topic, body: `after ${i}` })).msgId);
      const got: string[] = [];
      for (const end = Date.now() + 20_000; !ids.every((id) => got.includes(id)) && Date.now() < end;) {
        for (const m of await b.poll(500)) got.push(m.msgId);
      }
      await b.shutdown();
      await producer.shutdown();
      return { shared, clientIdsDiffer: a.clientId !== b.clientId, missing: ids.filter((id) => !got.includes(id)) };
    }, { ...params, topic: 'e2e-shared' });
    assert.deepEqual(result, { shared: [2, 2], clientIdsDiffer: true, missing: [] });
  });
});
