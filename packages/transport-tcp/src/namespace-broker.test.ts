// Namespaces end to end over TcpTransport against the embedded broker: a Producer and a
// LitePullConsumer of one namespace meet on `<namespace>%<topic>`; each sees only its own names.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer } from '@rocketmq-edge/core';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import type { MessageExt } from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';

describe('namespaces over TcpTransport → embedded broker', () => {
  let dir: string;
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rmq-edge-ns-'));
    embedded = await startEmbedded({ dataDir: dir, host: '127.0.0.1', namesrvPort: 0, brokerPort: 0 });
  });

  after(async () => {
    for (const c of closers.reverse()) await c();
    await embedded?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a Producer and a LitePullConsumer of one namespace share <ns>%topic; results, messages and queues name the plain topic', async () => {
    const topic = `IT_NS_C_${process.pid}`;
    const pt = new TcpTransport({ namesrvAddr: embedded.namesrv.addr });
    const producer = new Producer({ transport: pt, producerGroup: 'it_ns_p', namespace: 'teamB' });
    await producer.start();
    closers.push(async () => (await producer.shutdown(), pt.close()));
    const sent = [];
    for (let i = 0; i < 4; i++) sent.push(await producer.send({ topic, body: `m${i}`, tags: 'A' }));
    assert.ok(sent.every((r) => r.messageQueue.topic === topic));
    // On the broker: only the wrapped topic exists.
    assert.equal((await readAll({ namesrvAddr: embedded.namesrv.addr, topic: `teamB%${topic}` })).length, 4);
    assert.equal((await readAll({ namesrvAddr: embedded.namesrv.addr, topic })).length, 0);

    const consumer = new LitePullConsumer({
      transport: new TcpTransport({ namesrvAddr: embedded.namesrv.addr }), consumerGroup: 'it_ns_c', namespace: 'teamB', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    });
    closers.push(() => consumer.shutdown());
    assert.equal(consumer.options.consumerGroup, 'teamB%it_ns_c');
    const rebalances: string[] = [];
    consumer.on('rebalance', (e) => rebalances.push(e.topic, ...e.mqDivided.map((q) => q.topic)));
    consumer.subscribe(topic, 'A');
    await consumer.start();
    const got: MessageExt[] = [];
    const end = Date.now() + 10_000;
    while (got.length < 4 && Date.now() < end) got.push(...(await consumer.poll(200)));
    assert.deepEqual(got.map((m) => m.msgId).sort(), sent.map((r) => r.msgId).sort());
    for (const m of got) {
      assert.equal(m.topic, topic);
      assert.equal(m.queue!.topic, topic);
    }
    assert.ok(consumer.assignment().every((q) => q.topic === topic));
    assert.ok(rebalances.length > 0 && rebalances.every((t) => t === topic));
    // Positions take the user's queues.
    const mq = got[0]!.queue!;
    await consumer.commitSync([[mq, got[0]!.queueOffset + 1]]);
    assert.equal(await consumer.committed(mq), got[0]!.queueOffset + 1);
    const queues = await consumer.fetchMessageQueues(topic);
    assert.ok(queues.length > 0 && queues.every((q) => q.topic === topic));
  });
});
