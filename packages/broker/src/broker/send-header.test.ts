import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest } from '@rocketmq-edge/core/internal';
import { parseSendHeader } from './send-header.js';

const letters = { a: 'pg', b: 'orders-1', c: 'TBW102', d: '4', e: '1', f: '0', g: '1700000000000', h: '7', i: 'TAGS\u0001A', j: '0', k: 'false', m: 'false', n: 'broker-a' };
const v1 = {
  producerGroup: 'pg', topic: 'orders-1', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '1', sysFlag: '0',
  bornTimestamp: '1700000000000', flag: '7', properties: 'TAGS\u0001A', reconsumeTimes: '0', unitMode: 'false', batch: 'false',
};
/** The other spelling of every field, naming somewhere else. */
const v1Decoys = { topic: 'payments', queueId: '3', properties: 'TAGS\u0001B', flag: '9', defaultTopic: 'Other', producerGroup: 'evil' };
const v2Decoys = { b: 'payments', e: '3', i: 'TAGS\u0001B', h: '9', c: 'Other', a: 'evil' };

describe('send header', () => {
  for (const code of [310, 320, 325]) {
    it(`code ${code} reads only the V2 letters: a later "topic", "queueId" or "properties" key changes nothing`, () => {
      const h = parseSendHeader(createRequest(code, { ...letters, ...v1Decoys }));
      assert.equal(h.topic, 'orders-1');
      assert.equal(h.queueId, 1);
      assert.equal(h.properties, 'TAGS\u0001A');
      assert.equal(h.flag, 7);
      assert.equal(h.defaultTopic, 'TBW102');
      assert.equal(h.producerGroup, 'pg');
      // and V1 names alone are not read at all
      assert.equal(parseSendHeader(createRequest(code, v1)).topic, '');
    });
  }

  for (const code of [10, 324]) {
    it(`code ${code} reads only the V1 names: letters change nothing`, () => {
      const h = parseSendHeader(createRequest(code, { ...v1, ...v2Decoys }));
      assert.equal(h.topic, 'orders-1');
      assert.equal(h.queueId, 1);
      assert.equal(h.properties, 'TAGS\u0001A');
      assert.equal(h.flag, 7);
      assert.equal(h.producerGroup, 'pg');
      assert.equal(parseSendHeader(createRequest(code, letters)).topic, '');
    });
  }

  it('ignores unknown keys and keys inherited from Object.prototype', () => {
    const ext = Object.assign(Object.create({ b: 'payments' }) as Record<string, string>, { a: 'pg', zz: 'x' });
    assert.equal(parseSendHeader(createRequest(310, ext)).topic, '');
    assert.equal(parseSendHeader(createRequest(310, { ...letters, zz: 'payments' })).topic, 'orders-1');
  });
});
