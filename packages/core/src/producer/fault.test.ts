import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopicRouteData, topicRouteData2TopicPublishInfo } from '../route/topic-route.js';
import { routeJson } from '../testing/scripted.js';
import { LatencyFaultTolerance, MQFaultStrategy } from './fault.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const rows: { table: '4.9' | '5.x'; latency: number; isolation: boolean; penalty: number }[] = [
  { table: '4.9', latency: 10, isolation: false, penalty: 0 },
  { table: '4.9', latency: 99, isolation: false, penalty: 0 },
  { table: '4.9', latency: 600, isolation: false, penalty: 30_000 },
  { table: '4.9', latency: 1_000, isolation: false, penalty: 60_000 },
  { table: '4.9', latency: 2_500, isolation: false, penalty: 120_000 },
  { table: '4.9', latency: 3_000, isolation: false, penalty: 180_000 },
  { table: '4.9', latency: 5, isolation: true, penalty: 600_000 },
  { table: '5.x', latency: 10, isolation: false, penalty: 0 },
  { table: '5.x', latency: 600, isolation: false, penalty: 2_000 },
  { table: '5.x', latency: 1_800, isolation: false, penalty: 5_000 },
  { table: '5.x', latency: 3_000, isolation: false, penalty: 6_000 },
  { table: '5.x', latency: 5_000, isolation: false, penalty: 10_000 },
  { table: '5.x', latency: 20_000, isolation: false, penalty: 30_000 },
  { table: '5.x', latency: 5, isolation: true, penalty: 10_000 },
];

for (const r of rows) {
  test(`${r.table}: latency ${r.latency}${r.isolation ? ' + isolation' : ''} → unavailable for ${r.penalty} ms`, () => {
    const c = clock();
    const fs = new MQFaultStrategy({ sendLatencyFaultEnable: true, latencyTable: r.table, clock: c });
    fs.updateFaultItem('b', r.latency, r.isolation);
    const lft = fs.latencyFaultTolerance;
    if (r.penalty > 0) {
      assert.equal(lft.isAvailable('b'), false);
      c.t += r.penalty - 1;
      assert.equal(lft.isAvailable('b'), false);
    }
    c.t = 1_000_000 + r.penalty;
    assert.equal(lft.isAvailable('b'), true);
  });
}

test('4.9.8 overwrites a penalty; 5.x only extends it', () => {
  for (const [table, expectedUntil] of [['4.9', 30_000], ['5.x', 10_000]] as const) {
    const c = clock(0);
    const fs = new MQFaultStrategy({ sendLatencyFaultEnable: true, latencyTable: table, clock: c });
    fs.updateFaultItem('b', 1, true);
    fs.updateFaultItem('b', 600, false); // 4.9: 30 s from now (shorter than 10 min); 5.x: 2 s < 10 s → kept
    assert.equal(fs.latencyFaultTolerance.availableAt('b'), expectedUntil);
    fs.updateFaultItem('b', 10, false); // a fast success: 4.9 clears the penalty, 5.x keeps it
    assert.equal(fs.latencyFaultTolerance.isAvailable('b'), table === '4.9');
  }
});

test('disabled strategy keeps no state and selects plain round robin avoiding the last broker', () => {
  const fs = new MQFaultStrategy({ clock: clock() });
  fs.updateFaultItem('a', 1, true);
  assert.equal(fs.latencyFaultTolerance.availableAt('a'), undefined);
  const info = topicRouteData2TopicPublishInfo('T', parseTopicRouteData(new TextEncoder().encode(routeJson([{ name: 'a', addr: 'A' }, { name: 'b', addr: 'B' }]))));
  for (let i = 0; i < 10; i++) assert.equal(fs.selectOneMessageQueue(info, 'a').brokerName, 'b');
});

test('enabled selection skips penalised brokers, then picks the least bad one over time', () => {
  const c = clock();
  const fs = new MQFaultStrategy({ sendLatencyFaultEnable: true, latencyTable: '5.x', clock: c });
  const info = topicRouteData2TopicPublishInfo('T', parseTopicRouteData(new TextEncoder().encode(
    routeJson([{ name: 'a', addr: 'A', queues: 2 }, { name: 'b', addr: 'B', queues: 3 }]))));
  fs.updateFaultItem('a', 700, false); // a out for 2 s
  for (let i = 0; i < 10; i++) assert.equal(fs.selectOneMessageQueue(info).brokerName, 'b');
  fs.updateFaultItem('b', 4_000, false); // b out for 6 s, slower than a
  const mq = fs.selectOneMessageQueue(info);
  assert.equal(mq.brokerName, 'a', 'least bad broker (lower latency)');
  assert.ok(mq.queueId >= 0 && mq.queueId < 2);
  assert.ok(info.messageQueueList.every((q) => q.brokerName === 'a' ? q.queueId < 2 : true), 'shared queue objects untouched');
  c.t += 2_000;
  for (let i = 0; i < 10; i++) assert.equal(fs.selectOneMessageQueue(info).brokerName, 'a', 'a recovered first');
  c.t += 4_000;
  const seen = new Set([0, 1, 2, 3, 4].map(() => fs.selectOneMessageQueue(info).brokerName));
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});

test('pickOneAtLeast rotates over the better half', () => {
  const c = clock(0);
  const lft = new LatencyFaultTolerance(c);
  lft.updateFaultItem('x', 100, 1000);
  lft.updateFaultItem('y', 200, 1000);
  lft.updateFaultItem('z', 300, 1000);
  lft.updateFaultItem('w', 400, 1000);
  const picks = [0, 1, 2, 3].map(() => lft.pickOneAtLeast());
  assert.deepEqual(new Set(picks), new Set(['x', 'y']));
});
