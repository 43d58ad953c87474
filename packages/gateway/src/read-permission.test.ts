// Reading through the gateway is a permission of its own: the token's "subscribe" topics and
// "consumerGroups" (RocketMQ ACL's SUB), apart from the "topics" it may publish to (PUB). Every
// consumer request is checked against them as sends are against "topics", through a real gateway
// to the real embedded broker, with a good consumer reading alongside each refusal.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { startEmbedded } from '@rocketmq-edge/broker';
import { NAMESRV_TARGET, Producer } from '@rocketmq-edge/core';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import { RequestCode, ResponseCode, createRequest, type MessageExt, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGateway, type GatewayOptions } from './index.js';
import { rawClient, sendV2, sleep, waitFor } from './test-support.js';

const SECRET = 'a-read-permission-secret-long-enough-for-hs256';
const READER = 'reader-token';
const WRITER = 'writer-token';
const AUDITOR = 'auditor-token';
const PROTOCOLS = (token: string) => ['rocketmq-edge.v1', `bearer.${token}`];
const utf8 = new TextEncoder();
const text = (b?: Uint8Array) => new TextDecoder().decode(b);

async function fixture(t: TestContext, extra: Partial<GatewayOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-read-'));
  const emb = await startEmbedded({ dataDir: dir });
  const gw = await startGateway({
    namesrvAddr: emb.namesrvAddr,
    enableConsumer: true,
    auth: {
      jwt: { secret: SECRET },
      staticTokens: {
        [READER]: { sub: 'orders-app', topics: ['orders-*'], subscribe: ['orders-*'], consumerGroups: ['orders-app-*'] },
        [WRITER]: { sub: 'checkout', topics: ['orders-*'] },
        [AUDITOR]: { sub: 'auditor', topics: [], subscribe: ['orders-*'], consumerGroups: ['audit'] },
      },
    },
    logLevel: 'silent',
    rate: { perSecond: 100_000, burst: 100_000 },
    ...extra,
  });
  const closers: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await gw.close();
    await emb.close();
    await rm(dir, { recursive: true, force: true });
  });
  const producer = new Producer({ transport: new WebSocketTransport({ url: gw.url, token: WRITER }), producerGroup: 'checkout-pg' });
  await producer.start();
  closers.push(() => producer.shutdown());
  const consumer = (group: string, token = READER, rebalanceInterval = 60_000) => {
    const transport = new WebSocketTransport({ url: gw.url, token });
    const c = new LitePullConsumer({ transport, consumerGroup: group, rebalanceInterval, pollTimeoutMillis: 200 });
    closers.push(() => c.shutdown());
    return { c, transport };
  };
  const raw = async (token: string) => {
    const r = rawClient(gw.url, PROTOCOLS(token));
    assert.equal(await r.opened, true);
    closers.push(async () => r.ws.close());
    // The route makes the gateway issue the broker's alias (as a client's first step).
    const route = await r.request(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TBW102' }));
    assert.equal(route.code, ResponseCode.SUCCESS, route.remark);
    return r;
  };
  return { gw, emb, producer, consumer, raw };
}

const pull = (topic: string, group: string, extra: Record<string, string> = {}) => createRequest(RequestCode.PULL_MESSAGE, {
  consumerGroup: group, topic, queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '2', commitOffset: '0',
  suspendTimeoutMillis: '0', subVersion: '0', ...extra,
});
const heartbeat = (clientID: string, group: string, topics: string[]) => createRequest(RequestCode.HEART_BEAT, {}, {
  body: utf8.encode(JSON.stringify({
    clientID, producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_ACTIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', unitMode: false,
      subscriptionDataSet: topics.map((topic) => ({ topic, subString: '*', expressionType: 'TAG', subVersion: 1, tagsSet: [], codeSet: [] })),
    }],
  })),
});
const consumerIds = async (r: Awaited<ReturnType<typeof rawClient>>, group: string): Promise<string[]> => {
  const resp = await r.request('broker-a@0', createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: group }));
  return resp.code === ResponseCode.SUCCESS ? (JSON.parse(text(resp.body)) as { consumerIdList: string[] }).consumerIdList.sort() : [];
};

/** Polls until every id of `ids` came (or 15 s passed); returns everything received. */
async function receive(c: LitePullConsumer, ids: readonly string[], into: MessageExt[] = []): Promise<MessageExt[]> {
  const deadline = Date.now() + 15_000;
  while (!ids.every((id) => into.some((m) => m.msgId === id)) && Date.now() < deadline) into.push(...(await c.poll(200)));
  return into;
}

