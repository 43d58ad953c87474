// The consumer requests whose answers decide where a consumer reads, as a 4.9.8 broker gives them:
// QUERY_CONSUMER_OFFSET for a new group, long-polled pulls with tag filters, SEARCH_OFFSET_BY_TIMESTAMP.
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { createRequest, decodeStoredMessages, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startEmbedded, type BrokerOptions } from '../index.js';
import { RawConn, sleep, tempDir } from '../test-support.js';

const utf8 = new TextEncoder();
const text = (b?: Uint8Array) => new TextDecoder().decode(b);
const NOT_FOUND_REMARK = 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first';

function send(topic: string, body: string | Uint8Array, tags = 'TagA', queueId = 0): RemotingCommand {
  return createRequest(310, {
    a: 'pg', b: topic, c: 'TBW102', d: '4', e: String(queueId), f: '0', g: String(Date.now()), h: '0',
    i: `UNIQ_KEY\u0001U-${Math.random()}\u0002WAIT\u0001true\u0002TAGS\u0001${tags}`, j: '0', k: 'false', m: 'false', n: 'broker-a',
  }, { body: typeof body === 'string' ? utf8.encode(body) : body });
}

const query = (topic: string, group = 'new-group', extra: Record<string, string> = {}) =>
  createRequest(14, { consumerGroup: group, topic, queueId: '0', ...extra });

function pull(topic: string, offset: number, o: { suspend?: number; sub?: string } = {}): RemotingCommand {
  const ext: Record<string, string> = {
    consumerGroup: 'cg', topic, queueId: '0', queueOffset: String(offset), maxMsgNums: '32', sysFlag: String(o.sub ? 6 : 2),
    commitOffset: '0', suspendTimeoutMillis: String(o.suspend ?? 0), subVersion: '0', expressionType: 'TAG',
  };
  if (o.sub) ext.subscription = o.sub;
  return createRequest(11, ext);
}

async function setup(t: { after(fn: () => unknown): void }, opts: Partial<BrokerOptions> = {}) {
  const e = await startEmbedded({ dataDir: await tempDir(t), ...opts });
  t.after(() => e.close());
  const c = await RawConn.connect(e.broker.addr);
  t.after(() => c.close());
  return { e, c };
}

describe('broker: QUERY_CONSUMER_OFFSET for a group without a committed offset', () => {
  it('answers 0 while the queue is young: empty, or its first message still in memory', async (t) => {
    const { c } = await setup(t);
    const empty = await c.call(query('Young'));
    assert.deepEqual([empty.code, empty.extFields, empty.remark], [0, { offset: '0' }, undefined]);
    for (let i = 0; i < 3; i++) assert.equal((await c.call(send('Young', `m${i}`))).code, 0);
    assert.deepEqual((await c.call(query('Young'))).extFields, { offset: '0' });
    // a committed offset wins
    assert.equal((await c.call(createRequest(15, { consumerGroup: 'g2', topic: 'Young', queueId: '0', commitOffset: '2' }))).code, 0);
    assert.deepEqual((await c.call(query('Young', 'g2'))).extFields, { offset: '2' });
    // a 5.x client can ask for "not found" instead of the 0
    const strict = await c.call(query('Young', 'new-group', { setZeroIfNotFound: 'false' }));
    assert.deepEqual([strict.code, strict.remark, strict.extFields], [22, NOT_FOUND_REMARK, {}]);
  });

  it('answers QUERY_NOT_FOUND once the first message lies beyond the memory share of the commit log', async (t) => {
    // accessMessageInMemoryMaxRatio of this machine's memory = 4 KiB of commit log counted "in memory".
    const { c } = await setup(t, { accessMessageInMemoryMaxRatio: (4096 / os.totalmem()) * 100 });
    assert.equal((await c.call(send('Old', 'first'))).code, 0);
    assert.deepEqual((await c.call(query('Old'))).extFields, { offset: '0' }, 'just written: in memory');
    for (let i = 0; i < 4; i++) assert.equal((await c.call(send('Other', new Uint8Array(2048)))).code, 0);
    const nf = await c.call(query('Old'));
    assert.deepEqual([nf.code, nf.remark, nf.extFields], [22, NOT_FOUND_REMARK, {}]);
  });

  it('answers QUERY_NOT_FOUND once retention removed the first messages (min offset > 0)', async (t) => {
    const { c } = await setup(t, { segmentSize: 4096, maxDiskBytes: 8192, retentionIntervalMs: 50 });
    for (let i = 0; i < 40; i++) assert.equal((await c.call(send('Trimmed', new Uint8Array(512)))).code, 0);
    const min = async () => Number((await c.call(createRequest(31, { topic: 'Trimmed', queueId: '0' }))).extFields!.offset);
    for (let i = 0; i < 100 && (await min()) === 0; i++) await sleep(50);
    assert.ok((await min()) > 0, 'retention deleted the oldest segments');
    assert.equal((await c.call(query('Trimmed'))).code, 22);
  });
});

