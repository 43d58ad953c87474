// Every frame captured between the Java 4.9.8 client and a real 4.9.8 name server / broker
// decodes to the recorded fields and re-encodes to the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capture, captureFiles } from '../../../../test/vectors.js';
import { decodeCommand, encodeCommand, encodeFrame } from './codec.js';
import { createRequest, createResponse } from './command.js';
import { inJavaOrder } from './hashmap-order.js';
import { parseLenientJson } from './json.js';


interface Side {
  code: number; flag: number; opaque: number; serializeType: 'JSON' | 'ROCKETMQ'; bodyHex: string; frameHex: string;
  bodyText?: string; header: { extFields?: Record<string, string>; extFieldOrder?: string[]; remark?: string; language: string; version: number };
}
const files = captureFiles();
const load = capture;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const withoutPrefix = (frameHex: string) => {
  const all = bytes(frameHex);
  assert.equal(new DataView(all.buffer).getUint32(0), all.length - 4, 'length prefix');
  return all.subarray(4);
};

test('every captured frame decodes to the recorded fields and re-encodes byte-exact', () => {
  let frames = 0;
  for (const file of files) {
    const capture = load(file);
    for (const side of ['request', 'response'] as const) {
      const s: Side | undefined = capture[side];
      if (!s) continue;
      frames++;
      const where = `${file} ${side}`;
      const frame = withoutPrefix(s.frameHex);
      const cmd = decodeCommand(frame);
      assert.equal(cmd.code, s.code, where);
      assert.equal(cmd.flag, s.flag, where);
      assert.equal(cmd.opaque, s.opaque, where);
      assert.equal(cmd.serializeType, s.serializeType, where);
      assert.equal(cmd.language, s.header.language, where);
      assert.equal(cmd.version, s.header.version, where);
      assert.equal(cmd.remark, s.header.remark, where);
      if (s.serializeType === 'ROCKETMQ') {
        assert.deepEqual(cmd.extFields ?? {}, s.header.extFields, where);
        assert.deepEqual(Object.keys(cmd.extFields ?? {}), s.header.extFieldOrder, where);
      } else {
        assert.deepEqual(cmd.extFields, s.header.extFields, where);
        assert.deepEqual(Object.keys(cmd.extFields ?? {}), Object.keys(s.header.extFields ?? {}), where);
      }
      assert.deepEqual(cmd.body ?? new Uint8Array(0), bytes(s.bodyHex), where);
      assert.deepEqual(encodeCommand(cmd), frame, where);
    }
  }
  assert.equal(frames, 203);
});

test('a route request built from scratch equals the captured one (01-producer-json/0003)', () => {
  const req = createRequest(105, { topic: 'TopicTest' });
  req.opaque = 2;
  const captured = load('01-producer-json/0003-namesrv-GET_ROUTEINFO_BY_TOPIC-105-TOPIC_NOT_EXIST.json').request;
  assert.deepEqual(encodeFrame(req), bytes(captured.frameHex));
});

test('a binary-header route request equals the captured one (04-producer-rocketmq/0089, §1.7)', () => {
  const req = createRequest(105, { topic: 'TopicTest' }, { serializeType: 'ROCKETMQ' });
  const captured = load('04-producer-rocketmq/0089-namesrv-GET_ROUTEINFO_BY_TOPIC-105-SUCCESS-ROCKETMQ.json').request;
  assert.deepEqual(encodeFrame(req), bytes(captured.frameHex));
  req.opaque = 1;
  assert.equal(Buffer.from(encodeFrame(req)).toString('hex'),
    '0000002d' + '01000029' + '0069' + '00' + '0199' + '00000001' + '00000000' + '00000000' + '00000014' + '0005746f706963' + '00000009546f70696354657374');
});

test('a V2 send header put through inJavaOrder equals the captured frame (01-producer-json/0006), both directions', () => {
  const capture = load('01-producer-json/0006-broker-SEND_MESSAGE_V2-310-SUCCESS.json');
  const ext: Record<string, string> = capture.request.header.extFields;
  const shuffled = Object.fromEntries(Object.entries(ext).reverse());
  const req = createRequest(310, inJavaOrder(shuffled), { body: bytes(capture.request.bodyHex) });
  req.opaque = 6;
  assert.deepEqual(encodeFrame(req), bytes(capture.request.frameHex));

  const resExt: Record<string, string> = capture.response.header.extFields; // queueId, TRACE_ON, MSG_REGION, msgId, queueOffset
  const fromJava = { msgId: resExt.msgId!, queueId: resExt.queueId!, queueOffset: resExt.queueOffset!, MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' };
  const res = createResponse(req, 0, undefined, inJavaOrder(fromJava));
  assert.deepEqual(encodeFrame(res), bytes(capture.response.frameHex));
});

test('the same send in binary form (04-producer-rocketmq/0092) is rebuilt byte-exact', () => {
  const capture = load('04-producer-rocketmq/0092-broker-SEND_MESSAGE_V2-310-SUCCESS-ROCKETMQ.json');
  const ext: Record<string, string> = capture.request.header.extFields;
  const req = createRequest(310, inJavaOrder(Object.fromEntries(Object.entries(ext).reverse())),
    { body: bytes(capture.request.bodyHex), serializeType: 'ROCKETMQ' });
  req.opaque = capture.request.opaque;
  assert.deepEqual(encodeFrame(req), bytes(capture.request.frameHex));
});

test('route bodies with unquoted integer keys (old name-server form) parse with parseLenientJson', () => {
  let routes = 0;
  for (const file of files) {
    const res = load(file).response;
    if (!res?.bodyText?.includes('"brokerAddrs"')) continue;
    routes++;
    const text: string = res.bodyText;
    const old = text.replace(/"(\d+)":/g, '$1:');
    assert.notEqual(old, text);
    assert.throws(() => JSON.parse(old));
    assert.deepEqual(parseLenientJson(old), JSON.parse(text), file);
  }
  assert.ok(routes >= 10, `only ${routes} route bodies found`);
  assert.deepEqual(parseLenientJson('{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10912"},"s":"{0:\\"x\\"}"}'),
    { brokerAddrs: { 0: '127.0.0.1:10911', 1: '127.0.0.1:10912' }, s: '{0:"x"}' });
  assert.deepEqual(parseLenientJson('{"table":{ -1 : [1, {2:3}]}}'), { table: { '-1': [1, { 2: 3 }] } });
});
