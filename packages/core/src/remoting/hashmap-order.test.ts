import { test } from 'node:test';
import assert from 'node:assert/strict';
import { javaHashMapOrder } from './hashmap-order.js';

test('javaHashMapOrder: Java HashMap iteration order, the same answer from its cache', () => {
  // "b" (98) lands in bucket 2, "a" (97) in 1, "z" (122) in 10 of a 16-bucket table
  assert.deepEqual(javaHashMapOrder(['z', 'b', 'a']), ['a', 'b', 'z']);
  assert.deepEqual(javaHashMapOrder(['z', 'b', 'a']), ['a', 'b', 'z']);
});

test('javaHashMapOrder: key lists whose joined form collides are never mixed up', () => {
  // both join to "a\u0001b\u0001c" with the cache's separator
  assert.deepEqual([...javaHashMapOrder(['a\u0001b', 'c'])].sort(), ['a\u0001b', 'c']);
  assert.deepEqual([...javaHashMapOrder(['a', 'b\u0001c'])].sort(), ['a', 'b\u0001c']);
});
