import { capture } from '../../../../test/vectors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError } from '../errors.js';
import { decodeBatchBody, encodeBatchBody } from './batch.js';


for (const file of ['02-extra-json/0025-broker-SEND_BATCH_MESSAGE-320-SUCCESS.json', '04-producer-rocketmq/0111-broker-SEND_BATCH_MESSAGE-320-SUCCESS-ROCKETMQ.json']) {
  test(`decodes the captured batch body of ${file.split('/')[0]} into 3 messages and re-encodes it byte-exact`, () => {
    const req = capture(file).request;
    const body = Uint8Array.from(Buffer.from(req.bodyHex, 'hex'));
    const msgs = decodeBatchBody(body, 'TopicTest');
    assert.equal(msgs.length, 3);
    msgs.forEach((m, n) => {
      assert.equal(m.topic, 'TopicTest');
      assert.equal(new TextDecoder().decode(m.body), `Batch message ${n}`);
      assert.equal(m.flag, 0);
      assert.deepEqual(Object.keys(m.properties), ['KEYS', 'UNIQ_KEY', 'WAIT', 'TAGS']);
      assert.equal(m.properties.KEYS, `BATCH-KEY-${n}`);
      if (req.decodedBatch) assert.deepEqual(m.properties, req.decodedBatch[n].properties);
    });
    assert.deepEqual(encodeBatchBody(msgs), body);
  });
}

test('records carry flag and lengths: totalSize = 22 + body + properties', () => {
  const body = encodeBatchBody([{ topic: 'T', body: new Uint8Array([9, 9]), flag: -5, properties: { a: 'b' } }]);
  assert.equal(body.length, 22 + 2 + 3);
  const v = new DataView(body.buffer);
  assert.deepEqual([v.getInt32(0), v.getInt32(4), v.getInt32(8), v.getInt32(12), v.getInt32(16), v.getInt16(22)], [27, 0, 0, -5, 2, 3]);
  assert.deepEqual(decodeBatchBody(encodeBatchBody([])), []);
});

test('malformed batch bodies throw CodecError BAD_BODY', () => {
  const good = encodeBatchBody([{ topic: 'T', body: new Uint8Array([1]), flag: 0, properties: { a: 'b' } }]);
  const bad = (b: Uint8Array) => assert.throws(() => decodeBatchBody(b), (e) => e instanceof CodecError && e.reason === 'BAD_BODY');
  bad(good.subarray(0, good.length - 1));
  bad(new Uint8Array([...good, 0]));
  const wrongSize = good.slice();
  new DataView(wrongSize.buffer).setInt32(0, 999);
  bad(wrongSize);
  const wrongBody = good.slice();
  new DataView(wrongBody.buffer).setInt32(16, -1);
  bad(wrongBody);
});

test('properties over 32767 bytes cannot be encoded', () => {
  assert.throws(() => encodeBatchBody([{ topic: 'T', body: new Uint8Array(1), flag: 0, properties: { a: 'x'.repeat(32766) } }]),
    (e) => e instanceof CodecError && e.reason === 'OVERSIZE');
});

test('more records than maxRecords throw CodecError OVERSIZE, found by walking sizes before decoding anything', () => {
  const msgs = [0, 1, 2].map((i) => ({ topic: 'T', body: new Uint8Array([i]), flag: i, properties: { UNIQ_KEY: `K${i}` } }));
  const body = encodeBatchBody(msgs);
  assert.equal(decodeBatchBody(body, 'T', 3).length, 3);
  const over = (b: Uint8Array, max: number) =>
    assert.throws(() => decodeBatchBody(b, 'T', max), (e) => e instanceof CodecError && e.reason === 'OVERSIZE' && /more than 2 messages/.test(e.message));
  over(body, 2);
  // The walk stops at record maxRecords + 1: a malformed tail beyond it is never reached.
  over(new Uint8Array([...body, ...new Uint8Array(30).fill(0xff)]), 2);
  // 190,650 empty 22-byte records (a 4 MiB body) against a cap of 2.
  const empties = new Uint8Array(Math.floor((4 * 1024 * 1024) / 22) * 22);
  const v = new DataView(empties.buffer);
  for (let p = 0; p < empties.length; p += 22) v.setInt32(p, 22);
  over(empties, 2);
  assert.equal(decodeBatchBody(empties, 'T').length, empties.length / 22);
});
