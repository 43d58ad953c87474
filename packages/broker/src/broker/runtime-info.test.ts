import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Producer } from '@rocketmq-edge/core';
import { RequestCode, ResponseCode, createRequest, parseLenientJson, type RemotingClient } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { startEmbedded, type EmbeddedOptions } from '../index.js';
import { readAll, withClient } from '../testing.js';
import { sleep, tempDir } from '../test-support.js';
import { MessageStore } from '../store/message-store.js';
import { GET_BROKER_RUNTIME_INFO, encodeKVTable, runtimeInfo } from './runtime-info.js';

/** Every key a 4.9.8 broker (default store config, no transient store pool) puts into its runtime info. */
const KEYS_4_9_8 = [
  'bootTimestamp', 'runtime', 'putMessageEntireTimeMax', 'putMessageTimesTotal', 'putMessageFailedTimes', 'putMessageSizeTotal',
  'putMessageDistributeTime', 'putMessageAverageSize', 'dispatchMaxBuffer', 'getMessageEntireTimeMax', 'putTps', 'getFoundTps',
  'getMissTps', 'getTotalTps', 'getTransferedTps', 'putLatency99', 'putLatency999', 'commitLogDiskRatio', 'consumeQueueDiskRatio',
  'commitLogMinOffset', 'commitLogMaxOffset', 'brokerVersionDesc', 'brokerVersion', 'msgPutTotalYesterdayMorning',
  'msgPutTotalTodayMorning', 'msgPutTotalTodayNow', 'msgGetTotalYesterdayMorning', 'msgGetTotalTodayMorning', 'msgGetTotalTodayNow',
  'sendThreadPoolQueueSize', 'sendThreadPoolQueueCapacity', 'pullThreadPoolQueueSize', 'pullThreadPoolQueueCapacity',
  'queryThreadPoolQueueSize', 'queryThreadPoolQueueCapacity', 'EndTransactionQueueSize', 'EndTransactionThreadPoolQueueCapacity',
  'dispatchBehindBytes', 'pageCacheLockTimeMills', 'sendThreadPoolQueueHeadWaitTimeMills', 'pullThreadPoolQueueHeadWaitTimeMills',
  'queryThreadPoolQueueHeadWaitTimeMills', 'earliestMessageTimeStamp', 'startAcceptSendRequestTimeStamp',
  'remainTransientStoreBufferNumbs', 'remainHowManyDataToFlush', 'commitLogDirCapacity',
];

/**
 * Key order of the body: what java.util.HashMap(64) (StoreStatsService's map, which the broker
 * fills and encodes) iterates for the same insertions, printed by JDK 17 for store path
 * /root/store; without and with three delay levels (51 entries: the table doubles to 128).
 */
const JAVA_ORDER = [
  'msgPutTotalTodayNow', 'commitLogDiskRatio_/root/store/commitlog', 'commitLogDiskRatio', 'getFoundTps',
  'EndTransactionThreadPoolQueueCapacity', 'sendThreadPoolQueueHeadWaitTimeMills', 'putMessageDistributeTime',
  'queryThreadPoolQueueHeadWaitTimeMills', 'remainHowManyDataToFlush', 'msgGetTotalTodayNow', 'putMessageFailedTimes',
  'putLatency999', 'commitLogMaxOffset', 'queryThreadPoolQueueSize', 'getMessageEntireTimeMax', 'msgPutTotalTodayMorning',
  'putMessageTimesTotal', 'putLatency99', 'bootTimestamp', 'msgGetTotalTodayMorning', 'msgPutTotalYesterdayMorning',
  'msgGetTotalYesterdayMorning', 'pullThreadPoolQueueSize', 'brokerVersionDesc', 'sendThreadPoolQueueSize',
  'startAcceptSendRequestTimeStamp', 'commitLogMinOffset', 'putMessageEntireTimeMax', 'pullThreadPoolQueueHeadWaitTimeMills',
  'runtime', 'earliestMessageTimeStamp', 'commitLogDirCapacity', 'dispatchMaxBuffer', 'brokerVersion', 'putTps',
  'remainTransientStoreBufferNumbs', 'getMissTps', 'queryThreadPoolQueueCapacity', 'putMessageAverageSize', 'getTransferedTps',
  'dispatchBehindBytes', 'putMessageSizeTotal', 'sendThreadPoolQueueCapacity', 'EndTransactionQueueSize', 'getTotalTps',
  'pullThreadPoolQueueCapacity', 'consumeQueueDiskRatio', 'pageCacheLockTimeMills',
];
const JAVA_ORDER_WITH_LEVELS = [
  'msgPutTotalTodayNow', 'scheduleMessageOffset_1', 'scheduleMessageOffset_2', 'scheduleMessageOffset_3',
  'sendThreadPoolQueueHeadWaitTimeMills', 'putMessageDistributeTime', 'queryThreadPoolQueueHeadWaitTimeMills',
  'remainHowManyDataToFlush', 'msgGetTotalTodayNow', 'queryThreadPoolQueueSize', 'bootTimestamp', 'msgPutTotalYesterdayMorning',
  'msgGetTotalYesterdayMorning', 'pullThreadPoolQueueSize', 'commitLogMinOffset', 'pullThreadPoolQueueHeadWaitTimeMills',
  'runtime', 'dispatchMaxBuffer', 'brokerVersion', 'putTps', 'getMissTps', 'getTransferedTps', 'EndTransactionQueueSize',
  'getTotalTps', 'consumeQueueDiskRatio', 'pageCacheLockTimeMills', 'commitLogDiskRatio_/root/store/commitlog',
  'commitLogDiskRatio', 'getFoundTps', 'EndTransactionThreadPoolQueueCapacity', 'putMessageFailedTimes', 'putLatency999',
  'commitLogMaxOffset', 'getMessageEntireTimeMax', 'msgPutTotalTodayMorning', 'putMessageTimesTotal', 'putLatency99',
  'msgGetTotalTodayMorning', 'brokerVersionDesc', 'sendThreadPoolQueueSize', 'startAcceptSendRequestTimeStamp',
  'putMessageEntireTimeMax', 'earliestMessageTimeStamp', 'commitLogDirCapacity', 'remainTransientStoreBufferNumbs',
  'queryThreadPoolQueueCapacity', 'putMessageAverageSize', 'dispatchBehindBytes', 'putMessageSizeTotal',
  'sendThreadPoolQueueCapacity', 'pullThreadPoolQueueCapacity',
];

