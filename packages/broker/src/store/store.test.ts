import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeStoredMessages, encodeProperties } from '@rocketmq-edge/core/internal';
import { tempDir } from '../test-support.js';
import { MessageStore, type BoundaryType, type MessageStoreOptions } from './message-store.js';
import { encodeRecord, inspectRecord } from './record.js';

const utf8 = new TextEncoder();

function record(topic: string, queueId: number, body: string, tags = 'TagA'): Uint8Array {
  return encodeRecord({
    topic,
    queueId,
    flag: 0,
    queueOffset: 0,
    commitLogOffset: 0,
    sysFlag: 0,
    bornTimestamp: 1700000000000,
    bornHost: '127.0.0.1:40000',
    storeTimestamp: Date.now(),
    storeHost: '127.0.0.1:10911',
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: utf8.encode(body),
    propertiesString: encodeProperties({ TAGS: tags, UNIQ_KEY: `K-${body}` }),
  });
}

function put(s: MessageStore, topic: string, queueId: number, body: string) {
  return s.put(topic, queueId, record(topic, queueId, body), { TAGS: 'TagA' }, Date.now());
}

function bodies(s: MessageStore, topic: string, queueId: number, from = 0): string[] {
  const out: string[] = [];
  let offset = Math.max(from, s.minOffset(topic, queueId));
  for (;;) {
    const r = s.getMessages(topic, queueId, offset, 64);
    if (r.status !== 'FOUND') return out;
    for (const rec of r.records) for (const m of decodeStoredMessages(rec)) out.push(new TextDecoder().decode(m.body));
    offset = r.nextBeginOffset;
  }
}

const segFiles = (dir: string) => fs.readdirSync(path.join(dir, 'commitlog')).filter((n) => /^\d{20}$/.test(n)).sort();

