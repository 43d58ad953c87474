// maxBatchMessages: a SEND_BATCH_MESSAGE with more records than the cap is refused whole.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, encodeBatchBody, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { DEFAULT_MAX_BATCH_MESSAGES, startEmbedded, type BrokerOptions } from '../index.js';
import { RawConn, sleep, tempDir } from '../test-support.js';

const utf8 = new TextEncoder();

async function setup(t: { after(fn: () => unknown): void }, opts: Partial<BrokerOptions> = {}) {
  const e = await startEmbedded({ dataDir: await tempDir(t), ...opts });
  t.after(() => e.close());
  const c = await RawConn.connect(e.broker.addr);
  t.after(() => c.close());
  return { e, c };
}

function batch(topic: string, body: Uint8Array, oneway = false): RemotingCommand {
  return createRequest(320, { a: 'pg', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: '1700000000000', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'true', n: 'broker-a' }, { body, oneway });
}

const records = (n: number) => encodeBatchBody(Array.from({ length: n }, (_, i) => ({ topic: 'T', body: utf8.encode(`m${i}`), flag: 0, properties: { UNIQ_KEY: `K${i}` } })));

/** Messages in queue 0 of `topic` (GET_MAX_OFFSET; 0 for a topic that does not exist). */
async function count(c: RawConn, topic: string): Promise<number> {
  return Number((await c.call(createRequest(30, { topic, queueId: '0' }))).extFields!.offset);
}

describe('send: maxBatchMessages', () => {
  it(`refuses a batch of ${DEFAULT_MAX_BATCH_MESSAGES + 1} records by default with MESSAGE_ILLEGAL and a remark naming the limit; stores ${DEFAULT_MAX_BATCH_MESSAGES}`, async (t) => {
    const { c } = await setup(t);
    assert.equal(DEFAULT_MAX_BATCH_MESSAGES, 1024);
    const over = await c.call(batch('Big', records(DEFAULT_MAX_BATCH_MESSAGES + 1)));
    assert.equal(over.code, 13);
    assert.match(over.remark!, /more than 1024 messages/);
    assert.match(over.remark!, /several batches of at most 1024/);
    assert.equal(over.extFields?.MSG_REGION, 'DefaultRegion');
    assert.equal(await count(c, 'Big'), 0, 'nothing of it is stored');
    assert.equal((await c.call(batch('Big', records(DEFAULT_MAX_BATCH_MESSAGES)))).code, 0);
    assert.equal(await count(c, 'Big'), DEFAULT_MAX_BATCH_MESSAGES);
  });

  it('honours the option, refuses oneway batches over it silently, and refuses 4 MiB of empty records', async (t) => {
    const { c } = await setup(t, { maxBatchMessages: 3 });
    assert.equal((await c.call(batch('Small', records(3)))).code, 0);
    const r = await c.call(batch('Small', records(4)));
    assert.equal(r.code, 13);
    assert.match(r.remark!, /more than 3 messages/);
    c.send(batch('Small', records(4), true));
    // 190,650 records of 22 bytes, no body, no properties: the largest body the broker accepts.
    const empties = new Uint8Array(Math.floor((4 * 1024 * 1024) / 22) * 22);
    const v = new DataView(empties.buffer);
    for (let p = 0; p < empties.length; p += 22) v.setInt32(p, 22);
    const e = await c.call(batch('Small', empties));
    assert.equal(e.code, 13);
    assert.match(e.remark!, /more than 3 messages/);
    await sleep(50);
    assert.equal(await count(c, 'Small'), 3, 'only the first batch is stored');
    assert.equal(c.frames.length, 0, 'the oneway batch got no answer');
  });

  it('rejects a maxBatchMessages that is not a positive integer', async (t) => {
    await assert.rejects(startEmbedded({ dataDir: await tempDir(t), maxBatchMessages: 0 }), /maxBatchMessages must be a positive integer/);
  });
});
