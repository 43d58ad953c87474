import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQClientError, RemotingConnectError, RemotingTimeoutError } from '../errors.js';
import { ResponseCode } from '../remoting/codes.js';
import { createResponse } from '../remoting/command.js';
import { RemotingClient } from '../remoting/client.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import { capture } from '../../../../test/vectors.js';
import { routeJson, scriptedNamesrv } from '../testing/scripted.js';
import { NAMESRV_TARGET } from '../transport.js';
import { RouteManager, type RouteManagerOptions } from './manager.js';
import { parseTopicRouteData, topicRouteData2TopicPublishInfo, TopicPublishInfo } from './topic-route.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const vector = capture('02-extra-json/0024-namesrv-GET_ROUTEINFO_BY_TOPIC-105-SUCCESS.json') as { response: { bodyText: string } };

test('parses the captured route body, and the same with fastjson bare integer keys', () => {
  const quoted = vector.response.bodyText;
  const bare = quoted.replace('{"0":', '{0:');
  assert.notEqual(bare, quoted);
  for (const text of [quoted, bare]) {
    const r = parseTopicRouteData(enc(text));
    assert.deepEqual(r.brokerDatas, [{ brokerName: 'broker-a', cluster: 'DefaultCluster', brokerAddrs: { '0': '127.0.0.1:20911' } }]);
    assert.deepEqual(r.queueDatas, [{ brokerName: 'broker-a', perm: 6, readQueueNums: 4, writeQueueNums: 4, topicSysFlag: 0 }]);
  }
});

test('topicRouteData2TopicPublishInfo: sorted by brokerName, PERM_WRITE only, master required', () => {
  const r = parseTopicRouteData(enc(routeJson([
    { name: 'broker-c', addr: 'C', queues: 1 },
    { name: 'broker-a', addr: 'A', queues: 2 },
    { name: 'broker-ro', addr: 'R', queues: 2, perm: 4 },
    { name: 'broker-slave', addr: 'S', queues: 2, master: false },
  ])));
  const info = topicRouteData2TopicPublishInfo('T', r);
  assert.deepEqual(info.messageQueueList.map((q) => `${q.brokerName}/${q.queueId}`), ['broker-a/0', 'broker-a/1', 'broker-c/0']);
  assert.ok(info.ok);
  assert.equal(info.writeQueueNumsOf('broker-a'), 2);
  assert.equal(info.writeQueueNumsOf('nope'), -1);
});

test('orderTopicConf decides the queue list', () => {
  const r = parseTopicRouteData(enc(routeJson([{ name: 'broker-a', addr: 'A' }], { orderTopicConf: 'broker-b:2;broker-a:1' })));
  const info = topicRouteData2TopicPublishInfo('T', r);
  assert.ok(info.orderTopic);
  assert.deepEqual(info.messageQueueList.map((q) => `${q.brokerName}/${q.queueId}`), ['broker-b/0', 'broker-b/1', 'broker-a/0']);
});

test('zero writable queues: publish info not ok', () => {
  for (const b of [{ name: 'x', addr: 'X', queues: 0 }, { name: 'x', addr: 'X', perm: 4 }]) {
    const info = topicRouteData2TopicPublishInfo('T', parseTopicRouteData(enc(routeJson([b]))));
    assert.equal(info.ok, false);
    assert.equal(info.haveTopicRouterInfo, true);
  }
});

test('selectOneMessageQueue: round robin from a random start, avoiding the last broker', () => {
  const info = topicRouteData2TopicPublishInfo('T', parseTopicRouteData(enc(routeJson([{ name: 'a', addr: 'A', queues: 2 }, { name: 'b', addr: 'B', queues: 2 }]))));
  const first = info.selectOneMessageQueue();
  const i0 = info.messageQueueList.indexOf(first);
  const seq = [1, 2, 3, 4].map(() => info.messageQueueList.indexOf(info.selectOneMessageQueue()));
  assert.deepEqual(seq, [1, 2, 3, 4].map((k) => (i0 + k) % 4));
  for (let i = 0; i < 20; i++) assert.equal(info.selectOneMessageQueue('a').brokerName, 'b');
  const single = topicRouteData2TopicPublishInfo('T', parseTopicRouteData(enc(routeJson([{ name: 'a', addr: 'A' }]))));
  assert.equal(single.selectOneMessageQueue('a').brokerName, 'a', 'falls back when only the last broker exists');
  // counter wraps like Java's `& 0x7fffffff`
  const wrap = new TopicPublishInfo('T');
  wrap.messageQueueList = info.messageQueueList;
  (wrap.sendWhichQueue as unknown as { value: number }).value = 0x7fffffff;
  assert.equal(wrap.selectOneMessageQueue(), info.messageQueueList[0]);
});

/** The producer's defaults (RouteManager takes resolved options). */
const OPTS: RouteManagerOptions = { createTopicKey: 'TBW102', defaultTopicQueueNums: 4, mqClientApiTimeout: 3000, serializeType: 'JSON' };

function manager(routes: (topic: string) => string | undefined, opts: Partial<RouteManagerOptions> = {}) {
  const t = new MemoryTransport({ [NAMESRV_TARGET]: scriptedNamesrv(routes) });
  const client = new RemotingClient(t);
  return { t, client, rm: new RouteManager(client, { ...OPTS, ...opts }) };
}

