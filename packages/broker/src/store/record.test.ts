// The broker writes records in RocketMQ's stored layout (MessageDecoder), byte for byte what a real
// 4.9.8 broker stored, so a pull response body is the stored bytes and any RocketMQ client decodes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeStoredMessages, encodeProperties, type MessageExt } from '@rocketmq-edge/core/internal';
import { capture } from '../../../../test/vectors.js';
import { encodeRecord, patchOffsets, type RecordInput } from './record.js';

const input = (m: MessageExt): RecordInput => ({ ...m, propertiesString: m.propertiesString ?? encodeProperties(m.properties) });

for (const file of ['0045', '0046', '0047', '0048']) {
  test(`re-encodes the records of the captured pull body ${file} byte-exact`, () => {
    const name = `03-consumer-json/${file}-broker-PULL_MESSAGE-11-SUCCESS.json`;
    const bytes = Uint8Array.from(Buffer.from(capture(name).response.bodyHex, 'hex'));
    const msgs = decodeStoredMessages(bytes);
    assert.ok(msgs.length > 0);
    assert.deepEqual(new Uint8Array(Buffer.concat(msgs.map((m) => encodeRecord(input(m))))), bytes);
  });
}

test('IPv6 born and store hosts set sysFlag 0x10 / 0x20 and take 16 + 4 bytes each', () => {
  const m: RecordInput = {
    topic: 'T', queueId: 1, flag: 3, queueOffset: 7, commitLogOffset: 2 ** 40, sysFlag: 0x1,
    bornTimestamp: 1795485943360, bornHost: '[fd00::2]:40422', storeTimestamp: 1795485943419, storeHost: '[::1]:10911',
    reconsumeTimes: 2, preparedTransactionOffset: 0, body: new Uint8Array([1, 2, 3]), propertiesString: 'a\u0001b',
  };
  const bytes = encodeRecord(m);
  assert.equal(bytes.length, 91 + 12 + 12 + 3 + 1 + 3);
  const [d] = decodeStoredMessages(new Uint8Array(bytes));
  assert.equal(d!.sysFlag, 0x1 | 0x10 | 0x20);
  assert.deepEqual([d!.bornHost, d!.storeHost, d!.commitLogOffset], ['[fd00::2]:40422', '[::1]:10911', 2 ** 40]);
  assert.equal(d!.offsetMsgId, '0000000000000000000000000000000100002A9F0000010000000000');
  const v4 = decodeStoredMessages(new Uint8Array(encodeRecord({ ...m, bornHost: '10.0.0.1:1', storeHost: '10.0.0.2:2' })))[0]!;
  assert.equal(v4.sysFlag, 0x1);
  assert.equal(v4.storeSize, 91 + 3 + 1 + 3);
});

const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
const host = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([ip, p]) => `${ip}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([ip, p]) => `[${ip}]:${p}`),
);

test('any record decodes back to what was written, also after patching its offsets', () => {
  fc.assert(fc.property(
    fc.record({
      topic: fc.string({ minLength: 1, maxLength: 40 }).filter((t) => new TextEncoder().encode(t).length <= 127),
      queueId: i32, flag: i32, queueOffset: long, commitLogOffset: long,
      sysFlag: i32.map((f) => f & ~0x30), bornTimestamp: long, bornHost: host, storeTimestamp: long, storeHost: host, reconsumeTimes: i32,
      preparedTransactionOffset: long, body: fc.uint8Array({ maxLength: 300 }),
      properties: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !/[\u0001\u0002]/.test(k) && k !== '__proto__'), fc.string({ minLength: 1, maxLength: 20 }).filter((v) => !/[\u0001\u0002]/.test(v))),
    }),
    (m) => {
      const rec = encodeRecord({ ...m, propertiesString: encodeProperties(m.properties) });
      patchOffsets(rec, m.queueOffset + 1, m.commitLogOffset + 7);
      const [d] = decodeStoredMessages(new Uint8Array(rec));
      assert.ok(d, 'decodes');
      const { topic, queueId, flag, bornTimestamp, storeTimestamp, reconsumeTimes, preparedTransactionOffset } = d;
      const properties = { ...d.properties };
      assert.deepEqual(
        { topic, queueId, flag, bornTimestamp, storeTimestamp, reconsumeTimes, preparedTransactionOffset, properties },
        { topic: m.topic, queueId: m.queueId, flag: m.flag, bornTimestamp: m.bornTimestamp, storeTimestamp: m.storeTimestamp,
          reconsumeTimes: m.reconsumeTimes, preparedTransactionOffset: m.preparedTransactionOffset, properties: { ...m.properties } },
      );
      assert.deepEqual([d.queueOffset, d.commitLogOffset, d.sysFlag & ~0x30], [m.queueOffset + 1, m.commitLogOffset + 7, m.sysFlag]);
      assert.deepEqual(d.body, m.body);
    },
  ), { numRuns: 300 });
});
