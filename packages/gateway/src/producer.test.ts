// Producer over WebSocketTransport → gateway → embedded name server + broker (real TCP).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer, type SendResult } from '@rocketmq-edge/core/internal';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGateway } from './index.js';
import { spawnBroker } from './test-support.js';

const TOKEN = 'producer-test-token';
const utf8 = new TextDecoder();

test('SYNC, ASYNC, ONEWAY, batch and ordered sends through the gateway to the embedded broker; readAll = acknowledged', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-gw-'));
  const emb = await startEmbedded({ dataDir: dir });
  t.after(async () => {
    await emb.close();
    await rm(dir, { recursive: true, force: true });
  });
  await scenario(t, emb.namesrvAddr);
});

test('the same through the upstream path to a broker in another process', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-gw-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const proc = await spawnBroker(t, { dataDir: dir });
  await scenario(t, proc.namesrvAddr);
});

async function scenario(t: TestContext, namesrvAddr: string): Promise<void> {
  const emb = { namesrvAddr };
  const gw = await startGateway({
    namesrvAddr: emb.namesrvAddr,
    auth: { staticTokens: { [TOKEN]: { sub: 'tester', topics: ['gw-*'] } } },
    logLevel: 'silent',
  });
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN });
  const producer = new Producer({ transport, producerGroup: 'gw-test' });
  t.after(async () => {
    await producer.shutdown().catch(() => {});
    await transport.close();
    await gw.close();
  });
  await producer.start();
  const topic = 'gw-producer';
  const acked: string[] = [];

  for (let i = 0; i < 20; i++) {
    const r = await producer.send({ topic, body: `sync-${i}`, tags: 'A', keys: `k${i}` });
    assert.equal(r.sendStatus, 'SEND_OK');
    assert.doesNotMatch(r.brokerAddr, /127\.0\.0\.1/, 'the client sees aliases only');
    acked.push(`sync-${i}`);
  }
  const asyncResults = await Promise.all(Array.from({ length: 100 }, (_, i) => producer.sendAsync({ topic, body: `async-${i}` })));
  for (const [i, r] of asyncResults.entries()) {
    assert.equal(r.sendStatus, 'SEND_OK');
    acked.push(`async-${i}`);
  }
  for (let i = 0; i < 10; i++) await producer.sendOneway({ topic, body: `oneway-${i}` });
  const batch = await producer.sendBatch(Array.from({ length: 5 }, (_, i) => ({ topic, body: `batch-${i}` })));
  assert.equal(batch.sendStatus, 'SEND_OK');
  for (let i = 0; i < 5; i++) acked.push(`batch-${i}`);
  // ordered: per order id, one queue, in order
  const ordered: SendResult[] = [];
  for (let i = 0; i < 12; i++) {
    const orderId = i % 3;
    ordered.push(await producer.send({ topic, body: `order-${orderId}-${i}` }, {
      selector: (mqs, _m, arg) => mqs[(arg as number) % mqs.length]!, arg: orderId,
    }));
    acked.push(`order-${orderId}-${i}`);
  }
  for (const [i, r] of ordered.entries()) assert.equal(r.messageQueue.queueId, ordered[i % 3]!.messageQueue.queueId);

  // oneway messages are not acknowledged; wait until they are visible (they do arrive on a healthy link)
  let stored: string[] = [];
  for (let k = 0; k < 50; k++) {
    stored = (await readAll({ namesrvAddr: emb.namesrvAddr, topic })).map((m) => utf8.decode(m.body));
    if (stored.filter((s) => s.startsWith('oneway-')).length === 10) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const storedAcked = stored.filter((s) => !s.startsWith('oneway-')).sort();
  assert.deepEqual(storedAcked, [...acked].sort(), 'exactly the acknowledged messages are stored');
  assert.equal(stored.filter((s) => s.startsWith('oneway-')).length, 10);
  // order within each order id
  for (const id of [0, 1, 2]) {
    const seq = stored.filter((s) => s.startsWith(`order-${id}-`)).map((s) => Number(s.split('-')[2]));
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b));
  }
}
