import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreStats, nextMorning } from './store-stats.js';

// Driven with explicit clock values: the store samples once a second with Date.now().
const T0 = new Date(2030, 0, 15, 10, 0, 0).getTime();

test('TPS over the last 10 / 60 / 600 samples: 10 puts a second for 15 minutes, then a burst', () => {
  const s = new StoreStats(T0);
  for (let sec = 1; sec <= 900; sec++) {
    s.putTimes += 10;
    s.sample(T0 + sec * 1000);
  }
  const now = T0 + 900_000;
  assert.equal(s.tps('put', 10, now), 10);
  assert.equal(s.tps('put', 60, now), 10);
  assert.equal(s.tps('put', 600, now), 10);
  // 300 more puts in the next half second: they show at once, most in the shortest window.
  s.putTimes += 300;
  const later = now + 500;
  assert.ok(Math.abs(s.tps('put', 10, later) - (100 + 300) / 10.5) < 1e-9);
  assert.ok(Math.abs(s.tps('put', 600, later) - (6000 + 300) / 600.5) < 1e-9);
});

test('a store younger than a window reports its rate since boot', () => {
  const s = new StoreStats(T0);
  s.putTimes = 6;
  assert.equal(s.tps('put', 10, T0 + 2000), 3);
  assert.equal(s.tps('put', 600, T0 + 2000), 3);
  assert.equal(s.tps('put', 10, T0), 0); // no time has passed: no rate, not a division by zero
});

test('gets: found lookups, misses and transferred messages are separate series', () => {
  const s = new StoreStats(T0);
  s.recordGet(32, 1);
  s.recordGet(0, 0);
  s.recordGet(0, 3);
  assert.deepEqual([s.getFound, s.getMiss, s.transferred, s.getTimeMax], [1, 2, 32, 3]);
  assert.equal(s.tps('transferred', 10, T0 + 1000), 32);
  assert.equal(s.tps('getMiss', 10, T0 + 1000), 2);
});

test('at local midnight today\'s totals become yesterday\'s, as BrokerStats#record does', () => {
  const s = new StoreStats(T0);
  s.putTimes = 100;
  s.transferred = 40;
  const midnight = nextMorning(T0);
  assert.equal(midnight, new Date(2030, 0, 16).getTime());
  s.sample(midnight - 1000);
  assert.deepEqual([s.putTotalTodayMorning, s.putTotalYesterdayMorning], [0, 0]);
  s.sample(midnight);
  assert.deepEqual([s.putTotalTodayMorning, s.putTotalYesterdayMorning, s.getTotalTodayMorning], [100, 0, 40]);
  s.putTimes = 250;
  s.sample(midnight + 86_400_000 + 500);
  assert.deepEqual([s.putTotalTodayMorning, s.putTotalYesterdayMorning], [250, 100]);
});

test('put latency: max, last minute\'s distribution and percentiles (interpolated in their bucket)', () => {
  const s = new StoreStats(T0);
  assert.equal(s.putDistribution(), undefined);
  assert.equal(s.putLatencyPercentile(0.99), 0);
  for (let i = 0; i < 98; i++) s.recordPutTime(0);
  s.recordPutTime(7);
  s.recordPutTime(120);
  assert.equal(s.putTimeMax, 120);
  s.sample(T0 + 60_000); // the minute ends
  assert.equal(
    s.putDistribution(),
    '[<=0ms]:98 [0~10ms]:1 [10~50ms]:0 [50~100ms]:0 [100~200ms]:1 [200~500ms]:0 [500ms~1s]:0 [1~2s]:0 [2~3s]:0 [3~4s]:0 [4~5s]:0 [5~10s]:0 [10s~]:0 ',
  );
  // 100 puts: index 99 is the 7 ms one (bucket (6, 7]), index 100 the 120 ms one (bucket (110, 120]).
  assert.equal(s.putLatencyPercentile(0.99), 7);
  assert.equal(s.putLatencyPercentile(1), 120);
  assert.equal(s.putLatencyPercentile(0.5), 0.5102040816326531); // 49/98 of the way into [0, 1]
  s.recordPutTime(3000);
  s.sample(T0 + 120_000);
  assert.match(s.putDistribution()!, /\[2~3s\]:0 \[3~4s\]:1 /);
});
