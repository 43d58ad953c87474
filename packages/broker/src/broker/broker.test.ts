import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRequest,
  decodeOffsetMsgId,
  decodeStoredMessages,
  encodeBatchBody,
  encodeFrame,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { startBroker, startEmbedded, type BrokerOptions } from '../index.js';
import { readAll } from '../testing.js';
import { RawConn, sleep, tempDir } from '../test-support.js';
import { capture } from '../../../../test/vectors.js';

const vector = capture;
const utf8 = new TextEncoder();
const text = (b?: Uint8Array) => new TextDecoder().decode(b);

function sendV2(topic: string, body: string, o: { queueId?: number; props?: string; oneway?: boolean; serializeType?: 'JSON' | 'ROCKETMQ'; d?: number } = {}): RemotingCommand {
  return createRequest(
    310,
    {
      a: 'pg', b: topic, c: 'TBW102', d: String(o.d ?? 4), e: String(o.queueId ?? 0), f: '0', g: '1700000000000', h: '0',
      i: o.props ?? `UNIQ_KEY\u0001U-${body}\u0002WAIT\u0001true\u0002TAGS\u0001TagA`, j: '0', k: 'false', m: 'false', n: 'broker-a',
    },
    { body: utf8.encode(body), oneway: o.oneway, serializeType: o.serializeType },
  );
}

function pull(topic: string, queueId: number, offset: number, o: { sysFlag?: number; suspend?: number; group?: string; sub?: string } = {}): RemotingCommand {
  const ext: Record<string, string> = {
    consumerGroup: o.group ?? 'cg', topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: '32',
    sysFlag: String(o.sysFlag ?? 0), commitOffset: '0', suspendTimeoutMillis: String(o.suspend ?? 0), subVersion: '0', expressionType: 'TAG',
  };
  if (o.sub) ext.subscription = o.sub;
  return createRequest(11, ext);
}

async function setup(t: { after(fn: () => unknown): void }, opts: Partial<BrokerOptions> = {}) {
  const dir = await tempDir(t);
  const e = await startEmbedded({ dataDir: dir, ...opts });
  t.after(() => e.close());
  const c = await RawConn.connect(e.broker.addr);
  t.after(() => c.close());
  return { e, c, dir };
}

