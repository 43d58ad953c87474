import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from './emitter.js';

interface Events {
  a: [number, string];
  error: [Error];
  fn: (x: number) => void;
}

test('listeners run in the order added, with the emitted arguments; emit says whether there were any', () => {
  const e = new EventEmitter<Events>();
  const seen: string[] = [];
  assert.equal(e.emit('a', 1, 'x'), false);
  e.on('a', (n, s) => seen.push(`1:${n}${s}`)).addListener('a', (n, s) => seen.push(`2:${n}${s}`));
  e.on('fn', (x) => seen.push(`fn:${x}`));
  assert.equal(e.emit('a', 7, 'y'), true);
  e.emit('fn', 3);
  assert.deepEqual(seen, ['1:7y', '2:7y', 'fn:3']);
  assert.equal(e.listenerCount('a'), 2);
  assert.deepEqual(e.eventNames(), ['a', 'fn']);
});

test('once runs one time; off removes by function, by once flag, by context, or all of an event', () => {
  const e = new EventEmitter<Events>();
  let n = 0;
  const inc = (): void => void n++;
  e.once('a', inc);
  e.emit('a', 0, '');
  e.emit('a', 0, '');
  assert.equal(n, 1);
  assert.equal(e.listenerCount('a'), 0);

  const ctx = {};
  e.on('a', inc).once('a', inc).on('a', inc, ctx);
  e.off('a', inc, undefined, true); // only the once-listener
  assert.equal(e.listenerCount('a'), 2);
  e.off('a', inc, {}); // another context: nothing
  assert.equal(e.listenerCount('a'), 2);
  e.removeListener('a', inc, ctx);
  assert.equal(e.listenerCount('a'), 1);
  e.off('a');
  assert.equal(e.listenerCount('a'), 0);
  e.on('a', inc).on('error', inc).removeAllListeners();
  assert.deepEqual(e.eventNames(), []);
});

test('a listener removed or added during emit does not change that emit; this is the context or the emitter', () => {
  const e = new EventEmitter<Events>();
  const seen: unknown[] = [];
  const second = (): void => void seen.push('second');
  e.on('a', function (this: unknown) {
    seen.push(this === e);
    e.off('a', second);
    e.on('a', () => seen.push('added'));
  });
  e.on('a', second);
  const ctx = { me: 1 };
  e.on('fn', function (this: unknown) {
    seen.push(this);
  }, ctx);
  e.emit('a', 0, '');
  e.emit('fn', 0);
  assert.deepEqual(seen, [true, 'second', ctx]);
  assert.deepEqual(e.listeners('a').length, 2);
});

test("'error' with no listener is not thrown; a throwing listener's error leaves emit", () => {
  const e = new EventEmitter<Events>();
  assert.equal(e.emit('error', new Error('x')), false);
  e.on('error', () => {
    throw new Error('listener');
  });
  assert.throws(() => e.emit('error', new Error('x')), /listener/);
});