test('a reading token consumes through the gateway: every acknowledged message, bodies, tags, keys and properties equal', async (t) => {
  const { producer, consumer } = await fixture(t);
  const sent = [];
  for (let i = 0; i < 20; i++) {
    const body = i === 3 ? 'x'.repeat(6000) : `order ${i}`; // one body large enough to travel compressed
    const r = await producer.send({ topic: 'orders-read', body, tags: i % 2 ? 'odd' : 'even', keys: `k${i}`, properties: { n: String(i) } });
    sent.push({ msgId: r.msgId, body, tags: i % 2 ? 'odd' : 'even', keys: `k${i}`, n: String(i) });
  }
  const { c } = consumer('orders-app-read');
  c.subscribe('orders-read');
  await c.start();
  const got = await receive(c, sent.map((s) => s.msgId));
  const seen = got.map((m) => ({ msgId: m.msgId, body: text(m.body), tags: m.tags, keys: m.keys, n: m.properties.n }));
  const byId = (a: { msgId: string }, b: { msgId: string }) => a.msgId.localeCompare(b.msgId);
  assert.deepEqual(seen.sort(byId), sent.sort(byId));
});

test('refusals: no read claim, foreign topic, foreign group, retry and dead-letter names, publish-only PULL, read-only SEND; a good consumer reads on', async (t) => {
  const { producer, consumer, raw } = await fixture(t);
  await producer.send({ topic: 'orders-1', body: 'first' });
  await producer.send({ topic: 'payments-1', body: 'not yours' }).catch(() => {}); // refused: the writer may not
  const { c: good } = consumer('orders-app-good');
  good.subscribe('orders-1');
  await good.start();
  const ids: string[] = [];
  const goodReads = (async () => {
    const got: MessageExt[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await producer.send({ topic: 'orders-1', body: `during ${i}` })).msgId);
      got.push(...(await good.poll(50)));
    }
    return receive(good, ids, got);
  })();

  const reader = await raw(READER);
  const writer = await raw(WRITER);
  const auditor = await raw(AUDITOR);
  const refused = async (r: typeof reader, cmd: RemotingCommand, code: number, remark: RegExp) => {
    const resp = await r.request('broker-a@0', cmd);
    assert.equal(resp.code, code, `${cmd.code}: ${resp.remark}`);
    assert.match(resp.remark ?? '', remark);
  };
  const NO = ResponseCode.NO_PERMISSION;
  // A publish-only token (no "subscribe" / "consumerGroups") reads nothing.
  await refused(writer, pull('orders-1', 'orders-app-x'), NO, /"checkout" may publish but not consume/);
  await refused(writer, heartbeat('w@1', 'orders-app-x', ['orders-1']), NO, /may publish but not consume/);
  await refused(writer, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'orders-app-x', topic: 'orders-1', queueId: '0' }), NO, /may publish but not consume/);
  // A reading token: only its topics, only its groups.
  await refused(reader, pull('payments-1', 'orders-app-x'), NO, /may not read topic "payments-1": the token's "subscribe" claim \[orders-\*\]/);
  await refused(reader, pull('orders-1', 'billing'), NO, /may not consume as group "billing": the token's "consumerGroups" claim \[orders-app-\*\]/);
  await refused(reader, createRequest(RequestCode.GET_MAX_OFFSET, { topic: 'payments-1', queueId: '0' }), NO, /may not read topic "payments-1"/);
  await refused(reader, createRequest(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: 'payments-1', queueId: '0', timestamp: '0' }), NO, /may not read topic/);
  await refused(reader, createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'billing', topic: 'orders-1', queueId: '0', commitOffset: '0' }), NO, /consume as group "billing"/);
  await refused(reader, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'billing' }), NO, /consume as group "billing"/);
  await refused(reader, createRequest(RequestCode.UNREGISTER_CLIENT, { clientID: 'x@1', consumerGroup: 'billing' }), NO, /consume as group "billing"/);
  await refused(reader, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: '%RETRY%orders-app-x', topic: 'orders-1', queueId: '0' }), NO, /retry or dead-letter name/);
  await refused(reader, pull('%DLQ%orders-app-x', 'orders-app-x'), NO, /system, retry or dead-letter topic/);
  await refused(reader, pull('%RETRY%billing', 'orders-app-x'), NO, /system, retry or dead-letter topic/);
  await refused(reader, pull('RMQ_SYS_TRACE_TOPIC', 'orders-app-x'), NO, /system, retry or dead-letter topic/);
  // Heartbeat bodies naming a foreign group, or a foreign topic among the subscriptions.
  await refused(reader, heartbeat('r@1', 'billing', ['orders-1']), NO, /consume as group "billing"/);
  await refused(reader, heartbeat('r@1', 'orders-app-x', ['orders-1', 'payments-1']), NO, /may not read topic "payments-1"/);
  // Extra and duplicate header fields are refused as for sends: only the declared fields pass.
  await refused(reader, pull('orders-1', 'orders-app-x', { topic2: 'payments-1' }), ResponseCode.MESSAGE_ILLEGAL, /"topic2" is not part of request code 11/);
  const route = (topic: string) => createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
  assert.equal((await reader.request(NAMESRV_TARGET, route('payments-1'))).code, NO, 'no route to a topic the token neither publishes nor reads');
  // A read-only token reads but never publishes.
  await refused(auditor, sendV2('orders-1'), NO, /"auditor" may not use topic "orders-1": the token's "topics" claim \[\]/);
  assert.equal((await auditor.request(NAMESRV_TARGET, route('orders-1'))).code, ResponseCode.SUCCESS, 'a reader looks up the route of what it reads');
  const auditPull = await auditor.request('broker-a@0', pull('orders-1', 'audit'));
  assert.notEqual(auditPull.code, NO, auditPull.remark);
  // Its own group's retry topic is readable with the group.
  assert.notEqual((await reader.request('broker-a@0', createRequest(RequestCode.GET_MAX_OFFSET, { topic: '%RETRY%orders-app-good', queueId: '0' }))).code, NO);

  const got = await goodReads;
  assert.deepEqual(ids.filter((id) => !got.some((m) => m.msgId === id)), [], 'the good consumer received everything sent meanwhile');
});

