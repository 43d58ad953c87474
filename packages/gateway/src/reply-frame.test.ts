// Upstream answers re-emitted with only the opaque changed, byte for byte otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequest, createResponse, decodeCommand, encodeCommand } from '@rocketmq-edge/core/internal';
import { decodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import { envelopeWithOpaque } from './reply-frame.js';

test('JSON and binary answers keep every byte but the opaque, whatever its number of digits', () => {
  for (const serializeType of ['JSON', 'ROCKETMQ'] as const) {
    for (const [from, to] of [[7, 123456], [2147483647, 1], [5, -3]]) {
      const req = createRequest(310, {}, { serializeType });
      req.opaque = from!;
      const resp = createResponse(req, 0, 'stored "opaque":7 in a remark', { msgId: 'M', queueId: '1', queueOffset: '9' }, new Uint8Array([1, 2, 3]));
      const out = envelopeWithOpaque('broker-a@0', encodeCommand(resp), from!, to!)!;
      const env = decodeEnvelope(out);
      assert.equal(env.target, 'broker-a@0');
      const plain = (f: Uint8Array) => ({ ...decodeCommand(f), body: [...decodeCommand(f).body!] });
      assert.deepEqual(plain(env.frame), { ...plain(encodeCommand(resp)), opaque: to });
    }
  }
});

test('an opaque that is not where the decode found it, or appears twice, is left to re-encoding', () => {
  const enc = new TextEncoder();
  const frame = (header: string) => {
    const h = enc.encode(header);
    const f = new Uint8Array(4 + h.length);
    f[3] = h.length;
    f.set(h, 4);
    return f;
  };
  assert.equal(envelopeWithOpaque('namesrv', frame('{"code":0,"flag":1,"opaque":5,"x":{"opaque":5}}'), 5, 9), undefined);
  assert.equal(envelopeWithOpaque('namesrv', frame('{"code":0,"flag":1,"opaque":55}'), 5, 9), undefined);
  assert.ok(envelopeWithOpaque('namesrv', frame('{"code":0,"flag":1,"opaque":5}'), 5, 9));
});
