// What LitePullConsumer refuses before any network traffic, each with a message that says what to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTransport } from '../testing/memory-transport.js';
import { LitePullConsumer } from './lite-pull-consumer.js';
import { resolveConsumerOptions } from './options.js';

const transport = new MemoryTransport();
const refused = (pattern: RegExp) => (e: unknown) => {
  assert.equal((e as Error).name, 'MQClientError');
  assert.match((e as Error).message, pattern);
  return true;
};

test('options: Java defaults, and refusals naming the option', () => {
  const o = resolveConsumerOptions({ transport, consumerGroup: 'g' });
  assert.deepEqual(
    [o.pullBatchSize, o.pollTimeoutMillis, o.autoCommit, o.autoCommitIntervalMillis, o.brokerSuspendMaxTimeMillis, o.consumerTimeoutMillisWhenSuspend, o.rebalanceInterval, o.consumeFromWhere],
    [10, 5000, true, 5000, 20_000, 30_000, 20_000, 'CONSUME_FROM_LAST_OFFSET'],
  );
  assert.ok(Math.abs(o.consumeTimestamp - (Date.now() - 30 * 60_000)) < 5000, 'consumeTimestamp: half an hour ago');
  assert.throws(() => resolveConsumerOptions({ consumerGroup: 'g' } as never), refused(/transport is required/));
  assert.throws(() => resolveConsumerOptions({ transport } as never), refused(/group is blank/));
  assert.throws(() => resolveConsumerOptions({ transport, consumerGroup: 'DEFAULT_CONSUMER' }), refused(/must not be DEFAULT_CONSUMER/));
  assert.throws(() => resolveConsumerOptions({ transport, consumerGroup: 'g', pullBatchSize: 0 }), refused(/pullBatchSize must be a whole number ≥ 1, got 0/));
  assert.throws(() => resolveConsumerOptions({ transport, consumerGroup: 'g', autoCommitIntervalMillis: 500 }), refused(/autoCommitIntervalMillis must be a whole number ≥ 1000/));
  assert.throws(() => resolveConsumerOptions({ transport, consumerGroup: 'g', consumeFromWhere: 'CONSUME_FROM_MAX_OFFSET' as never }), refused(/consumeFromWhere must be one of/));
  assert.throws(() => resolveConsumerOptions({ transport, consumerGroup: 'g', brokerSuspendMaxTimeMillis: 30_000 }), refused(/must be greater than brokerSuspendMaxTimeMillis/));
  assert.throws(() => resolveConsumerOptions({ transport, consumerGroup: 'g', autoCommit: 'yes' as never }), refused(/autoCommit must be true or false/));
});

test('subscribe and assign are exclusive; bad topics, expressions and queues are refused; nothing runs before start()', async () => {
  const c = new LitePullConsumer({ transport, consumerGroup: 'g' });
  assert.throws(() => c.subscribe('bad topic'), refused(/contains " "/));
  assert.throws(() => c.subscribe('T', '||'), refused(/names no tag/));
  c.subscribe('T', 'A || B');
  assert.throws(() => c.assign([{ topic: 'T', brokerName: 'b', queueId: 0 }]), refused(/mutually exclusive/));
  const a = new LitePullConsumer({ transport, consumerGroup: 'g' });
  assert.throws(() => a.assign([]), refused(/at least one message queue/));
  assert.throws(() => a.assign([{ topic: 'T', brokerName: 'b', queueId: -1 }]), refused(/not a message queue/));
  await assert.rejects(a.poll(0), refused(/The consumer is CREATE_JUST: call start\(\) first/));
  await assert.rejects(async () => a.seek({ topic: 'T', brokerName: 'b', queueId: 0 }, 0), refused(/call start\(\) first/));
  assert.throws(() => a.commit(), refused(/call start\(\) first/));
  assert.notEqual(a.clientId, c.clientId, 'every instance is a group member of its own');
  assert.match(new LitePullConsumer({ transport, consumerGroup: 'g', instanceName: 'tab-1', clientIP: '10.0.0.1' }).clientId, /^10\.0\.0\.1@tab-1$/);
});
