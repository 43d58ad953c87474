// The broker's record encoder writes exactly what core's encodeStoredMessage writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeProperties, encodeStoredMessage } from '@rocketmq-edge/core/internal';
import { encodeRecord, patchOffsets } from './record.js';

const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
const host = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([ip, p]) => `${ip}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([ip, p]) => `[${ip}]:${p}`),
);

test('encodeRecord = encodeStoredMessage', () => {
  fc.assert(fc.property(
    fc.record({
      topic: fc.string({ minLength: 1, maxLength: 40 }), queueId: i32, flag: i32, queueOffset: long, commitLogOffset: long,
      sysFlag: i32, bornTimestamp: long, bornHost: host, storeTimestamp: long, storeHost: host, reconsumeTimes: i32,
      preparedTransactionOffset: long, body: fc.uint8Array({ maxLength: 300 }),
      properties: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !/[\u0001\u0002]/.test(k) && k !== '__proto__'), fc.string({ maxLength: 20 })),
    }),
    (m) => {
      const propertiesString = encodeProperties(m.properties);
      const expected = encodeStoredMessage({ ...m, propertiesString });
      const got = encodeRecord({ ...m, propertiesString });
      assert.deepEqual(new Uint8Array(got), expected);
      const a = new Uint8Array(expected);
      const v = new DataView(a.buffer);
      patchOffsets(got, m.queueOffset + 1, m.commitLogOffset + 7);
      v.setBigInt64(20, BigInt(m.queueOffset + 1));
      v.setBigInt64(28, BigInt(m.commitLogOffset + 7));
      assert.deepEqual(new Uint8Array(got), a);
    },
  ), { numRuns: 500 });
});
