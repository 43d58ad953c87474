import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRuntime, humanReadableByteCount, javaDouble, javaFixed } from './java-text.js';

// Expected strings are what Java 8 prints for the same values.
test('javaDouble writes what Double.toString writes', () => {
  const cases: [number, string][] = [
    [0, '0.0'], [-0, '-0.0'], [1, '1.0'], [0.5, '0.5'], [123.25, '123.25'], [0.1 + 0.2, '0.30000000000000004'],
    [0.001, '0.001'], [0.0001, '1.0E-4'], [0.00015, '1.5E-4'], [9999999, '9999999.0'], [1e7, '1.0E7'], [12345678.9, '1.23456789E7'],
    [-2.5, '-2.5'], [-1, '-1.0'], [Infinity, 'Infinity'], [NaN, 'NaN'],
  ];
  for (const [x, want] of cases) assert.equal(javaDouble(x), want, String(x));
});

test('javaFixed rounds the shortest decimal half-up, as String.format("%.nf") does', () => {
  const cases: [number, number, string][] = [
    [0, 2, '0.00'], [1.005, 2, '1.01'], [0.15, 1, '0.2'], [0.125, 2, '0.13'], [2.675, 2, '2.68'], [0.004, 2, '0.00'],
    [0.005, 2, '0.01'], [0.0995, 1, '0.1'], [9.995, 2, '10.00'], [123.456, 2, '123.46'], [0.00001, 2, '0.00'],
    [1e21, 1, '1000000000000000000000.0'], [-1.005, 2, '-1.01'], [-0.001, 2, '-0.00'], [49.04, 1, '49.0'], [7, 0, '7'],
  ];
  for (const [x, d, want] of cases) assert.equal(javaFixed(x, d), want, `${x} %.${d}f`);
});

test('humanReadableByteCount matches MixAll (binary units, one decimal)', () => {
  assert.equal(humanReadableByteCount(0), '0 B');
  assert.equal(humanReadableByteCount(1023), '1023 B');
  assert.equal(humanReadableByteCount(1024), '1.0 KiB');
  assert.equal(humanReadableByteCount(1536), '1.5 KiB');
  assert.equal(humanReadableByteCount(1024 ** 3), '1.0 GiB');
  assert.equal(humanReadableByteCount(252 * 1024 ** 3 + 5 * 1024 ** 2), '252.0 GiB');
});

test('formatRuntime writes StoreStatsService\'s "[ d days, h hours, m minutes, s seconds ]"', () => {
  assert.equal(formatRuntime(0), '[ 0 days, 0 hours, 0 minutes, 0 seconds ]');
  assert.equal(formatRuntime(((2 * 24 + 3) * 60 + 4) * 60_000 + 5999), '[ 2 days, 3 hours, 4 minutes, 5 seconds ]');
  assert.equal(formatRuntime(1234 * 86_400_000), '[ 1,234 days, 0 hours, 0 minutes, 0 seconds ]');
});
