// Where a send is stored: only the header field Java reads names the topic and queue, and no
// property a client supplies moves the message elsewhere. Over TCP against the embedded broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, decodeOffsetMsgId, decodeStoredMessages, encodeBatchBody, type MessageExt, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startEmbedded, type BrokerOptions } from '../index.js';
import { RawConn, sleep, tempDir } from '../test-support.js';

const utf8 = new TextEncoder();
const text = (b?: Uint8Array) => new TextDecoder().decode(b);

async function setup(t: { after(fn: () => unknown): void }, opts: Partial<BrokerOptions> = {}) {
  const e = await startEmbedded({ dataDir: await tempDir(t), ...opts });
  t.after(() => e.close());
  const c = await RawConn.connect(e.broker.addr);
  t.after(() => c.close());
  return { e, c };
}

function v2(code: number, topic: string, body: Uint8Array, extra: Record<string, string>, o: { queueId?: number; props?: string; oneway?: boolean; serializeType?: 'JSON' | 'ROCKETMQ' } = {}): RemotingCommand {
  // The letters first, then the decoys: a later key would win in a parser that merges spellings.
  const ext = {
    a: 'pg', b: topic, c: 'TBW102', d: '4', e: String(o.queueId ?? 1), f: '0', g: '1700000000000', h: '0',
    i: o.props ?? 'WAIT\u0001true', j: '0', k: 'false', m: code === 320 ? 'true' : 'false', n: 'broker-a', ...extra,
  };
  return createRequest(code, ext, { body, oneway: o.oneway, serializeType: o.serializeType });
}

function pull(topic: string, queueId: number, offset = 0): RemotingCommand {
  return createRequest(11, {
    consumerGroup: 'cg', topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: '32', sysFlag: '0',
    commitOffset: '0', suspendTimeoutMillis: '0', subVersion: '0', expressionType: 'TAG',
  });
}

async function stored(c: RawConn, topic: string, queueId: number): Promise<MessageExt[]> {
  const p = await c.call(pull(topic, queueId));
  return p.code === 0 ? decodeStoredMessages(p.body!) : [];
}

/** The topic was never created: a pull says TOPIC_NOT_EXIST (17). */
async function assertNoTopic(c: RawConn, topic: string) {
  for (let q = 0; q < 4; q++) assert.equal((await c.call(pull(topic, q))).code, 17, `${topic}/${q} must not exist`);
}

/** What a parser that maps letters and then lets long keys override would have obeyed. */
const decoys = { topic: 'payments', queueId: '3', properties: 'TAGS\u0001Evil', producerGroup: 'evil', defaultTopic: 'Other' };

