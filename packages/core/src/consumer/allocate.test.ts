// AllocateMessageQueueAveragely and FilterAPI as RocketMQ users know them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MessageQueue } from '../message/index.js';
import { javaStringHash } from '../remoting/hashmap-order.js';
import { allocateMessageQueueAveragely, topicRouteData2TopicSubscribeInfo } from './allocate.js';
import { buildSubscriptionData, matchesTags } from './subscription.js';

const queues = (n: number, brokerName = 'broker-a', topic = 'T'): MessageQueue[] => Array.from({ length: n }, (_, queueId) => ({ topic, brokerName, queueId }));
const ids = (mqs: MessageQueue[]) => mqs.map((q) => `${q.brokerName}/${q.queueId}`);

test('AllocateMessageQueueAveragely: contiguous runs of the sorted queues, the first m % n members one more', () => {
  const mqAll = [...queues(3, 'broker-b'), ...queues(2, 'broker-a')].reverse(); // sorted by brokerName, then queueId
  assert.deepEqual(ids(allocateMessageQueueAveragely('c1', mqAll, ['c2', 'c1'])), ['broker-a/0', 'broker-a/1', 'broker-b/0']);
  assert.deepEqual(ids(allocateMessageQueueAveragely('c2', mqAll, ['c2', 'c1'])), ['broker-b/1', 'broker-b/2']);
  // two members, four queues: half each
  assert.deepEqual(ids(allocateMessageQueueAveragely('a', queues(4), ['a', 'b'])), ['broker-a/0', 'broker-a/1']);
  assert.deepEqual(ids(allocateMessageQueueAveragely('b', queues(4), ['a', 'b'])), ['broker-a/2', 'broker-a/3']);
  // more members than queues: one each, the rest nothing
  assert.deepEqual(ids(allocateMessageQueueAveragely('c', queues(2), ['a', 'b', 'c'])), []);
  assert.deepEqual(ids(allocateMessageQueueAveragely('b', queues(2), ['a', 'b', 'c'])), ['broker-a/1']);
  // a client the broker does not list takes nothing (AllocateMessageQueueStrategy.check)
  assert.deepEqual(allocateMessageQueueAveragely('x', queues(4), ['a', 'b']), []);
});

test('every queue goes to exactly one member, and shares differ by at most one', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 40 }), fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }), (m, cids) => {
    const mqAll = queues(m);
    const shares = cids.map((cid) => allocateMessageQueueAveragely(cid, mqAll, cids));
    const all = shares.flat().map((q) => q.queueId).sort((a, b) => a - b);
    assert.deepEqual(all, mqAll.map((q) => q.queueId));
    const sizes = shares.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }));
});

test('subscribe queues: every queue of every readable broker entry of the route', () => {
  const route = {
    brokerDatas: [],
    queueDatas: [
      { brokerName: 'a', perm: 6, readQueueNums: 2, writeQueueNums: 4, topicSysFlag: 0 },
      { brokerName: 'b', perm: 2 /* write only */, readQueueNums: 4, writeQueueNums: 4, topicSysFlag: 0 },
      { brokerName: 'c', perm: 4, readQueueNums: 1, writeQueueNums: 0, topicSysFlag: 0 },
    ],
  };
  assert.deepEqual(ids(topicRouteData2TopicSubscribeInfo('T', route)), ['a/0', 'a/1', 'c/0']);
});

test('tag expressions: "*" takes all, "A || B" the tags and their Java hash codes; the client keeps exact tag matches', () => {
  const all = buildSubscriptionData('T', '*', 7);
  assert.deepEqual(all, { topic: 'T', subString: '*', tagsSet: [], codeSet: [], expressionType: 'TAG', subVersion: 7 });
  assert.equal(buildSubscriptionData('T', '').subString, '*');
  const ab = buildSubscriptionData('T', ' TagA ||TagB|| TagA ');
  assert.deepEqual([...ab.tagsSet].sort(), ['TagA', 'TagB']);
  assert.deepEqual(ab.codeSet, ab.tagsSet.map(javaStringHash));
  assert.equal(javaStringHash('TagA'), 2598919); // 8.2
  assert.ok(matchesTags(ab, 'TagB') && !matchesTags(ab, 'TagC') && !matchesTags(ab, undefined));
  assert.ok(matchesTags(all, undefined) && matchesTags(all, 'x'));
  assert.throws(() => buildSubscriptionData('T', '||'), /names no tag/);
  assert.throws(() => buildSubscriptionData('T', 'A\u0001'), /control character/);
});

test('tagsSet and codeSet iterate as Java HashSets do (bucket of the hash, high bits folded in)', () => {
  const tags = Array.from({ length: 20 }, (_, i) => `Tag${i}`);
  const sub = buildSubscriptionData('T', tags.join(' || '));
  const bucket = (s: string, cap: number) => { const h = javaStringHash(s); return (h ^ (h >>> 16)) & (cap - 1); };
  // 20 entries: a HashSet of capacity 32 (doubled past 12 and 24 entries)
  const buckets = sub.tagsSet.map((t) => bucket(t, 32));
  assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  assert.deepEqual(sub.codeSet, sub.tagsSet.map(javaStringHash));
});
