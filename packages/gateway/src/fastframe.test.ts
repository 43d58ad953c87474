import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequest, createResponse, decodeCommand, encodeCommand } from '@rocketmq-edge/core/internal';
import { decodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import { envelopeWithOpaque, peekFrame } from './fastframe.js';

test('peekFrame + envelopeWithOpaque re-emit JSON and binary responses with another opaque, byte for byte otherwise', () => {
  for (const serializeType of ['JSON', 'ROCKETMQ'] as const) {
    for (const [from, to] of [[7, 123456], [987654, 3], [-5, 42], [2147483647, -2147483648]]) {
      const req = createRequest(310, { b: 'topic' }, { serializeType });
      req.opaque = from!;
      const resp = createResponse(req, 0, 'remark with "opaque":1 inside', { msgId: 'M', queueOffset: '9' }, new Uint8Array([1, 2, 3]));
      const frame = encodeCommand(resp);
      const p = peekFrame(frame)!;
      assert.equal(p.opaque, from);
      assert.equal(p.flag, 1);
      assert.equal(p.code, 0);
      const env = decodeEnvelope(new Uint8Array(envelopeWithOpaque(new TextEncoder().encode('broker-a@0'), frame, p, to!)));
      assert.equal(env.target, 'broker-a@0');
      const back = decodeCommand(env.frame);
      assert.deepEqual(back, { ...decodeCommand(frame), opaque: to });
    }
  }
  // ambiguous JSON → no fast path
  const odd = new TextEncoder().encode('{"code":0,"extFields":{"opaque":"1"},"flag":1,"opaque":2}');
  const f = new Uint8Array(4 + odd.length);
  new DataView(f.buffer).setUint32(0, odd.length);
  f.set(odd, 4);
  assert.equal(peekFrame(f), undefined);
  const twice = new TextEncoder().encode('{"code":0,"flag":1,"opaque":2,"remark":"","code":1}');
  const g = new Uint8Array(4 + twice.length);
  new DataView(g.buffer).setUint32(0, twice.length);
  g.set(twice, 4);
  assert.equal(peekFrame(g), undefined, 'a key spelled twice');
});

test('peekRequest: only unambiguous requests take the fast path', async () => {
  const { peekRequest, tcpFrameWithOpaque } = await import('./fastframe.js');
  const mk = (json: string) => {
    const h = new TextEncoder().encode(json);
    const f = new Uint8Array(4 + h.length + 2);
    new DataView(f.buffer).setUint32(0, h.length);
    f.set(h, 4);
    f.set([7, 8], 4 + h.length);
    return f;
  };
  const ok = mk('{"code":310,"extFields":{"b":"t","i":"A\\u0001B"},"flag":0,"language":"JAVA","opaque":12,"serializeTypeCurrentRPC":"JSON","version":409}');
  const p = peekRequest(ok, 12, 'b')!;
  assert.ok(p);
  const tcp = tcpFrameWithOpaque(ok, p, 99999);
  const back = decodeCommand(new Uint8Array(tcp.subarray(4)));
  assert.equal(back.opaque, 99999);
  assert.equal(back.extFields?.b, 't');
  assert.deepEqual([...back.body!], [7, 8]);
  assert.equal(tcp.readUInt32BE(0), tcp.length - 4);
  assert.equal(peekRequest(mk('{"code":310,"extFields":{"b":"t","b":"evil"},"flag":0,"opaque":12}'), 12, 'b'), undefined, 'duplicate topic key');
  assert.equal(peekRequest(mk('{"code":310,"extFields":{"opaque":12},"flag":0,"\\u006fpaque":12}'), 12), undefined, 'escaped key');
  assert.equal(peekRequest(mk('{"code":310,"extFields":{"opaque":"x"},"flag":0,"opaque":12}'), 12), undefined, 'two opaque spellings');
  assert.equal(peekRequest(mk('{"code":310,"flag":0,"opaque":13}'), 12), undefined, 'value differs from the decoded one');
  assert.equal(peekRequest(mk('{"code":310,"extFields":{"i":"x"},"flag":0,"opaque":12}'), 12, 'b'), undefined, 'the authorised key is missing');
  assert.ok(peekRequest(mk('{"code":310,"extFields":{"topic":"t"},"flag":0,"opaque":12}'), 12, 'topic'), 'another authorised key');
});
