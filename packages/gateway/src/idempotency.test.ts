// The idempotency window alone: what is remembered, for how long, how many, and what waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdempotencyWindow, type Claim } from './idempotency.js';

function claimed<T>(c: Claim<T>): Extract<Claim<T>, { kind: 'claimed' }> {
  assert.equal(c.kind, 'claimed');
  return c as Extract<Claim<T>, { kind: 'claimed' }>;
}

test('an acknowledged id answers from the window until the window has passed', () => {
  let now = 0;
  const w = new IdempotencyWindow<string>({ windowMs: 600_000, maxIds: 10, now: () => now });
  claimed(w.claim('a')).settle({ value: 'first result' });
  now = 599_999;
  assert.deepEqual(w.claim('a'), { kind: 'done', value: 'first result' });
  now = 600_000;
  claimed(w.claim('a')); // forgotten: sent again
});

test('past maxIds the oldest acknowledged id is forgotten first', () => {
  const w = new IdempotencyWindow<number>({ windowMs: 600_000, maxIds: 3, now: () => 0 });
  for (const k of ['a', 'b', 'c', 'd']) claimed(w.claim(k)).settle({ value: 1 });
  assert.equal(w.size, 3);
  assert.equal(w.claim('b').kind, 'done');
  assert.equal(w.claim('d').kind, 'done');
  claimed(w.claim('a'));
});

test('a repeat while the first is in flight waits for its outcome; a failure is not remembered', async () => {
  const w = new IdempotencyWindow<string>({ windowMs: 1000, maxIds: 10 });
  const first = claimed(w.claim('x'));
  const second = w.claim('x');
  assert.equal(second.kind, 'pending');
  first.settle({ error: new Error('broker down') });
  await assert.rejects((second as Extract<Claim<string>, { kind: 'pending' }>).outcome, /broker down/);
  assert.equal(w.pendingCount, 0);
  const retry = claimed(w.claim('x'));
  const waiter = w.claim('x') as Extract<Claim<string>, { kind: 'pending' }>;
  retry.settle({ value: 'stored' });
  assert.equal(await waiter.outcome, 'stored');
  assert.deepEqual(w.claim('x'), { kind: 'done', value: 'stored' });
});