// What Java's parsers accept: Long.parseLong and Double.parseDouble (no hex, no "Infinity" here).
const LONG = /^-?\d+$/;
const DOUBLE = /^-?\d+(\.\d+)?(E-?\d+)?$/;
const parseLong = (s: string | undefined): number => {
  assert.match(s ?? '', LONG, `not a Java long: ${s}`);
  return Number(s);
};
const parseDouble = (s: string | undefined): number => {
  assert.match(s ?? '', DOUBLE, `not a Java double: ${s}`);
  return Number(s);
};

/** Decodes the body as KVTable.decode does (fastjson into HashMap<String,String>), strictly. */
function decodeKVTable(body: Uint8Array | undefined): Record<string, string> {
  assert.ok(body && body.length > 0, 'a body');
  const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  const o = JSON.parse(text) as Record<string, unknown>; // standard JSON: no bare keys, no whitespace games
  assert.deepEqual(Object.keys(o), ['table']);
  const table = o.table as Record<string, unknown>;
  assert.equal(typeof table, 'object');
  for (const [k, v] of Object.entries(table)) assert.equal(typeof v, 'string', `${k} is a string`);
  assert.equal(JSON.stringify(o), text, 'compact, as fastjson writes it');
  return table as Record<string, string>;
}

async function fetchRuntimeInfo(client: RemotingClient, brokerAddr: string): Promise<Record<string, string>> {
  const r = await client.invoke(brokerAddr, createRequest(GET_BROKER_RUNTIME_INFO, undefined), 5000);
  assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
  assert.equal(r.remark, undefined);
  return decodeKVTable(r.body);
}

/**
 * `mqadmin clusterList` (with and without -m) as ClusterListSubCommand does it: cluster info from
 * the name server, then GET_BROKER_RUNTIME_INFO of every broker address and the same parsing.
 */
async function clusterList(namesrvAddr: string) {
  return withClient(undefined, async (client) => {
    const ci = await client.invoke(namesrvAddr, createRequest(RequestCode.GET_BROKER_CLUSTER_INFO, undefined), 5000);
    assert.equal(ci.code, ResponseCode.SUCCESS);
    const info = parseLenientJson(new TextDecoder().decode(ci.body)) as { brokerAddrTable: Record<string, { brokerAddrs: Record<string, string> }> };
    const rows = [];
    for (const [brokerName, bd] of Object.entries(info.brokerAddrTable)) {
      for (const addr of Object.values(bd.brokerAddrs)) {
        const t = await fetchRuntimeInfo(client, addr);
        const first = (s: string | undefined) => s!.split(' ').filter(Boolean)[0];
        rows.push({
          brokerName,
          addr,
          version: t.brokerVersionDesc,
          inTps: parseDouble(first(t.putTps)),
          outTps: parseDouble(first(t.getTransferedTps)),
          sendQueue: `${t.sendThreadPoolQueueSize},${t.sendThreadPoolQueueHeadWaitTimeMills}ms`,
          pcWait: parseLong(t.pageCacheLockTimeMills),
          hours: (Date.now() - parseLong(t.earliestMessageTimeStamp)) / 3_600_000,
          space: parseDouble(t.commitLogDiskRatio),
          inTotalToday: parseLong(t.msgPutTotalTodayNow) - parseLong(t.msgPutTotalTodayMorning),
          outTotalToday: parseLong(t.msgGetTotalTodayNow) - parseLong(t.msgGetTotalTodayMorning),
          inTotalYest: parseLong(t.msgPutTotalTodayMorning) - parseLong(t.msgPutTotalYesterdayMorning),
          outTotalYest: parseLong(t.msgGetTotalTodayMorning) - parseLong(t.msgGetTotalYesterdayMorning),
          table: t,
        });
      }
    }
    return rows;
  });
}