describe('message store', () => {
  const open = (dir: string, o: Partial<MessageStoreOptions> = {}) => MessageStore.open({ dir, segmentSize: 4096, ...o });

  it('appends and reads back exact records with queue and commit-log offsets filled in', async (t) => {
    const dir = await tempDir(t);
    const s = open(dir);
    t.after(() => s.close());
    const a = put(s, 'T', 0, 'm0');
    const b = put(s, 'T', 0, 'm1');
    const c = put(s, 'T', 1, 'other');
    assert.deepEqual([a.queueOffset, b.queueOffset, c.queueOffset], [0, 1, 0]);
    assert.equal(a.commitLogOffset, 0);
    assert.equal(b.commitLogOffset, a.size);
    const r = s.getMessages('T', 0, 0, 32);
    assert.equal(r.status, 'FOUND');
    assert.equal(r.nextBeginOffset, 2);
    assert.equal(r.maxOffset, 2);
    const [m0, m1] = decodeStoredMessages(Buffer.concat(r.records));
    assert.equal(m0!.queueOffset, 0);
    assert.equal(m1!.commitLogOffset, b.commitLogOffset);
    assert.deepEqual(s.readRecord(b.commitLogOffset), r.records[1]);
    assert.equal(s.getMessages('T', 0, 2, 32).status, 'OFFSET_OVERFLOW_ONE');
    assert.equal(s.getMessages('T', 0, 5, 32).status, 'OFFSET_OVERFLOW_BADLY');
    assert.equal(s.getMessages('T', 7, 0, 32).status, 'NO_MESSAGE_IN_QUEUE');
    assert.equal(s.getMessages('T', 0, 0, 32, (code) => code === 12345).status, 'NO_MATCHED_MESSAGE');
  });

  it('rolls segments, and recovers everything after a restart', async (t) => {
    const dir = await tempDir(t);
    let s = open(dir);
    for (let i = 0; i < 100; i++) put(s, 'T', i % 3, `message-${i}`);
    assert.ok(segFiles(dir).length > 2, 'several segments');
    await s.close();
    s = open(dir);
    t.after(() => s.close());
    const all = [0, 1, 2].flatMap((q) => bodies(s, 'T', q));
    assert.equal(all.length, 100);
    assert.equal(s.maxOffset('T', 0), 34);
    const next = put(s, 'T', 0, 'after-restart');
    assert.equal(next.queueOffset, 34);
  });

  it('cuts a torn tail (record truncated mid-way) and keeps appending', async (t) => {
    const dir = await tempDir(t);
    let s = open(dir, { segmentSize: 1 << 20 });
    for (let i = 0; i < 10; i++) put(s, 'T', 0, `m${i}`);
    await s.close();
    const file = path.join(dir, 'commitlog', segFiles(dir).at(-1)!);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 7); // the last record loses its end
    s = open(dir, { segmentSize: 1 << 20 });
    t.after(() => s.close());
    assert.deepEqual(bodies(s, 'T', 0), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    const r = put(s, 'T', 0, 'new');
    assert.equal(r.queueOffset, 9);
    assert.deepEqual(bodies(s, 'T', 0).at(-1), 'new');
  });

  it('cuts garbage written after the last record', async (t) => {
    const dir = await tempDir(t);
    let s = open(dir, { segmentSize: 1 << 20 });
    for (let i = 0; i < 5; i++) put(s, 'T', 0, `m${i}`);
    await s.close();
    const file = path.join(dir, 'commitlog', segFiles(dir).at(-1)!);
    const before = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.from('\x00\x00\x01\x00garbage garbage garbage'));
    s = open(dir, { segmentSize: 1 << 20 });
    t.after(() => s.close());
    assert.equal(fs.statSync(file).size, before);
    assert.equal(bodies(s, 'T', 0).length, 5);
    put(s, 'T', 0, 'm5');
    assert.equal(bodies(s, 'T', 0).length, 6);
  });

  it('detects a body CRC mismatch and drops the corrupt record and what follows it', async (t) => {
    const dir = await tempDir(t);
    let s = open(dir, { segmentSize: 1 << 20 });
    const rs = Array.from({ length: 4 }, (_, i) => put(s, 'T', 0, `body-${i}`));
    await s.close();
    const file = path.join(dir, 'commitlog', segFiles(dir)[0]!);
    const data = fs.readFileSync(file);
    const third = rs[2]!.commitLogOffset;
    assert.equal(inspectRecord(data, third).ok, true);
    data[third + 88] ^= 0xff; // first body byte of the third record
    assert.deepEqual(inspectRecord(data, third), { ok: false, reason: 'body CRC mismatch' });
    fs.writeFileSync(file, data);
    s = open(dir, { segmentSize: 1 << 20 });
    t.after(() => s.close());
    assert.deepEqual(bodies(s, 'T', 0), ['body-0', 'body-1']);
  });

  it('retention deletes old segments by age and by size; offsets survive a restart', async (t) => {
    const dir = await tempDir(t);
    let s = open(dir, { segmentSize: 1024 });
    for (let i = 0; i < 60; i++) put(s, 'T', 0, `message-number-${i}`);
    const segs = segFiles(dir).length;
    assert.ok(segs > 4);
    // by size: keep at most ~3 KiB
    s.runRetention(Date.now());
    assert.equal(segFiles(dir).length, segs, 'nothing is old or too big with the defaults');
    await s.close();
    s = open(dir, { segmentSize: 1024, maxDiskBytes: 3000 });
    s.runRetention(Date.now());
    const left = segFiles(dir).length;
    assert.ok(left < segs && left >= 1, `${left} of ${segs} segments left`);
    const min = s.minOffset('T', 0);
    assert.ok(min > 0);
    assert.equal(s.getMessages('T', 0, 0, 32).status, 'OFFSET_TOO_SMALL');
    assert.equal(bodies(s, 'T', 0).at(-1), 'message-number-59');
    // by age: everything but the active segment goes
    s.runRetention(Date.now() + 100 * 3600_000);
    assert.equal(segFiles(dir).length, 1);
    await s.close();
    s = open(dir, { segmentSize: 1024 });
    t.after(() => s.close());
    assert.equal(s.maxOffset('T', 0), 60, 'queue offsets continue after retention and restart');
    assert.equal(put(s, 'T', 0, 'next').queueOffset, 60);
  });

  it('SYNC_FLUSH: durable() resolves after fsync; many writes share flushes', async (t) => {
    const dir = await tempDir(t);
    const s = open(dir, { flushDiskType: 'SYNC_FLUSH', segmentSize: 1 << 20 });
    t.after(() => s.close());
    const rs = Array.from({ length: 200 }, (_, i) => put(s, 'T', 0, `x${i}`));
    await Promise.all(rs.map((r) => s.durable(r)));
    assert.equal(s.maxOffset('T', 0), 200);
  });

  it("searches offsets by store time: 4.9.8's nearest message, 5.x's lower and upper boundaries", async (t) => {
    const dir = await tempDir(t);
    const s = open(dir);
    t.after(() => s.close());
    [1000, 1010, 1020, 1020, 1020, 1040].forEach((time, i) => s.put('T', 0, record('T', 0, `m${i}`), {}, time));
    const search = (ts: number, b: BoundaryType) => s.searchOffsetByTime('T', 0, ts, b);
    // 4.9.8 (no boundaryType): the exact time where the binary search meets it, else the closer neighbour, the earlier on a tie.
    assert.deepEqual([0, 1013, 1015, 1016, 1020, 9999].map((ts) => search(ts, 'NEAREST')), [0, 1, 1, 2, 2, 5]);
    // 5.x LOWER: first stored at or after (maxOffset past the end); UPPER: last stored at or before.
    assert.deepEqual([0, 1015, 1020, 1030, 9999].map((ts) => search(ts, 'LOWER')), [0, 2, 2, 5, 6]);
    assert.deepEqual([0, 1015, 1020, 1030, 9999].map((ts) => search(ts, 'UPPER')), [0, 1, 4, 4, 5]);
    assert.equal(s.searchOffsetByTime('none', 0, 1000), 0, 'a queue without messages');
    assert.equal(s.earliestStoreTime('T', 0), 1000);
  });
});