describe('send: where a message is stored', () => {
  for (const serializeType of ['JSON', 'ROCKETMQ'] as const) {
    it(`SEND_MESSAGE_V2 (${serializeType}): the message lands in b's topic and e's queue, whatever "topic"/"queueId"/"properties" say`, async (t) => {
      const { c } = await setup(t);
      const r = await c.call(v2(310, 'orders-1', utf8.encode('two-way'), decoys, { serializeType, props: 'TAGS\u0001Good' }));
      assert.equal(r.code, 0, r.remark);
      assert.equal(r.extFields!.queueId, '1');
      c.send(v2(310, 'orders-1', utf8.encode('oneway'), decoys, { serializeType, oneway: true }));
      await sleep(100);
      const got = await stored(c, 'orders-1', 1);
      assert.deepEqual(got.map((m) => text(m.body)), ['two-way', 'oneway']);
      assert.equal(got[0]!.properties.TAGS, 'Good');
      assert.equal(got[0]!.topic, 'orders-1');
      assert.deepEqual(await stored(c, 'orders-1', 3), []);
      await assertNoTopic(c, 'payments');
    });
  }

  it('SEND_BATCH_MESSAGE (JSON and binary, two-way and oneway): every record lands in b\'s topic', async (t) => {
    const { c } = await setup(t);
    const batch = (tag: string) => encodeBatchBody([0, 1].map((i) => ({ topic: 'orders-1', body: utf8.encode(`${tag}-${i}`), flag: 0, properties: { UNIQ_KEY: `${tag}${i}`, WAIT: 'true' } })));
    const r = await c.call(v2(320, 'orders-1', batch('json'), decoys));
    assert.equal(r.code, 0, r.remark);
    assert.equal(r.extFields!.msgId!.split(',').length, 2);
    const rb = await c.call(v2(320, 'orders-1', batch('bin'), decoys, { serializeType: 'ROCKETMQ' }));
    assert.equal(rb.code, 0, rb.remark);
    c.send(v2(320, 'orders-1', batch('oneway'), decoys, { oneway: true }));
    await sleep(100);
    assert.deepEqual((await stored(c, 'orders-1', 1)).map((m) => text(m.body)), ['json-0', 'json-1', 'bin-0', 'bin-1', 'oneway-0', 'oneway-1']);
    await assertNoTopic(c, 'payments');
  });

  it('SEND_MESSAGE (V1) reads only the V1 names: letters naming another topic change nothing', async (t) => {
    const { c } = await setup(t);
    const req = createRequest(10, {
      producerGroup: 'pg', topic: 'orders-1', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '2', sysFlag: '0',
      bornTimestamp: '1700000000000', flag: '0', properties: 'WAIT\u0001true', reconsumeTimes: '0', unitMode: 'false', batch: 'false',
      b: 'payments', e: '3', i: 'TAGS\u0001Evil',
    }, { body: utf8.encode('v1') });
    const r = await c.call(req);
    assert.equal(r.code, 0, r.remark);
    assert.deepEqual((await stored(c, 'orders-1', 2)).map((m) => text(m.body)), ['v1']);
    await assertNoTopic(c, 'payments');
  });

  it('REAL_TOPIC, REAL_QID, RETRY_TOPIC and timer properties from a client never move a message: the broker overwrites them', async (t) => {
    const { c } = await setup(t, { messageDelayLevel: '100ms 200ms 300ms 400ms', scheduleTickMs: 20 });
    const spoof = 'REAL_TOPIC\u0001payments\u0002REAL_QID\u00013\u0002RETRY_TOPIC\u0001payments\u0002TIMER_OUT_MS\u00011';
    const send = async (body: string, queueId: number, extraProps: string) => {
      const r = await c.call(v2(310, 'orders-2', utf8.encode(body), {}, { queueId, props: `${spoof}\u0002${extraProps}` }));
      assert.equal(r.code, 0, `${body}: ${r.remark}`);
      return r;
    };
    // a delay level, a relative timer, an absolute timer in the past (stored at once), no delay at all
    await send('level', 1, 'DELAY\u00011');
    await send('timer', 2, 'TIMER_DELAY_MS\u0001150');
    await send('past', 0, `TIMER_DELIVER_MS\u0001${Date.now() - 1000}`);
    const plain = await send('plain', 0, 'WAIT\u0001true');
    const waitFor = async (topic: string, queueId: number, n: number) => {
      for (let i = 0; i < 100; i++) {
        const got = await stored(c, topic, queueId);
        if (got.length >= n) return got;
        await sleep(30);
      }
      throw new Error(`${topic}/${queueId}: fewer than ${n} messages`);
    };
    const [level] = await waitFor('orders-2', 1, 1);
    assert.equal(text(level!.body), 'level');
    assert.equal(level!.properties.REAL_TOPIC, 'orders-2');
    assert.equal(level!.properties.REAL_QID, '1');
    const [timer] = await waitFor('orders-2', 2, 1);
    assert.equal(text(timer!.body), 'timer');
    assert.equal(timer!.properties.REAL_TOPIC, 'orders-2');
    assert.equal(timer!.properties.REAL_QID, '2');
    assert.ok(Number(timer!.properties.TIMER_OUT_MS) > 1, 'TIMER_OUT_MS is the broker\'s due time');
    assert.deepEqual((await waitFor('orders-2', 0, 2)).map((m) => text(m.body)), ['past', 'plain']);

    // A consumer's send-back re-parks the message under the group's retry topic, not RETRY_TOPIC / REAL_TOPIC.
    const { offset } = decodeOffsetMsgId(plain.extFields!.msgId!);
    const back = await c.call(createRequest(36, { offset: String(offset), group: 'cg', delayLevel: '1', originMsgId: 'x', maxReconsumeTimes: '16' }));
    assert.equal(back.code, 0, back.remark);
    const [retried] = await waitFor('%RETRY%cg', 0, 1);
    assert.equal(text(retried!.body), 'plain');
    assert.equal(retried!.properties.REAL_TOPIC, '%RETRY%cg');
    assert.equal(retried!.properties.REAL_QID, '0');
    await sleep(200);
    await assertNoTopic(c, 'payments');
    // and the parking topics themselves take no sends
    for (const topic of ['SCHEDULE_TOPIC_XXXX', 'rmq_sys_wheel_timer']) {
      assert.equal((await c.call(v2(310, topic, utf8.encode('x'), {}))).code, 16, topic);
    }
  });
});