describe('broker: long polling with tag filters', () => {
  it('a held pull is answered by the first arrival its tags match, not by one they filter out', async (t) => {
    const { c } = await setup(t, { pullHoldCheckIntervalMs: 60_000 });
    assert.equal((await c.call(send('Held', 'before', 'TagA'))).code, 0);
    const held = c.call(pull('Held', 1, { suspend: 20_000, sub: 'TagA || TagC' }), 25_000);
    await sleep(100);
    assert.equal((await c.call(send('Held', 'other tag', 'TagB'))).code, 0);
    assert.equal((await c.call(send('Held', 'wanted', 'TagC'))).code, 0);
    const got = await held;
    assert.equal(got.code, 0);
    assert.deepEqual(decodeStoredMessages(got.body!).map((m) => text(m.body)), ['wanted'], 'the TagB message is filtered out by hash');
    assert.equal(got.extFields!.nextBeginOffset, '3');
  });

  it('the hold check answers a pull whose queue got only filtered-out messages (PULL_RETRY_IMMEDIATELY, moving on)', async (t) => {
    const { c } = await setup(t, { pullHoldCheckIntervalMs: 200 });
    assert.equal((await c.call(send('Check', 'before', 'TagA'))).code, 0);
    // Held for 20 s unless the check answers it: the call's own 5 s timeout would fail the test.
    const held = c.call(pull('Check', 1, { suspend: 20_000, sub: 'TagA' }), 5000);
    await sleep(100);
    assert.equal((await c.call(send('Check', 'not for us', 'TagB'))).code, 0);
    const got = await held;
    assert.deepEqual([got.code, got.remark, got.extFields!.nextBeginOffset, got.body], [20, 'NO_MATCHED_MESSAGE', '2', undefined]);
  });

  it('filters by the tags hash of the subscription sent with the pull ("A || B", "*")', async (t) => {
    const { c } = await setup(t);
    for (const tag of ['TagA', 'TagB', 'TagC', 'TagB']) assert.equal((await c.call(send('Tags', tag, tag))).code, 0);
    const bodies = async (sub: string) => decodeStoredMessages((await c.call(pull('Tags', 0, { sub }))).body!).map((m) => text(m.body));
    assert.deepEqual(await bodies('TagA || TagB'), ['TagA', 'TagB', 'TagB']);
    assert.deepEqual(await bodies('TagC'), ['TagC']);
    assert.deepEqual(await bodies('*'), ['TagA', 'TagB', 'TagC', 'TagB']);
  });
});

describe('broker: SEARCH_OFFSET_BY_TIMESTAMP', () => {
  it('answers the nearest message without boundaryType (4.9.8), the 5.x boundaries with it', async (t) => {
    const { c } = await setup(t);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.call(send('Times', `m${i}`));
      assert.equal(r.code, 0);
      // store times from the records themselves
      const m = decodeStoredMessages((await c.call(pull('Times', i))).body!)[0]!;
      times.push(m.storeTimestamp);
      await sleep(20);
    }
    const search = async (timestamp: number, boundaryType?: string) =>
      Number((await c.call(createRequest(29, { topic: 'Times', queueId: '0', timestamp: String(timestamp), ...(boundaryType && { boundaryType }) }))).extFields!.offset);
    const after = times[2]! + 1000;
    assert.equal(await search(after), 2, '4.9.8: the last message, the nearest');
    assert.equal(await search(after, 'LOWER'), 3, '5.x LOWER: none at or after → the end');
    assert.equal(await search(after, 'upper'), 2);
    assert.equal(await search(times[1]!, 'LOWER'), 1);
    assert.equal(await search(times[0]! - 1000), 0);
  });
});

describe('broker: consumer group members are keyed by connection, as 4.9.8 ConsumerGroupInfo.channelInfoTable', () => {
  const heartbeat = (clientID: string, group: string) => createRequest(34, {}, {
    body: utf8.encode(JSON.stringify({
      clientID, producerDataSet: [],
      consumerDataSet: [{ groupName: group, consumeType: 'CONSUME_ACTIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET', subscriptionDataSet: [], unitMode: false }],
    })),
  });
  const members = async (c: RawConn, group: string): Promise<string[]> => {
    const r = await c.call(createRequest(38, { consumerGroup: group }));
    return r.code === 0 ? (JSON.parse(text(r.body)) as { consumerIdList: string[] }).consumerIdList.sort() : [];
  };

  it('two clients over one connection are one member (the later id); over two connections, two; a closed connection leaves', async (t) => {
    const { e, c } = await setup(t);
    assert.equal((await c.call(heartbeat('tab-1', 'g1'))).code, 0);
    assert.equal((await c.call(heartbeat('tab-2', 'g1'))).code, 0);
    assert.deepEqual(await members(c, 'g1'), ['tab-2'], 'a shared connection collapses its clients into one member');

    const other = await RawConn.connect(e.broker.addr);
    assert.equal((await other.call(heartbeat('tab-3', 'g1'))).code, 0);
    assert.deepEqual(await members(c, 'g1'), ['tab-2', 'tab-3']);
    // The member already there hears that the group changed.
    const notified = await c.waitFor((cmd) => cmd.code === 40);
    assert.equal(notified.extFields?.consumerGroup, 'g1');

    // UNREGISTER_CLIENT removes the member of the connection it arrives on, whatever clientID it names.
    assert.equal((await c.call(createRequest(35, { clientID: 'tab-3', consumerGroup: 'g1' }))).code, 0);
    assert.deepEqual(await members(other, 'g1'), ['tab-3']);
    assert.equal((await c.call(heartbeat('tab-2', 'g1'))).code, 0);
    other.close();
    await other.waitClosed();
    for (let i = 0; i < 50 && (await members(c, 'g1')).length !== 1; i++) await sleep(20);
    assert.deepEqual(await members(c, 'g1'), ['tab-2']);
  });
});
