// autoBatch through the gateway: a Producer over WebSocketTransport with autoBatch → gateway →
// embedded name server + broker. The gateway relays the batches under its usual checks, and every
// caller's SendResult is its own message as the broker stored it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer, autoBatch, type SendResult } from '@rocketmq-edge/core';
import { MessageConst, RequestCode, decodeBatchBody, recordRequests } from '@rocketmq-edge/core/internal';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGateway } from './index.js';

const TOKEN = 'auto-batch-test-token';

async function fixture(t: TestContext, gatewayOpts: { maxBatchMessages?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-gw-ab-'));
  const emb = await startEmbedded({ dataDir: dir });
  const gw = await startGateway({
    namesrvAddr: emb.namesrvAddr,
    auth: { staticTokens: { [TOKEN]: { sub: 'tester', topics: ['ab-*'] } } },
    logLevel: 'silent',
    ...gatewayOpts,
  });
  const { transport, requests } = recordRequests(new WebSocketTransport({ url: gw.url, token: TOKEN }));
  const producer = new Producer({ transport, producerGroup: 'gw-auto-batch', autoBatch });
  t.after(async () => {
    await producer.shutdown().catch(() => {});
    await transport.close();
    await gw.close();
    await emb.close();
    await rm(dir, { recursive: true, force: true });
  });
  await producer.start();
  const sendCodes = (topic: string) => requests.filter((r) => r.cmd.extFields?.b === topic).map((r) => r.cmd);
  return { producer, namesrvAddr: emb.namesrvAddr, sendCodes };
}

/** Each result is its own stored message: UNIQ_KEY, queue, offset, offset id, body, keys. */
async function assertEachStored(namesrvAddr: string, topic: string, tag: string, bodies: string[], results: SendResult[]): Promise<void> {
  const stored = (await readAll({ namesrvAddr, topic })).filter((m) => m.properties[MessageConst.TAGS] === tag);
  assert.equal(stored.length, bodies.length, 'as many stored as acknowledged');
  const byId = new Map(stored.map((m) => [m.properties[MessageConst.UNIQ_KEY]!, m]));
  results.forEach((r, i) => {
    const m = byId.get(r.msgId);
    assert.ok(m, `${r.msgId} stored`);
    assert.equal(new TextDecoder().decode(m.body), bodies[i]);
    assert.equal(m.properties[MessageConst.KEYS], `k${i}`);
    assert.equal(r.messageQueue.queueId, m.queueId);
    assert.equal(r.queueOffset, m.queueOffset);
    assert.equal(r.offsetMsgId, m.offsetMsgId);
  });
}

test('autoBatch through the gateway: concurrent sends are relayed as SEND_BATCH_MESSAGE, each result its own stored message', async (t) => {
  const { producer, namesrvAddr, sendCodes } = await fixture(t);
  const topic = 'ab-relayed';
  await producer.send({ topic, body: 'create' });
  const bodies = Array.from({ length: 300 }, (_, i) => `relayed ${i} ✓`);
  const results = await Promise.all(bodies.map((body, i) => (i % 2 ? producer.sendAsync : producer.send).call(producer, { topic, body, tags: 'G', keys: `k${i}` })));
  const sends = sendCodes(topic).slice(1);
  assert.ok(sends.length > 0 && sends.every((c) => c.code === RequestCode.SEND_BATCH_MESSAGE), 'only batches');
  assert.equal(sends.reduce((n, c) => n + decodeBatchBody(c.body!).length, 0), 300);
  await assertEachStored(namesrvAddr, topic, 'G', bodies, results);
});

test('a gateway that takes fewer records per batch refuses the batch: each member goes alone and is stored once', async (t) => {
  const { producer, namesrvAddr, sendCodes } = await fixture(t, { maxBatchMessages: 3 });
  const topic = 'ab-refused';
  await producer.send({ topic, body: 'create' });
  const bodies = Array.from({ length: 8 }, (_, i) => `refused ${i}`);
  const results = await Promise.all(bodies.map((body, i) => producer.send({ topic, body, tags: 'R', keys: `k${i}` })));
  assert.deepEqual(sendCodes(topic).slice(1).map((c) => c.code), [RequestCode.SEND_BATCH_MESSAGE, ...Array(8).fill(RequestCode.SEND_MESSAGE_V2)]);
  await assertEachStored(namesrvAddr, topic, 'R', bodies, results);
});
