import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { runCase } from './runner.js';
import { percentile, sortedCopy } from './stats.js';

it('percentile: nearest rank', () => {
  const s = sortedCopy([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
  assert.equal(percentile(s, 50), 5);
  assert.equal(percentile(s, 99), 10);
  assert.equal(percentile(s, 10), 1);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(s, 100), 10);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.deepEqual([...sortedCopy([10, 9, 100])], [9, 10, 100], 'numeric, not lexicographic');
});

it('runCase keeps at most `window` ops in flight, counts errors, stops at maxMs', async () => {
  let inFlight = 0;
  let peak = 0;
  const { result, details } = await runCase({
    name: 'x',
    msgs: 200,
    window: 8,
    warmup: 10,
    op: async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      if (i % 50 === 0) throw new Error('boom');
    },
  });
  assert.equal(peak, 8);
  assert.deepEqual(Object.keys(result), ['case', 'msgs_per_s', 'p50_ms', 'p99_ms']);
  assert.equal(details.completed + details.errors, 200);
  assert.ok(details.errors >= 3);
  const slow = await runCase({ name: 'slow', msgs: 1000, window: 1, maxMs: 50, op: () => new Promise((r) => setTimeout(r, 10)) });
  assert.ok(slow.details.stoppedByTime && slow.details.completed < 20);
});
