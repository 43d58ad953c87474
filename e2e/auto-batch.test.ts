// autoBatch in real Chromium, bundled as an app that uses it bundles it (the browser bundle's
// esbuild options), through the real gateway CLI and its embedded broker: concurrent sends from a
// page resolve each with its own message as the broker stored it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { readAll } from '@rocketmq-edge/broker/testing';
import { servePageLibrary } from './page-library.js';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, freePort, namesrvOf, tempDir } from './support.js';

interface Sent { msgId: string; offsetMsgId: string; body: string; queueId: number; queueOffset: number }

describe('autoBatch in Chromium through the gateway', { timeout: 120_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let site: Server;

  before(async () => {
    site = await servePageLibrary(
      "export { Producer, autoBatch } from '@rocketmq-edge/core';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';",
    );
    data = await tempDir();
    [gateway, browser] = await Promise.all([
      GatewayProcess.start({ port: await freePort(), dataDir: data.path }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await new Promise((r) => site?.close(r));
    await data?.remove();
  });

  test('200 concurrent sends from a page go batched; each resolves with its own stored message', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'rmq' in window);
    const topic = 'e2e-auto-batch';
    const sent: Sent[] = await page.evaluate(async ({ wsUrl, token, topic }) => {
      const { Producer, WebSocketTransport, autoBatch } = (window as any).rmq;
      const producer = new Producer({ transport: new WebSocketTransport({ url: wsUrl, token }), producerGroup: 'e2e-auto-batch', autoBatch });
      await producer.start();
      await producer.send({ topic, body: 'create' });
      const bodies = Array.from({ length: 200 }, (_, i) => `batched ${i}`);
      const results = await Promise.all(bodies.map((body, i) => (i % 2 ? producer.sendAsync({ topic, body, tags: 'B' }) : producer.send({ topic, body, tags: 'B' }))));
      await producer.shutdown();
      return results.map((r: any, i: number) => ({ msgId: r.msgId, offsetMsgId: r.offsetMsgId, body: bodies[i]!, queueId: r.messageQueue.queueId, queueOffset: r.queueOffset }));
    }, { wsUrl: gateway.ready.wsUrl, token: gateway.ready.token!, topic });
    await page.close();
    const stored = (await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic })).filter((m) => m.properties.TAGS === 'B');
    // A batch's records are stored with the batch's WAIT after their own properties; a single send's WAIT is not stored (3.9).
    assert.ok(stored.every((m) => m.properties.WAIT === 'true'), 'stored from batches');
    assert.deepEqual(
      stored.map((m) => ({ msgId: m.msgId, offsetMsgId: m.offsetMsgId, body: new TextDecoder().decode(m.body), queueId: m.queueId, queueOffset: m.queueOffset }))
        .sort((a, b) => a.msgId.localeCompare(b.msgId)),
      [...sent].sort((a, b) => a.msgId.localeCompare(b.msgId)),
    );
  });
});