test('route lookup: GET_ROUTEINFO_BY_TOPIC {topic}, broker table refreshed, concurrent lookups share a call', async () => {
  const { t, client, rm } = manager((topic) => (topic === 'T' ? routeJson([{ name: 'broker-a', addr: 'A:1' }], { bareKeys: true }) : undefined));
  const [a, b] = await Promise.all([rm.tryToFindTopicPublishInfo('T', 3000), rm.tryToFindTopicPublishInfo('T', 3000)]);
  assert.equal(a, b);
  assert.equal(t.requests.length, 1);
  assert.equal(t.requests[0]!.cmd.code, 105);
  assert.deepEqual(t.requests[0]!.cmd.extFields, { topic: 'T' });
  assert.equal(rm.findBrokerAddressInPublish('broker-a'), 'A:1');
  await rm.tryToFindTopicPublishInfo('T', 3000);
  assert.equal(t.requests.length, 1, 'cached');
  await client.close();
});

test('unknown topic falls back to TBW102 with min(defaultTopicQueueNums, readQueueNums) queues', async () => {
  for (const [tbwQueues, expected] of [[8, 4], [2, 2]] as const) {
    const { t, client, rm } = manager((topic) => (topic === 'TBW102' ? routeJson([{ name: 'broker-a', addr: 'A', queues: tbwQueues, perm: 7 }]) : undefined));
    const info = await rm.tryToFindTopicPublishInfo('NewTopic', 3000);
    assert.deepEqual(t.requests.map((r) => r.cmd.extFields?.topic), ['NewTopic', 'TBW102']);
    assert.equal(info.messageQueueList.length, expected);
    assert.ok(info.messageQueueList.every((q) => q.topic === 'NewTopic'));
    await client.close();
  }
});

test('no route at all → MQClientError 10005 naming the topic', async () => {
  const { client, rm } = manager(() => undefined);
  await assert.rejects(rm.tryToFindTopicPublishInfo('Nope', 3000), (e: unknown) => e instanceof MQClientError && e.responseCode === 10005 && e.message.includes('Nope'));
  await client.close();
});

test('route with zero writable queues → MQClientError 10005 saying so, no TBW102 fallback', async () => {
  for (const b of [{ name: 'broker-a', addr: 'A', queues: 0 }, { name: 'broker-a', addr: 'A', perm: 4 }]) {
    const { t, client, rm } = manager((topic) => (topic === 'RO' ? routeJson([b]) : routeJson([{ name: 'broker-a', addr: 'A' }])));
    await assert.rejects(rm.tryToFindTopicPublishInfo('RO', 3000), (e: unknown) =>
      e instanceof MQClientError && e.responseCode === 10005 && e.message.includes('RO') && /no writable queue/.test(e.message) && /perm/.test(e.message) && /writeQueueNums/.test(e.message));
    assert.deepEqual(t.requests.map((r) => r.cmd.extFields?.topic), ['RO']);
    await client.close();
  }
});

test('an error answer other than TOPIC_NOT_EXIST → MQClientError with its code and remark, no TBW102 fallback', async () => {
  const remark = 'upstream name server unavailable (connect ECONNREFUSED)';
  const t = new MemoryTransport({ [NAMESRV_TARGET]: (cmd) => createResponse(cmd, ResponseCode.SYSTEM_ERROR, remark) });
  const client = new RemotingClient(t);
  const rm = new RouteManager(client, OPTS);
  await assert.rejects(rm.tryToFindTopicPublishInfo('T', 3000), (e: unknown) =>
    e instanceof MQClientError && e.responseCode === 1 && e.message === `Route lookup of topic T: namesrv answered code 1: ${remark}`);
  assert.equal(t.requests.length, 1);
  // a periodic refresh reports it too (the producer emits it as an 'error' event)
  rm.topicPublishInfoTable.set('T', topicRouteData2TopicPublishInfo('T', parseTopicRouteData(enc(routeJson([{ name: 'a', addr: 'A' }])))));
  const [err] = await rm.refreshAll();
  assert.ok(err instanceof MQClientError && err.responseCode === 1);
  await client.close();
});

test('a transport failure of the lookup rejects with the transport error itself', async () => {
  const t = new MemoryTransport({});
  t.refused.add(NAMESRV_TARGET);
  const client = new RemotingClient(t);
  const rm = new RouteManager(client, OPTS);
  await assert.rejects(rm.tryToFindTopicPublishInfo('T', 3000), RemotingConnectError);
  await client.close();
});

test('name server silent → RemotingTimeoutError bounded by mqClientApiTimeout', async () => {
  const t = new MemoryTransport({ [NAMESRV_TARGET]: () => 'drop' });
  const client = new RemotingClient(t);
  const rm = new RouteManager(client, { ...OPTS, mqClientApiTimeout: 30 });
  const t0 = Date.now();
  await assert.rejects(rm.tryToFindTopicPublishInfo('T', 5000), RemotingTimeoutError);
  assert.ok(Date.now() - t0 < 1000);
  await client.close();
});

test('refreshAll keeps the round-robin counter when the route is unchanged and swaps it when it changes', async () => {
  let queues = 2;
  const { client, rm } = manager(() => routeJson([{ name: 'broker-a', addr: 'A', queues }]));
  const info = await rm.tryToFindTopicPublishInfo('T', 3000);
  assert.deepEqual(await rm.refreshAll(), []);
  assert.equal(rm.topicPublishInfoTable.get('T'), info);
  queues = 3;
  await rm.refreshAll();
  assert.equal(rm.topicPublishInfoTable.get('T')!.messageQueueList.length, 3);
  await client.close();
});
