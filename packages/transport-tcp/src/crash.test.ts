// kill -9 the broker CLI (flush sync) in the middle of a stream of SYNC sends, restart it on the
// same data dir and ports: every acknowledged message is there, intact, and a new send succeeds.
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer, type SendResult } from '@rocketmq-edge/core';
import { MessageConst, crc32 } from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';
import { cleanupStack, sleep, spawnBrokerCli, tempDir, u8 } from './test-support.js';

it('crash: kill -9 mid-stream with --flush sync loses no acknowledged message', async (t) => {
  const defer = cleanupStack(t);
  const dataDir = await tempDir(t);
  let broker = await spawnBrokerCli(t, { dataDir, flush: 'sync' });
  const { namesrvAddr, namesrvPort, brokerPort } = broker;

  const transport = new TcpTransport({ namesrvAddr, connectTimeoutMs: 1000 });
  defer(() => transport.close());
  const producer = new Producer({ transport, producerGroup: 'it_crash', sendMsgTimeout: 2000, retryTimesWhenSendFailed: 0 });
  await producer.start();
  defer(() => producer.shutdown());
  const topic = `IT_crash_${process.pid}`;

  const acked: { r: SendResult; body: Uint8Array }[] = [];
  let failures = 0;
  let killed = false;
  const killAfterMs = 400;
  const start = Date.now();
  // Several senders in parallel so the kill lands while writes are in flight.
  const sender = async (w: number) => {
    for (let i = 0; failures < 10 && Date.now() - start < 10_000; i++) {
      const body = new Uint8Array(200 + ((i * 7 + w) % 800));
      crypto.getRandomValues(body);
      try {
        const r = await producer.send({ topic, body, keys: `w${w}-${i}` });
        acked.push({ r, body });
      } catch {
        if (!killed) throw new Error('a send failed before the kill');
        failures++;
        await sleep(20);
      }
      if (!killed && Date.now() - start > killAfterMs) {
        killed = true;
        await broker.kill(); // SIGKILL
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(sender));
  assert.ok(killed);
  assert.ok(acked.length > 20, `acknowledged before the kill: ${acked.length}`);
  t.diagnostic(`${acked.length} acknowledged before kill -9, ${failures} failed sends after it`);

  broker = await spawnBrokerCli(t, { namesrvPort, brokerPort, dataDir, flush: 'sync' });
  const stored = await readAll({ namesrvAddr, topic });
  const byKey = new Map(stored.map((m) => [m.properties[MessageConst.UNIQ_KEY], m]));
  for (const { r, body } of acked) {
    const m = byKey.get(r.msgId);
    assert.ok(m, `acknowledged ${r.msgId} survived the crash`);
    assert.equal(m.queueId, r.messageQueue.queueId);
    assert.equal(m.queueOffset, r.queueOffset);
    assert.deepEqual(u8(m.body), body);
    assert.equal(m.bodyCRC, crc32(m.body) & 0x7fffffff);
  }
  for (const m of stored) assert.equal(m.bodyCRC, crc32(m.body) & 0x7fffffff, 'no corrupt record');

  const after = await producer.send({ topic, body: 'after restart' });
  assert.equal(after.sendStatus, 'SEND_OK');
  const again = await readAll({ namesrvAddr, topic });
  assert.ok(again.some((m) => m.properties[MessageConst.UNIQ_KEY] === after.msgId));
  await broker.stop();
});