describe('broker: send', () => {
  it('answers a captured SEND_MESSAGE_V2 (JSON and binary) in the captured shape', async (t) => {
    const { c } = await setup(t);
    for (const rel of ['01-producer-json/0006-broker-SEND_MESSAGE_V2-310-SUCCESS.json', '04-producer-rocketmq/0092-broker-SEND_MESSAGE_V2-310-SUCCESS-ROCKETMQ.json']) {
      const v = vector(rel);
      c.writeRaw(Buffer.from(v.request.frameHex, 'hex'));
      const got = await c.waitFor((f) => f.opaque === v.request.opaque);
      const want = v.response.header?.extFields ?? JSON.parse(v.response.headerText).extFields;
      assert.equal(got.serializeType, v.request.serializeType === 1 || rel.includes('ROCKETMQ') ? 'ROCKETMQ' : 'JSON');
      assert.deepEqual(Object.keys(got.extFields!), Object.keys(want), `${rel}: key order`);
      assert.equal(got.extFields!.queueId, want.queueId);
      assert.equal(got.extFields!.MSG_REGION, 'DefaultRegion');
      assert.equal(got.extFields!.TRACE_ON, 'true');
      if (got.serializeType === 'JSON') {
        const expected = v.response.headerText.replace(want.msgId, got.extFields!.msgId).replace(`"queueOffset":"${want.queueOffset}"`, `"queueOffset":"${got.extFields!.queueOffset}"`);
        assert.equal(text(encodeFrame(got).subarray(8)), expected);
      }
    }
  });

  it('stores V1, V2 and batch sends; a pull returns exactly the stored bytes', async (t) => {
    const { e, c } = await setup(t);
    const r1 = await c.call(sendV2('TopicA', 'hello-v2', { queueId: 1 }));
    assert.equal(r1.code, 0);
    assert.equal(r1.extFields!.queueOffset, '0');
    const v1 = createRequest(10, {
      producerGroup: 'pg', topic: 'TopicA', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '1', sysFlag: '0',
      bornTimestamp: '1700000000001', flag: '7', properties: 'KEYS\u0001k1 k2\u0002WAIT\u0001true', reconsumeTimes: '0', unitMode: 'false', batch: 'false',
    }, { body: utf8.encode('hello-v1') });
    const r2 = await c.call(v1);
    assert.equal(r2.code, 0);
    assert.equal(r2.extFields!.queueOffset, '1');
    const batchBody = encodeBatchBody([0, 1, 2].map((i) => ({ topic: 'TopicA', body: utf8.encode(`b${i}`), flag: i, properties: { UNIQ_KEY: `B${i}`, WAIT: 'true' } })));
    const batch = createRequest(320, { a: 'pg', b: 'TopicA', c: 'TBW102', d: '4', e: '1', f: '0', g: '1700000000002', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'true', n: 'broker-a' }, { body: batchBody });
    const r3 = await c.call(batch);
    assert.equal(r3.code, 0);
    assert.equal(r3.extFields!.queueOffset, '2');
    const ids = r3.extFields!.msgId!.split(',');
    assert.equal(ids.length, 3);

    const p = await c.call(pull('TopicA', 1, 0));
    assert.equal(p.code, 0);
    assert.equal(p.remark, 'FOUND');
    assert.deepEqual(p.extFields, { suggestWhichBrokerId: '0', nextBeginOffset: '5', maxOffset: '5', minOffset: '0' });
    const msgs = decodeStoredMessages(p.body!);
    assert.deepEqual(msgs.map((m) => text(m.body)), ['hello-v2', 'hello-v1', 'b0', 'b1', 'b2']);
    assert.deepEqual(msgs.map((m) => m.queueOffset), [0, 1, 2, 3, 4]);
    assert.equal(msgs[0]!.propertiesString, 'UNIQ_KEY\u0001U-hello-v2\u0002CLUSTER\u0001DefaultCluster\u0002TAGS\u0001TagA');
    assert.equal(msgs[1]!.flag, 7);
    assert.equal(msgs[1]!.properties.KEYS, 'k1 k2');
    assert.equal(msgs[1]!.properties.WAIT, undefined);
    assert.equal(msgs[2]!.propertiesString, 'UNIQ_KEY\u0001B0\u0002WAIT\u0001true\u0002CLUSTER\u0001DefaultCluster\u0002WAIT\u0001true');
    assert.deepEqual(msgs.map((m) => m.offsetMsgId), [r1.extFields!.msgId, r2.extFields!.msgId, ...ids]);
    assert.equal(msgs[0]!.bornHost.split(':')[0], '127.0.0.1');
    assert.equal(msgs[0]!.storeHost, e.broker.addr);
    for (const m of msgs) assert.equal(m.bodyCRC, (await import('../crc.js')).maskedCrc32(m.body));
    // VIEW_MESSAGE_BY_ID: the record at the commit-log offset of an offset id.
    const { offset } = decodeOffsetMsgId(ids[1]!);
    const view = await c.call(createRequest(33, { offset: String(offset) }));
    assert.equal(view.code, 0);
    assert.equal(text(decodeStoredMessages(view.body!)[0]!.body), 'b1');
    assert.equal((await c.call(createRequest(33, { offset: '999999' }))).code, 1);
    // auto-created with min(4, 8) = 4 queues and published to the name server
    await sleep(100);
    const all = await readAll({ namesrvAddr: e.namesrvAddr, topic: 'TopicA' });
    assert.equal(all.length, 5);
  });

  it('a negative queue id picks a queue; binary requests get binary replies', async (t) => {
    const { c } = await setup(t);
    const r = await c.call(sendV2('TopicB', 'x', { queueId: -1, serializeType: 'ROCKETMQ' }));
    assert.equal(r.code, 0);
    assert.equal(r.serializeType, 'ROCKETMQ');
    assert.deepEqual(Object.keys(r.extFields!), ['msgId', 'queueId', 'queueOffset', 'TRACE_ON', 'MSG_REGION']);
    const q = Number(r.extFields!.queueId);
    assert.ok(q >= 0 && q < 4);
  });

  it('oneway sends are stored and not answered; unknown codes get 3 (two-way only)', async (t) => {
    const { c } = await setup(t);
    c.send(sendV2('TopicC', 'oneway', { oneway: true }));
    c.send(createRequest(7777, undefined, { oneway: true }));
    const u = await c.call(createRequest(7777));
    assert.equal(u.code, 3);
    assert.equal(u.remark, ' request type 7777 not supported');
    await sleep(50);
    assert.equal(c.frames.length, 0, 'nothing else was answered');
    const p = await c.call(pull('TopicC', 0, 0));
    assert.equal(text(decodeStoredMessages(p.body!)[0]!.body), 'oneway');
  });

  it('refuses bad topics, forbidden topics, oversize bodies and illegal queue ids with the right codes', async (t) => {
    const { c } = await setup(t, { maxMessageSize: 1024 });
    const check = async (req: RemotingCommand, code: number) => {
      const r = await c.call(req);
      assert.equal(r.code, code, `${r.remark}`);
      assert.equal(r.extFields?.MSG_REGION, 'DefaultRegion');
      assert.equal(r.extFields?.TRACE_ON, 'true');
      return r;
    };
    await check(sendV2('bad topic!', 'x'), 1);
    await check(sendV2('SCHEDULE_TOPIC_XXXX', 'x'), 16);
    await check(sendV2('TopicD', 'y'.repeat(1025)), 13);
    await check(sendV2('TopicD', 'x', { props: `a\u0001${'z'.repeat(33000)}` }), 13);
    const r = await check(sendV2('TopicD', 'x', { queueId: 4 }), 1);
    assert.match(r.remark!, /queueId\[4\] is illegal/);
    await check(sendV2('TopicD', 'x', { queueId: 3 }), 0);
  });

  it('without auto-create an unknown topic gets TOPIC_NOT_EXIST and no TBW102 route', async (t) => {
    const { e, c } = await setup(t, { autoCreateTopicEnable: false });
    const r = await c.call(sendV2('TopicE', 'x'));
    assert.equal(r.code, 17);
    const ns = await RawConn.connect(e.namesrvAddr);
    t.after(() => ns.close());
    assert.equal((await ns.call(createRequest(105, { topic: 'TBW102' }))).code, 17);
    const created = await c.call(createRequest(17, { topic: 'TopicE', readQueueNums: '2', writeQueueNums: '2', perm: '6', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false' }));
    assert.equal(created.code, 0);
    assert.equal((await c.call(sendV2('TopicE', 'x', { queueId: 1 }))).code, 0);
    await sleep(100);
    const route = await ns.call(createRequest(105, { topic: 'TopicE' }));
    assert.match(text(route.body), /"readQueueNums":2/);
  });

  it('a malformed frame closes only its own connection', async (t) => {
    const { e, c } = await setup(t);
    const bad = await RawConn.connect(e.broker.addr);
    t.after(() => bad.close());
    bad.writeRaw(Buffer.from([0, 0, 0, 12, 0, 0, 0, 8, 0x7b, 0x7b, 0x7b, 0x7b, 1, 2, 3, 4]));
    await bad.waitClosed();
    const huge = await RawConn.connect(e.broker.addr);
    t.after(() => huge.close());
    huge.writeRaw(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await huge.waitClosed();
    assert.equal((await c.call(sendV2('TopicF', 'still fine'))).code, 0);
  });
});

describe('broker: pull and consumers', () => {
  it('maps pull statuses and long-polls until a message arrives', async (t) => {
    const { c } = await setup(t);
    await c.call(sendV2('TopicP', 'm0'));
    assert.equal((await c.call(pull('TopicP', 1, 0))).remark, 'NO_MESSAGE_IN_QUEUE');
    assert.equal((await c.call(pull('TopicP', 1, 0))).code, 19);
    assert.equal((await c.call(pull('TopicP', 1, 3))).code, 21);
    const one = await c.call(pull('TopicP', 0, 1));
    assert.equal(one.code, 19);
    assert.equal(one.remark, 'OFFSET_OVERFLOW_ONE');
    assert.equal((await c.call(pull('TopicP', 0, 9))).code, 21);
    assert.equal((await c.call(pull('NoSuchTopic', 0, 0))).code, 17);
    assert.equal((await c.call(pull('TopicP', 0, 0, { sysFlag: 4, sub: 'TagZ' }))).code, 20);
    // long polling: parked, answered as soon as a message arrives on that queue
    const t0 = Date.now();
    const parked = c.call(pull('TopicP', 0, 1, { sysFlag: 2, suspend: 10_000 }), 15_000);
    await sleep(200);
    await c.call(sendV2('TopicP', 'm1'));
    const got = await parked;
    assert.equal(got.code, 0);
    assert.equal(text(decodeStoredMessages(got.body!)[0]!.body), 'm1');
    assert.ok(Date.now() - t0 < 2000);
    // the hold expires with PULL_NOT_FOUND
    const t1 = Date.now();
    const expired = await c.call(pull('TopicP', 0, 2, { sysFlag: 2, suspend: 300 }));
    assert.equal(expired.code, 19);
    assert.ok(Date.now() - t1 >= 250);
  });

  it('heartbeats register groups, notify members, list consumers; offsets are kept', async (t) => {
    const { e, c } = await setup(t);
    const hb = (clientID: string) =>
      createRequest(34, undefined, {
        body: utf8.encode(JSON.stringify({
          clientID,
          consumerDataSet: [{ consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', consumeType: 'CONSUME_PASSIVELY', groupName: 'cg1', messageModel: 'CLUSTERING',
            subscriptionDataSet: [{ classFilterMode: false, codeSet: [], expressionType: 'TAG', subString: '*', subVersion: 1, tagsSet: [], topic: 'TopicH' }], unitMode: false }],
          producerDataSet: [{ groupName: 'CLIENT_INNER_PRODUCER' }],
        })),
      });
    const r = await c.call(hb('client-1'));
    assert.equal(r.code, 0);
    assert.equal(r.version, 409);
    assert.equal(r.extFields, undefined);
    const note = await c.waitFor((f) => f.code === 40);
    assert.equal(note.flag, 2);
    assert.deepEqual(note.extFields, { consumerGroup: 'cg1' });
    const c2 = await RawConn.connect(e.broker.addr);
    t.after(() => c2.close());
    await c2.call(hb('client-2'));
    await c.waitFor((f) => f.code === 40);
    const list = await c.call(createRequest(38, { consumerGroup: 'cg1' }));
    assert.deepEqual(list.extFields, {});
    assert.deepEqual(JSON.parse(text(list.body)).consumerIdList.sort(), ['client-1', 'client-2']);
    c2.close();
    await c.waitFor((f) => f.code === 40);
    assert.deepEqual(JSON.parse(text((await c.call(createRequest(38, { consumerGroup: 'cg1' }))).body)).consumerIdList, ['client-1']);
    assert.equal((await c.call(createRequest(38, { consumerGroup: 'nobody' }))).code, 1);
    // retry topic published
    await sleep(100);
    const ns = await RawConn.connect(e.namesrvAddr);
    t.after(() => ns.close());
    assert.match(text((await ns.call(createRequest(105, { topic: '%RETRY%cg1' }))).body), /"readQueueNums":1,/);
    // offsets
    const q = (group: string) => createRequest(14, { consumerGroup: group, topic: 'TopicH', queueId: '0' });
    // A group without an offset reads a young queue from 0, as 4.9.8 (the rest: query-consumer-offset.test.ts).
    assert.deepEqual((await c.call(q('cg1'))).extFields, { offset: '0' });
    c.send(createRequest(15, { consumerGroup: 'cg1', topic: 'TopicH', queueId: '0', commitOffset: '5' }, { oneway: true }));
    await sleep(50);
    assert.deepEqual((await c.call(q('cg1'))).extFields, { offset: '5' });
    const un = await c.call(createRequest(35, { clientID: 'client-1', consumerGroup: 'cg1' }));
    assert.deepEqual(un.extFields, {});
    assert.equal((await c.call(createRequest(46))).code, 0);
    // max/min/search/earliest
    await c.call(sendV2('TopicH', 'a'));
    assert.deepEqual((await c.call(createRequest(30, { topic: 'TopicH', queueId: '0' }))).extFields, { offset: '1' });
    assert.deepEqual((await c.call(createRequest(31, { topic: 'TopicH', queueId: '0' }))).extFields, { offset: '0' });
    assert.deepEqual((await c.call(createRequest(29, { topic: 'TopicH', queueId: '0', timestamp: '0' }))).extFields, { offset: '0' });
    assert.ok(Number((await c.call(createRequest(32, { topic: 'TopicH', queueId: '0' }))).extFields!.timestamp) > 0);
    // locks
    const mq = { topic: 'TopicH', brokerName: 'broker-a', queueId: 0 };
    const lock = (clientId: string) => createRequest(41, undefined, { body: utf8.encode(JSON.stringify({ consumerGroup: 'cg1', clientId, mqSet: [mq] })) });
    assert.equal(JSON.parse(text((await c.call(lock('A'))).body)).lockOKMQSet.length, 1);
    assert.equal(JSON.parse(text((await c.call(lock('B'))).body)).lockOKMQSet.length, 0);
    await c.call(createRequest(42, undefined, { body: utf8.encode(JSON.stringify({ consumerGroup: 'cg1', clientId: 'A', mqSet: [mq] })) }));
    assert.equal(JSON.parse(text((await c.call(lock('B'))).body)).lockOKMQSet.length, 1);
  });
});

describe('broker: delayed messages, retries, restart', () => {
  it('delivers delay level 1 after about a second and timer messages at their time, also after a restart', async (t) => {
    const dir = await tempDir(t);
    let b = await startBroker({ dataDir: dir, port: 0 });
    let c = await RawConn.connect(b.addr);
    const born = Date.now();
    const r = await c.call(sendV2('TopicDelay', 'later', { queueId: 2, props: 'UNIQ_KEY\u0001D1\u0002WAIT\u0001true\u0002DELAY\u00011\u0002TAGS\u0001TagD' }));
    assert.equal(r.code, 0);
    assert.equal(r.extFields!.queueId, '2');
    assert.equal(r.extFields!.queueOffset, '0'); // offset in SCHEDULE_TOPIC_XXXX queue 0
    const timer = await c.call(sendV2('TopicDelay', 'timer', { queueId: 1, props: `UNIQ_KEY\u0001T1\u0002TIMER_DELAY_MS\u00011500` }));
    assert.equal(timer.code, 0);
    const far = await c.call(sendV2('TopicDelay', 'far', { queueId: 3, props: `UNIQ_KEY\u0001T2\u0002TIMER_DELIVER_MS\u0001${Date.now() + 2500}` }));
    assert.equal(far.code, 0);
    assert.equal((await c.call(sendV2('TopicDelay', 'x', { props: `TIMER_DELAY_SEC\u0001${4 * 86400}` }))).code, 13);
    assert.equal((await c.call(pull('TopicDelay', 2, 0))).code, 19, 'not yet');
    // restart before anything is due: parked messages survive
    c.close();
    await b.close();
    b = await startBroker({ dataDir: dir, port: 0 });
    t.after(() => b.close());
    c = await RawConn.connect(b.addr);
    t.after(() => c.close());
    const waitFor = async (queueId: number) => {
      for (let i = 0; i < 100; i++) {
        const p = await c.call(pull('TopicDelay', queueId, 0));
        if (p.code === 0) return decodeStoredMessages(p.body!)[0]!;
        await sleep(50);
      }
      throw new Error('not delivered');
    };
    const m = await waitFor(2);
    assert.equal(text(m.body), 'later');
    assert.ok(m.storeTimestamp - born >= 900, `delivered ${m.storeTimestamp - born} ms after the send`);
    assert.equal(m.properties.REAL_TOPIC, 'TopicDelay');
    assert.equal(m.properties.REAL_QID, '2');
    assert.equal(m.properties.DELAY, '1');
    assert.equal(m.properties.UNIQ_KEY, 'D1');
    assert.equal(m.bornTimestamp, 1700000000000);
    const tm = await waitFor(1);
    assert.equal(text(tm.body), 'timer');
    assert.ok(tm.storeTimestamp - born >= 1400);
    const fm = await waitFor(3);
    assert.ok(fm.storeTimestamp - born >= 2400);
    await sleep(300);
    // nothing is delivered twice
    const again = await c.call(pull('TopicDelay', 2, 0));
    assert.equal(decodeStoredMessages(again.body!).length, 1);
  });

  it('CONSUMER_SEND_MSG_BACK parks the message in the retry topic, and in the DLQ after max retries', async (t) => {
    const { c } = await setup(t);
    const s = await c.call(sendV2('TopicR', 'failing'));
    const { offset } = decodeOffsetMsgId(s.extFields!.msgId!);
    const back = await c.call(createRequest(36, { offset: String(offset), group: 'cgR', delayLevel: '1', originMsgId: 'U-failing', originTopic: 'TopicR', unitMode: 'false', maxReconsumeTimes: '16' }));
    assert.equal(back.code, 0);
    let m;
    for (let i = 0; i < 60 && !m; i++) {
      const p = await c.call(pull('%RETRY%cgR', 0, 0));
      if (p.code === 0) m = decodeStoredMessages(p.body!)[0];
      else await sleep(50);
    }
    assert.ok(m, 'retried message delivered');
    assert.equal(text(m.body), 'failing');
    assert.equal(m.reconsumeTimes, 1);
    assert.equal(m.properties.RETRY_TOPIC, 'TopicR');
    assert.equal(m.properties.ORIGIN_MESSAGE_ID, 'U-failing');
    const dlq = await c.call(createRequest(36, { offset: String(m.commitLogOffset), group: 'cgR', delayLevel: '0', maxReconsumeTimes: '1' }));
    assert.equal(dlq.code, 0);
    const p = await c.call(pull('%DLQ%cgR', 0, 0));
    assert.equal(p.code, 0);
    assert.equal(text(decodeStoredMessages(p.body!)[0]!.body), 'failing');
  });

  it('keeps topics and consumer offsets across a restart', async (t) => {
    const dir = await tempDir(t);
    let b = await startBroker({ dataDir: dir });
    let c = await RawConn.connect(b.addr);
    await c.call(createRequest(17, { topic: 'TopicK', readQueueNums: '3', writeQueueNums: '3', perm: '6' }));
    await c.call(createRequest(15, { consumerGroup: 'g', topic: 'TopicK', queueId: '2', commitOffset: '9' }));
    await c.call(sendV2('TopicK', 'persisted', { queueId: 2 }));
    c.close();
    await b.close();
    await assert.rejects(startBroker({ dataDir: dir }).then(async (x) => { await startBroker({ dataDir: dir }).finally(() => x.close()); }), /in use|already used/);
    b = await startBroker({ dataDir: dir });
    t.after(() => b.close());
    c = await RawConn.connect(b.addr);
    t.after(() => c.close());
    assert.deepEqual((await c.call(createRequest(14, { consumerGroup: 'g', topic: 'TopicK', queueId: '2' }))).extFields, { offset: '9' });
    assert.equal((await c.call(sendV2('TopicK', 'x', { queueId: 3 }))).code, 1, 'still 3 queues');
    const p = await c.call(pull('TopicK', 2, 0));
    assert.equal(text(decodeStoredMessages(p.body!)[0]!.body), 'persisted');
  });
});