test('with enableConsumer off (the kill switch), consumer requests are refused even for reading tokens; sends go on', async (t) => {
  const { raw } = await fixture(t, { enableConsumer: false });
  const reader = await raw(READER);
  const r = await reader.request('broker-a@0', pull('orders-1', 'orders-app-x'));
  assert.equal(r.code, ResponseCode.NO_PERMISSION);
  assert.match(r.remark ?? '', /relays producer requests only/);
  const hb = await reader.request('broker-a@0', heartbeat('r@1', 'orders-app-x', ['orders-1']));
  assert.match(hb.remark ?? '', /registers a consumer group; this gateway relays producer requests only/);
  assert.equal((await reader.request('broker-a@0', sendV2('orders-1'))).code, ResponseCode.SUCCESS);
});

test('JWT read claims: "subscribe" with "consumerGroups", and a read-only token with an empty "topics"', async (t) => {
  const { gw } = await fixture(t);
  const sign = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('jwt-reader').setExpirationTime('1h').sign(utf8.encode(SECRET));
  const ok = rawClient(gw.url, PROTOCOLS(await sign({ topics: [], subscribe: ['orders-*'], consumerGroups: ['jwt-group'] })));
  assert.equal(await ok.opened, true);
  await ok.request(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'TBW102' }));
  assert.equal((await ok.request('broker-a@0', pull('orders-1', 'jwt-group'))).code !== ResponseCode.NO_PERMISSION, true);
  ok.ws.close();
  const half = rawClient(gw.url, PROTOCOLS(await sign({ topics: ['orders-*'], subscribe: ['orders-*'] })));
  assert.equal(await half.opened, false);
  assert.match((await half.closed).reason, /"subscribe" or "consumerGroups" without the other/);
  const bad = rawClient(gw.url, PROTOCOLS(await sign({ subscribe: ['orders.*'], consumerGroups: ['g'] })));
  assert.equal(await bad.opened, false);
  assert.match((await bad.closed).reason, /never matches: topics have no "\."/);
});

test('each consuming client is its own member at the broker; the broker\'s notice reaches it, so a member that leaves hands its queues over at once', async (t) => {
  const { producer, consumer, raw } = await fixture(t);
  await producer.send({ topic: 'orders-group', body: 'creates the topic' });
  // A 60 s rebalance interval: only NOTIFY_CONSUMER_IDS_CHANGED relayed by the gateway moves queues within this test.
  const a = consumer('orders-app-shared');
  const b = consumer('orders-app-shared');
  a.c.subscribe('orders-group');
  b.c.subscribe('orders-group');
  await a.c.start();
  await waitFor(() => a.c.assignment().length === 4, 10_000, 'a reads all four queues alone');
  await b.c.start();
  await waitFor(() => a.c.assignment().length === 2 && b.c.assignment().length === 2, 10_000, 'the queues shared two and two');
  const observer = await raw(READER);
  assert.deepEqual(await consumerIds(observer, 'orders-app-shared'), [a.c.clientId, b.c.clientId].sort(), 'two members, though both came through one gateway');

  // Messages before b leaves: each read by one of them.
  const before: string[] = [];
  for (let i = 0; i < 8; i++) before.push((await producer.send({ topic: 'orders-group', body: `before ${i}` })).msgId);
  const gotA = await receive(a.c, [], []);
  const gotB: MessageExt[] = [];
  const deadline = Date.now() + 15_000;
  while (!before.every((id) => gotA.some((m) => m.msgId === id) || gotB.some((m) => m.msgId === id)) && Date.now() < deadline) {
    gotA.push(...(await a.c.poll(100)));
    gotB.push(...(await b.c.poll(100)));
  }
  // Both commit what they read: after the move, nothing is read again.
  await a.c.commitSync();
  await b.c.commitSync();
  // b vanishes without unregistering (a closed tab): its socket closes, so does its own upstream connection.
  await b.transport.close();
  await waitFor(() => a.c.assignment().length === 4, 10_000, 'a takes over b\'s queues on the broker\'s notice');
  assert.deepEqual(await consumerIds(observer, 'orders-app-shared'), [a.c.clientId]);
  const after: string[] = [];
  for (let i = 0; i < 8; i++) after.push((await producer.send({ topic: 'orders-group', body: `after ${i}` })).msgId);
  await receive(a.c, after, gotA);
  assert.deepEqual(after.filter((id) => !gotA.some((m) => m.msgId === id)), [], 'a receives everything sent after the move');
  assert.deepEqual(before.filter((id) => !gotA.some((m) => m.msgId === id) && !gotB.some((m) => m.msgId === id)), []);
  // Nothing received twice: b had committed what it read, a resumes b's queues from there.
  const counts = new Map<string, number>();
  for (const m of [...gotA, ...gotB]) counts.set(m.msgId, (counts.get(m.msgId) ?? 0) + 1);
  assert.deepEqual([...counts].filter(([, n]) => n > 1), []);
  assert.ok(gotB.length > 0, 'b had read some before it left');
});

