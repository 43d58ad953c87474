// autoBatch's options: what a user gets for a wrong value. Its behaviour against a real broker is
// tested in transport-tcp (auto-batch-broker.test.ts) and through the gateway (gateway/src/auto-batch.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQClientError } from '../errors.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import { autoBatch } from './accumulator.js';
import { Producer } from './producer.js';
import type { ProducerOptions } from './options.js';

const transport = new MemoryTransport();
const refused = (re: RegExp) => (e: unknown) => e instanceof MQClientError && re.test(e.message);

test('autoBatch takes the exported function; `true` (the Java setter) is refused saying what to pass', () => {
  assert.throws(() => new Producer({ transport, autoBatch: true } as unknown as ProducerOptions),
    refused(/ProducerOptions\.autoBatch takes the autoBatch function: import \{ autoBatch \} from '@rocketmq-edge\/core' and pass \{ autoBatch \}/));
  assert.doesNotThrow(() => new Producer({ transport, autoBatch: false }));
});

test('batch options: 5.x defaults except batchMaxDelayMs (0 = end of the task), checked against 5.x bounds', () => {
  const p = new Producer({ transport, autoBatch });
  assert.equal(p.options.batchMaxDelayMs, 0);
  assert.equal(p.options.batchMaxBytes, 32 * 1024);
  assert.equal(p.options.totalBatchMaxBytes, 32 * 1024 * 1024);
  assert.throws(() => new Producer({ transport, autoBatch, batchMaxDelayMs: 30_001 }), refused(/batchMaxDelayMs must be a whole number ≥ 0 and ≤ 30000, got 30001/));
  assert.throws(() => new Producer({ transport, autoBatch, batchMaxBytes: 0 }), refused(/batchMaxBytes must be a whole number ≥ 1 and ≤ 2097152, got 0/));
  assert.throws(() => new Producer({ transport, autoBatch, batchMaxBytes: 2 * 1024 * 1024 + 1 }), refused(/batchMaxBytes .* got 2097153/));
  assert.throws(() => new Producer({ transport, autoBatch, totalBatchMaxBytes: 1.5 }), refused(/totalBatchMaxBytes must be a whole number ≥ 1, got 1.5/));
});
