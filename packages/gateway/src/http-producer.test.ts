// HttpProducer (@rocketmq-edge/transport-ws/http) against a real gateway and the embedded broker:
// what it sends is stored as sent; the gateway's refusals arrive as HttpPublishError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageSysFlag, decompressZlib } from '@rocketmq-edge/core/internal';
import { HttpProducer, HttpPublishError } from '@rocketmq-edge/transport-ws/http';
import { OTHER_TOKEN, TOKEN, httpFixture, text } from './http-test-support.js';

test('send and sendBatch: text and bytes, tags, keys, properties and msgId stored as sent; a repeat is a duplicate', async (t) => {
  const { gw, stored } = await httpFixture(t);
  const producer = new HttpProducer({ url: gw.httpUrl, token: async () => TOKEN });
  const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
  const one = await producer.send({ topic: 'http-client', body: bytes, tags: 'bin', keys: ['k1', 'k2'], properties: { Ünïcode: 'välue ✓' }, msgId: 'client-1' });
  assert.equal(one.msgId, 'client-1');
  assert.equal(one.brokerName, 'broker-a@0');
  const again = await producer.send({ topic: 'http-client', body: bytes, msgId: 'client-1' });
  assert.equal(again.duplicate, true);
  const batch = await producer.sendBatch([{ topic: 'http-client', body: 'a' }, { topic: 'http-client', body: 'b', msgId: 'client-2' }]);
  assert.deepEqual(batch.map((r) => r.queueOffset - batch[0]!.queueOffset), [0, 1]);
  assert.equal(batch[1]!.id, 'client-2');
  const all = new Map((await stored('http-client')).map((m) => [m.msgId, m]));
  assert.equal(all.size, 3);
  const m = all.get('client-1')!;
  // bodies from 4 KiB up are stored zlib-compressed, as every RocketMQ producer does (consumers inflate them)
  assert.equal(m.sysFlag & MessageSysFlag.COMPRESSED_FLAG, MessageSysFlag.COMPRESSED_FLAG);
  assert.deepEqual(await decompressZlib(m.body), bytes);
  assert.equal(m.properties.TAGS, 'bin');
  assert.equal(m.properties.KEYS, 'k1 k2');
  assert.equal(m.properties['Ünïcode'], 'välue ✓');
  assert.equal(text(all.get(batch[0]!.msgId)!.body), 'a');
});

test('refusals and an unreachable gateway are HttpPublishError with status, code, remark and whether to retry', async (t) => {
  const { gw } = await httpFixture(t, { http: { rate: { perSecond: 1, burst: 1 } } });
  const refused = await new HttpProducer({ url: gw.httpUrl, token: 'wrong' }).send({ topic: 'http-client', body: 'x' }).catch((e: unknown) => e);
  assert.ok(refused instanceof HttpPublishError);
  assert.deepEqual([refused.status, refused.responseCode, refused.retryable], [401, 16, false]);
  assert.match(refused.remark, /unknown token/);
  const producer = new HttpProducer({ url: gw.httpUrl, token: OTHER_TOKEN });
  await producer.send({ topic: 'http-client', body: 'x' });
  const busy = await producer.send({ topic: 'http-client', body: 'x' }).catch((e: unknown) => e) as HttpPublishError;
  assert.deepEqual([busy.status, busy.responseCode, busy.retryable, busy.retryAfterMs], [429, 2, true, 1000]);
  await assert.rejects(producer.send({ topic: 'http-client', body: 'x', flag: 3 }), /flag, deliverTimeMs and waitStoreMsgOK need the WebSocket transport/);
  await gw.close();
  const gone = await producer.send({ topic: 'http-client', body: 'x' }).catch((e: unknown) => e) as HttpPublishError;
  assert.equal(gone.status, 0);
  assert.equal(gone.retryable, true);
});