async function setup(t: { after(fn: () => unknown): void }, opts: Partial<EmbeddedOptions> = {}) {
  const dir = await tempDir(t);
  const e = await startEmbedded({ dataDir: dir, ...opts });
  t.after(() => e.close());
  const transport = new TcpTransport({ namesrvAddr: e.namesrvAddr });
  const producer = new Producer({ transport, producerGroup: 'pg_runtime_info' });
  await producer.start();
  t.after(() => producer.shutdown());
  return { e, dir, producer };
}

describe('broker: GET_BROKER_RUNTIME_INFO (28)', () => {
  it('gives mqadmin clusterList and brokerStatus what they read: version, totals of what was sent and pulled, TPS, disk, times', async (t) => {
    const before = Date.now();
    const { e, producer } = await setup(t);
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'TopicStats', body: `m${i}`, tags: 'A' });
    await producer.sendBatch(['b0', 'b1', 'b2'].map((body) => ({ topic: 'TopicStats', body })));
    const sent = 8;
    // Pulls every queue until it reports no new message: 8 messages found, then one miss per queue.
    const pulled = await readAll({ namesrvAddr: e.namesrvAddr, topic: 'TopicStats' });
    assert.equal(pulled.length, sent);

    const [row, ...others] = await clusterList(e.namesrvAddr);
    assert.equal(others.length, 0);
    const tb = row!.table;
    assert.deepEqual(Object.keys(tb).filter((k) => !k.startsWith('commitLogDiskRatio_')).sort(), [...KEYS_4_9_8].sort());
    assert.equal(tb[`commitLogDiskRatio_${e.broker.dataDir}/commitlog`], tb.commitLogDiskRatio);

    assert.equal(row!.addr, e.broker.addr);
    assert.equal(row!.version, 'V4_9_8');
    assert.equal(tb.brokerVersion, '409');
    // Totals: today = now - this morning; nothing before this broker started.
    assert.equal(row!.inTotalToday + row!.inTotalYest, sent);
    assert.equal(parseLong(tb.msgPutTotalTodayNow), sent);
    assert.equal(parseLong(tb.msgGetTotalTodayNow), sent);
    assert.equal(row!.outTotalToday + row!.outTotalYest, sent);
    assert.equal(parseLong(tb.putMessageTimesTotal), sent);
    assert.equal(parseLong(tb.putMessageFailedTimes), 0);
    // TPS: "10 s, 1 min, 10 min", each a Java double; this broker just took 8 puts and 5 gets.
    for (const k of ['putTps', 'getFoundTps', 'getMissTps', 'getTotalTps', 'getTransferedTps']) {
      const parts = tb[k]!.split(' ');
      assert.equal(parts.length, 3, `${k} = "${tb[k]}"`);
      for (const p of parts) assert.ok(parseDouble(p) >= 0, `${k} = "${tb[k]}"`);
    }
    assert.ok(row!.inTps > 0, tb.putTps);
    assert.ok(row!.outTps > 0, tb.getTransferedTps);
    assert.ok(parseDouble(tb.getFoundTps!.split(' ')[0]) > 0);
    assert.ok(parseDouble(tb.getMissTps!.split(' ')[0]) > 0);
    // Nothing queues here, and the page cache is never held while a request is answered.
    assert.equal(row!.sendQueue, '0,0ms');
    assert.equal(row!.pcWait, 0);
    assert.equal(parseLong(tb.dispatchBehindBytes), 0);
    // Store: the oldest message is one of ours; the log spans exactly the stored records.
    const stored = parseLong(tb.earliestMessageTimeStamp);
    assert.ok(stored >= before && stored <= Date.now(), `earliest ${stored}`);
    assert.ok(row!.hours >= 0 && row!.hours < 1);
    assert.equal(parseLong(tb.commitLogMinOffset), 0);
    const end = Math.max(...pulled.map((m) => m.commitLogOffset + m.storeSize));
    assert.equal(parseLong(tb.commitLogMaxOffset), end);
    assert.equal(parseLong(tb.putMessageSizeTotal), parseLong(tb.commitLogMaxOffset));
    assert.ok(row!.space > 0 && row!.space <= 1, tb.commitLogDiskRatio);
    assert.match(tb.commitLogDirCapacity!, /^Total : \d+(\.\d)? [KMGTPE]?i?B, Free : \d+(\.\d)? [KMGTPE]?i?B\.$/);
    assert.match(tb.remainHowManyDataToFlush!, /^\d+(\.\d)? [KMGTPE]?i?B$/);
    // Times.
    const boot = parseLong(tb.bootTimestamp);
    assert.ok(boot >= before && boot <= stored, `boot ${boot}`);
    assert.match(tb.runtime!, /^\[ 0 days, 0 hours, \d+ minutes, \d+ seconds \]$/);
    assert.ok(parseLong(tb.putMessageEntireTimeMax) >= 0);
    assert.match(tb.putLatency99!, /^\d+\.\d\d$/);
    assert.equal(tb.putMessageDistributeTime, 'null'); // Java: no finished minute yet
    assert.equal(parseDouble(tb.putMessageAverageSize), parseLong(tb.putMessageSizeTotal) / sent);
  });

  it('reports a fresh broker as a 4.9.8 one does: no messages, empty log, zero totals', async (t) => {
    const { e } = await setup(t);
    const tb = await withClient(undefined, (c) => fetchRuntimeInfo(c, e.broker.addr));
    assert.equal(tb.msgPutTotalTodayNow, '0');
    assert.equal(tb.msgGetTotalTodayNow, '0');
    assert.equal(tb.putMessageTimesTotal, '1'); // Java reports 1 for none (it divides by it)
    assert.equal(tb.putMessageAverageSize, '0.0');
    assert.equal(tb.earliestMessageTimeStamp, '-1');
    assert.equal(tb.commitLogMinOffset, '-1');
    assert.equal(tb.commitLogMaxOffset, '0');
    assert.equal(tb.remainHowManyDataToFlush, '0 B');
    assert.deepEqual(tb.putTps!.split(' ').map(parseDouble), [0, 0, 0]);
  });

  it('counts only what was stored: a refused send is not a put', async (t) => {
    const { e, producer } = await setup(t, { maxMessageSize: 64 });
    await producer.send({ topic: 'TopicSmall', body: 'fits' });
    await assert.rejects(producer.send({ topic: 'TopicSmall', body: 'x'.repeat(100) }, { timeout: 2000 }));
    const tb = await withClient(undefined, (c) => fetchRuntimeInfo(c, e.broker.addr));
    assert.equal(tb.msgPutTotalTodayNow, '1');
  });

  it('shows delayed-message progress per level as scheduleMessageOffset_<level> = "delivered,stored"', async (t) => {
    const { e, producer } = await setup(t, { messageDelayLevel: '100ms 1h', scheduleTickMs: 20 });
    await producer.send({ topic: 'TopicLater', body: 'soon', delayLevel: 1 });
    await producer.send({ topic: 'TopicLater', body: 'later', delayLevel: 2 });
    let tb: Record<string, string> = {};
    await withClient(undefined, async (c) => {
      for (let i = 0; i < 200 && tb.scheduleMessageOffset_1 !== '1,1'; i++) {
        await sleep(20);
        tb = await fetchRuntimeInfo(c, e.broker.addr);
      }
    });
    assert.equal(tb.scheduleMessageOffset_1, '1,1');
    assert.equal(tb.scheduleMessageOffset_2, undefined); // nothing delivered on that level yet (as Java's offset table)
    // Two sends, each parked in the schedule topic, and one delivery stored as a new record.
    assert.equal(tb.msgPutTotalTodayNow, '3');
  });

  it('writes the table in the order a 4.9.8 broker\'s HashMap iterates it', async (t) => {
    const store = MessageStore.open({ dir: await tempDir(t) });
    t.after(() => store.close());
    for (const [levels, want] of [[[], JAVA_ORDER], [[[2, 7], [1, 5], [3, 2]], JAVA_ORDER_WITH_LEVELS]] as const) {
      const body = encodeKVTable(runtimeInfo({ store, dataDir: '/root/store', delayProgress: () => levels.map(([l, o]): [number, number] => [l, o]), maxPendingPerConnection: 1024 }));
      assert.deepEqual(Object.keys(decodeKVTable(body)), want);
    }
  });
});