test('a long poll is held for its suspend time past the gateway\'s request budget; a client that leaves mid-poll leaves nothing at the broker', async (t) => {
  const { gw, raw } = await fixture(t, { requestBudgetMs: 1500 });
  const observer = await raw(READER);
  const r = await raw(READER);
  assert.equal((await r.request('broker-a@0', heartbeat('leaver@1', 'orders-app-poll', ['orders-poll']))).code, ResponseCode.SUCCESS);
  assert.equal((await r.request('broker-a@0', sendV2('orders-poll'))).code, ResponseCode.SUCCESS, 'creates the topic: offset 0 of queue 0');
  const started = Date.now();
  const held = await r.request('broker-a@0', pull('orders-poll', 'orders-app-poll', { queueOffset: '1', suspendTimeoutMillis: '3500' }), 15_000);
  assert.equal(held.code, ResponseCode.PULL_NOT_FOUND, `the broker answered the held poll, not the gateway's budget: ${held.remark}`);
  assert.ok(Date.now() - started >= 3000, 'it was held past the 1.5 s budget');
  assert.deepEqual(await consumerIds(observer, 'orders-app-poll'), ['leaver@1']);
  // Now a 20 s poll, and the client goes away in the middle of it.
  void r.request('broker-a@0', pull('orders-poll', 'orders-app-poll', { queueOffset: '1', suspendTimeoutMillis: '20000' }), 30_000).catch(() => {});
  await waitFor(() => gw.pendingUpstream() >= 1, 5000, 'the poll is upstream');
  r.ws.terminate();
  await waitFor(() => gw.pendingUpstream() === 0, 5000, 'no request held upstream for the gone client');
  for (let i = 0; i < 100 && (await consumerIds(observer, 'orders-app-poll')).length > 0; i++) await sleep(20);
  assert.deepEqual(await consumerIds(observer, 'orders-app-poll'), [], 'its own connection closed: the broker dropped the member (and its parked pull)');
});

test('consuming clients\' own upstream connections are bounded (maxConsumerLinks); a refused client gets in once one leaves', async (t) => {
  const { raw } = await fixture(t, { maxConsumerLinks: 1 });
  const first = await raw(READER);
  const second = await raw(READER);
  assert.equal((await first.request('broker-a@0', heartbeat('first@1', 'orders-app-b', ['orders-b']))).code, ResponseCode.SUCCESS);
  const busy = await second.request('broker-a@0', heartbeat('second@1', 'orders-app-b', ['orders-b']));
  assert.equal(busy.code, ResponseCode.SYSTEM_BUSY);
  assert.match(busy.remark ?? '', /maxConsumerLinks/);
  // The first goes on reading; the second still publishes (over the shared connection).
  assert.equal((await first.request('broker-a@0', pull('orders-b', 'orders-app-b'))).code !== ResponseCode.SYSTEM_BUSY, true);
  assert.equal((await second.request('broker-a@0', sendV2('orders-b'))).code, ResponseCode.SUCCESS);
  first.ws.close();
  let r: RemotingCommand | undefined;
  for (let i = 0; i < 100; i++) {
    r = await second.request('broker-a@0', heartbeat('second@1', 'orders-app-b', ['orders-b']));
    if (r.code === ResponseCode.SUCCESS) break;
    await sleep(20);
  }
  assert.equal(r?.code, ResponseCode.SUCCESS, r?.remark);
});
