import { capture } from '../../../../test/vectors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageSysFlag } from './constants.js';
import { decompressZlib } from './compression.js';
import { decodeStoredMessages } from './stored.js';

const pullBody = (file: string) => {
  const res = capture(file).response;
  return { bytes: Uint8Array.from(Buffer.from(res.bodyHex, 'hex')), decoded: res.decodedMessages as Record<string, unknown>[] };
};
const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

test('the worked example: first record of 03-consumer-json/0045', () => {
  const [m] = decodeStoredMessages(pullBody('03-consumer-json/0045-broker-PULL_MESSAGE-11-SUCCESS.json').bytes);
  assert.deepEqual({ ...m!, body: new TextDecoder().decode(m!.body) }, {
    topic: 'TopicTest', queueId: 2, flag: 0, queueOffset: 0, commitLogOffset: 0, sysFlag: 0,
    bornTimestamp: 1795485943360, bornHost: '127.0.0.1:40422', storeTimestamp: 1795485943419, storeHost: '127.0.0.1:10911',
    reconsumeTimes: 0, preparedTransactionOffset: 0, body: 'Hello RocketMQ 0',
    properties: { UNIQ_KEY: 'FD00000000000000000000000000000264DC30946E0976E55E400000', CLUSTER: 'DefaultCluster', TAGS: 'TagA' },
    propertiesString: 'UNIQ_KEY\u0001FD00000000000000000000000000000264DC30946E0976E55E400000\u0002CLUSTER\u0001DefaultCluster\u0002TAGS\u0001TagA',
    bodyCRC: 613185359, storeSize: 214,
    msgId: 'FD00000000000000000000000000000264DC30946E0976E55E400000', offsetMsgId: '7F00000100002A9F0000000000000000',
  });
});

for (const file of ['0045-broker-PULL_MESSAGE-11-SUCCESS', '0046-broker-PULL_MESSAGE-11-SUCCESS', '0047-broker-PULL_MESSAGE-11-SUCCESS', '0048-broker-PULL_MESSAGE-11-SUCCESS']) {
  test(`pull body ${file.slice(0, 4)}: every record decodes as captured`, () => {
    const { bytes, decoded } = pullBody(`03-consumer-json/${file}.json`);
    const msgs = decodeStoredMessages(bytes);
    assert.equal(msgs.length, decoded.length);
    msgs.forEach((m, i) => {
      const d = decoded[i]!;
      assert.equal(m.storeSize, d.storeSize);
      assert.equal(m.bodyCRC, d.bodyCRC);
      assert.equal(m.queueOffset, Number(d.queueOffset));
      assert.equal(m.commitLogOffset, Number(d.physicOffset));
      assert.equal(m.sysFlag, d.sysFlag);
      assert.equal(m.bornHost, d.bornHost);
      assert.equal(m.storeHost, d.storeHost);
      assert.equal(m.topic, d.topic);
      assert.deepEqual(m.properties, d.properties);
      assert.equal(m.msgId, m.properties.UNIQ_KEY);
      assert.match(m.offsetMsgId, /^7F00000100002A9F[0-9A-F]{16}$/);
    });
    assert.equal(msgs.reduce((n, m) => n + m.storeSize, 0), bytes.length);
  });
}

test('0045 holds 3 single and 3 batch records; batch records repeat WAIT; CRC is masked to 31 bits', () => {
  const msgs = decodeStoredMessages(pullBody('03-consumer-json/0045-broker-PULL_MESSAGE-11-SUCCESS.json').bytes);
  assert.equal(msgs.length, 6);
  assert.deepEqual(msgs.map((m) => m.storeSize), [214, 214, 214, 250, 250, 250]);
  assert.equal(msgs[3]!.bodyCRC, 0x3e448a64); // raw CRC-32 0xBE448A64
  assert.ok(msgs[3]!.propertiesString!.endsWith('\u0002CLUSTER\u0001DefaultCluster\u0002WAIT\u0001true'));
  assert.equal(msgs[3]!.commitLogOffset, 2382);
  assert.equal(msgs[3]!.queueOffset, 3);
});

test('the compressed record of 0046 keeps sysFlag 769 and its zlib body', async () => {
  const msgs = decodeStoredMessages(pullBody('03-consumer-json/0046-broker-PULL_MESSAGE-11-SUCCESS.json').bytes);
  const c = msgs.find((m) => m.sysFlag & MessageSysFlag.COMPRESSED_FLAG)!;
  assert.equal(c.sysFlag, 769);
  assert.equal((await decompressZlib(c.body)).length, 10011);
});

test('decoding stops at the first undecodable record and never throws', () => {
  const one = pullBody('03-consumer-json/0045-broker-PULL_MESSAGE-11-SUCCESS.json').bytes.subarray(0, 214);
  const two = concat([one, one]);
  assert.equal(decodeStoredMessages(two).length, 2);
  assert.equal(decodeStoredMessages(two.subarray(0, two.length - 1)).length, 1);
  const badMagic = two.slice();
  badMagic[one.length + 4] = 0;
  assert.equal(decodeStoredMessages(badMagic).length, 1);
  const badSize = two.slice();
  new DataView(badSize.buffer).setInt32(0, one.length + 1);
  assert.equal(decodeStoredMessages(badSize).length, 0);
  assert.deepEqual(decodeStoredMessages(new Uint8Array(0)), []);
  assert.deepEqual(decodeStoredMessages(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1])), []);
  assert.deepEqual(decodeStoredMessages(undefined as unknown as Uint8Array), []);
});
