// TransactionProducer over TcpTransport against the embedded broker (half topic, END_TRANSACTION,
// check-back): consumers see exactly the committed messages, with their topic and queue.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import type { MessageExt } from '@rocketmq-edge/core/internal';
import { TransactionProducer, type LocalTransactionState, type TransactionSendResult } from '@rocketmq-edge/core/transaction';
import { TcpTransport } from './index.js';
import { sleep } from './test-support.js';

/** What the local transaction and the check-back answer, by the message's `decide` property. */
const DECISIONS: Record<string, [LocalTransactionState, LocalTransactionState]> = {
  commit: ['COMMIT_MESSAGE', 'ROLLBACK_MESSAGE'],
  rollback: ['ROLLBACK_MESSAGE', 'COMMIT_MESSAGE'],
  'unknown-then-commit': ['UNKNOW', 'COMMIT_MESSAGE'],
  'unknown-then-rollback': ['UNKNOW', 'ROLLBACK_MESSAGE'],
  'throws-then-commit': ['UNKNOW', 'COMMIT_MESSAGE'],
};

describe('TransactionProducer over TcpTransport → embedded broker', () => {
  let dir: string;
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  let transport: TcpTransport;
  let producer: TransactionProducer;
  const checked: MessageExt[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rmq-edge-tx-'));
    // Check-backs within a test's time: half messages older than 300 ms, checked every 200 ms.
    embedded = await startEmbedded({ dataDir: dir, host: '127.0.0.1', namesrvPort: 0, brokerPort: 0, transactionCheckIntervalMs: 200, transactionTimeoutMs: 300 });
    transport = new TcpTransport({ namesrvAddr: embedded.namesrv.addr });
    producer = new TransactionProducer({
      transport,
      producerGroup: 'it_tx_producer',
      transactionListener: {
        executeLocalTransaction(msg) {
          if (msg.properties?.decide === 'throws-then-commit') throw new Error('local database timed out');
          return DECISIONS[msg.properties!.decide!]![0];
        },
        async checkLocalTransaction(msg) {
          checked.push(msg);
          return DECISIONS[msg.properties.decide!]![1];
        },
      },
    });
    await producer.start();
  });

  after(async () => {
    await producer?.shutdown();
    await transport?.close();
    await embedded?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('commit, rollback, UNKNOW then check-back commit / rollback: consumers see exactly the committed messages', async () => {
    const topic = `IT_TX_${process.pid}`;
    const sent: Record<string, TransactionSendResult> = {};
    for (const decide of Object.keys(DECISIONS)) {
      sent[decide] = await producer.sendMessageInTransaction({ topic, body: `order ${decide}`, keys: decide, properties: { decide } }, decide);
      assert.equal(sent[decide]!.sendStatus, 'SEND_OK');
    }
    assert.equal(sent.commit!.localTransactionState, 'COMMIT_MESSAGE');
    assert.equal(sent.rollback!.localTransactionState, 'ROLLBACK_MESSAGE');
    assert.equal(sent['unknown-then-commit']!.localTransactionState, 'UNKNOW');
    assert.equal(sent['throws-then-commit']!.localTransactionState, 'UNKNOW');

    const want = ['commit', 'unknown-then-commit', 'throws-then-commit'];
    const deadline = Date.now() + 20_000;
    let stored: MessageExt[] = [];
    while (Date.now() < deadline) {
      stored = await readAll({ namesrvAddr: embedded.namesrv.addr, topic });
      if (stored.length >= want.length && checked.length >= 3) break;
      await sleep(100);
    }
    // Give a wrongly committed rollback the time of a few more check cycles to show up.
    await sleep(1000);
    stored = await readAll({ namesrvAddr: embedded.namesrv.addr, topic });
    assert.deepEqual(stored.map((m) => m.properties.decide).sort(), want.sort());
    for (const m of stored) {
      const r = sent[m.properties.decide!]!;
      assert.equal(m.topic, topic);
      assert.equal(m.msgId, r.msgId);
      assert.equal(m.queueId, r.messageQueue.queueId);
      assert.equal(new TextDecoder().decode(m.body), `order ${m.properties.decide}`);
    }
    // A LitePullConsumer of a new group reads the same: exactly the committed messages, once.
    const consumerTransport = new TcpTransport({ namesrvAddr: embedded.namesrv.addr });
    const consumer = new LitePullConsumer({ transport: consumerTransport, consumerGroup: 'it_tx_consumer', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    consumer.subscribe(topic, '*');
    await consumer.start();
    try {
      const got: MessageExt[] = [];
      const end = Date.now() + 10_000;
      while (got.length < want.length && Date.now() < end) got.push(...(await consumer.poll(200)));
      got.push(...(await consumer.poll(500)));
      assert.deepEqual(got.map((m) => m.properties.decide).sort(), want.sort());
    } finally {
      await consumer.shutdown();
    }
    // The broker asked only about the UNKNOW ones, and gave the listener the message as sent.
    const asked = new Set(checked.map((m) => m.properties.decide));
    assert.deepEqual([...asked].sort(), ['throws-then-commit', 'unknown-then-commit', 'unknown-then-rollback']);
    for (const m of checked) {
      assert.equal(m.topic, topic);
      assert.equal(m.transactionId, sent[m.properties.decide!]!.msgId);
    }
  });
});
