import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, type CodecErrorReason } from '../errors.js';
import { DEFAULT_MAX_FRAME_SIZE, decodeCommand, encodeCommand, encodeFrame, encodeJsonHeader, FrameDecoder } from './codec.js';
import { createRequest, createResponse, FLAG_ONEWAY, type RemotingCommand } from './command.js';
import { fastjsonString, parseLenientJson } from './json.js';

const utf8 = new TextEncoder();

function codecError(reason: CodecErrorReason, pattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected CodecError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

/** A frame (without TCP prefix) with the given type byte and raw header bytes. */
function rawFrame(type: number, header: Uint8Array, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + header.length + body.length);
  new DataView(out.buffer).setUint32(0, (type << 24) | header.length);
  out.set(header, 4);
  out.set(body, 4 + header.length);
  return out;
}

/** A binary header built field by field, for overrun cases. */
function binaryHeader(parts: { remarkLen?: number; remark?: Uint8Array; mapLen?: number; map?: Uint8Array; trailing?: number }): Uint8Array {
  const remark = parts.remark ?? new Uint8Array(0);
  const map = parts.map ?? new Uint8Array(0);
  const out = new Uint8Array(17 + remark.length + 4 + map.length + (parts.trailing ?? 0));
  const v = new DataView(out.buffer);
  v.setInt16(0, 105); v.setUint8(2, 0); v.setInt16(3, 409); v.setInt32(5, 1); v.setInt32(9, 0);
  v.setInt32(13, parts.remarkLen ?? remark.length);
  out.set(remark, 17);
  v.setInt32(17 + remark.length, parts.mapLen ?? map.length);
  out.set(map, 21 + remark.length);
  return out;
}

function mapEntry(key: string, value: string, keyLen?: number, valueLen?: number): Uint8Array {
  const k = utf8.encode(key), val = utf8.encode(value);
  const out = new Uint8Array(2 + k.length + 4 + val.length);
  const v = new DataView(out.buffer);
  v.setInt16(0, keyLen ?? k.length); out.set(k, 2);
  v.setInt32(2 + k.length, valueLen ?? val.length); out.set(val, 6 + k.length);
  return out;
}

test('commands round-trip in both serializations, with remark, unicode/control characters and body', () => {
  for (const serializeType of ['JSON', 'ROCKETMQ'] as const) {
    const req = createRequest(310, { b: 'Tópic', i: 'UNIQ_KEY\u0001X\u0002WAIT\u0001true', '"q"': '\\' },
      { body: new Uint8Array([0, 1, 255]), serializeType, oneway: true });
    req.opaque = -7;
    const back = decodeCommand(encodeCommand(req));
    assert.deepEqual(back, req);
    assert.equal(back.flag, FLAG_ONEWAY);
    const res = createResponse(req, 1, 'système: échec\n', { k: 'v' });
    assert.deepEqual(decodeCommand(encodeCommand(res)), res);
  }
  const bare = createRequest(34);
  assert.deepEqual(decodeCommand(encodeCommand(bare)), bare); // no extFields key at all
  const empty = createRequest(34, {});
  assert.deepEqual(decodeCommand(encodeCommand(empty)).extFields, {});
});

test('the JSON header is written the way fastjson writes it (sorted fields, uppercase \\u escapes)', () => {
  const req = createRequest(310, { i: 'A\u0001B' });
  assert.equal(encodeJsonHeader(req),
    '{"code":310,"extFields":{"i":"A\\u0001B"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":409}');
  const frame = encodeFrame(req);
  assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4);
});

test('fastjson string escapes: upper-case hex letters; an escaped backslash before "u00ab" stays text', () => {
  assert.equal(fastjsonString('plain ünïcode'), '"plain ünïcode"');
  assert.equal(fastjsonString('a\u001fb\u0001'), '"a\\u001Fb\\u0001"');
  assert.equal(fastjsonString('\ud800'), '"\\uD800"'); // lone surrogate
  assert.equal(fastjsonString('q"\\u00ab\n'), '"q\\"\\\\u00ab\\n"');
  for (const s of ['x\u001ey', 'back\\slash \\u00ff', '\u0002\t"']) assert.equal(JSON.parse(fastjsonString(s)), s);
});

test('encodeCommand with headroom: the same frame, starting that many bytes into a buffer of its own', () => {
  const req = createRequest(310, { b: 'TopicA' }, { body: new Uint8Array([1, 2, 3]) });
  const plain = encodeCommand(req);
  const roomy = encodeCommand(req, 6);
  assert.equal(roomy.byteOffset, 6);
  assert.equal(roomy.buffer.byteLength, 6 + plain.length);
  assert.deepEqual(roomy, plain);
  const bin = { ...req, serializeType: 'ROCKETMQ' as const };
  assert.deepEqual(encodeCommand(bin, 4), encodeCommand(bin));
});

test('truncated frames: shorter than 4 bytes, or a header length beyond the frame', () => {
  for (const n of [0, 1, 3]) assert.throws(() => decodeCommand(new Uint8Array(n)), codecError('TRUNCATED'));
  const ok = encodeCommand(createRequest(105, { topic: 'T' }));
  assert.throws(() => decodeCommand(ok.subarray(0, ok.length - 1)), codecError('TRUNCATED', /header length \d+ exceeds/));
});

test('oversized frames are refused before decoding', () => {
  const ok = encodeCommand(createRequest(105, { topic: 'T' }, { body: new Uint8Array(100) }));
  assert.throws(() => decodeCommand(ok, { maxFrameSize: ok.length - 1 }), codecError('OVERSIZE'));
  decodeCommand(ok, { maxFrameSize: ok.length });
  assert.equal(DEFAULT_MAX_FRAME_SIZE, 16 * 1024 * 1024);
});

test('unknown serialize types', () => {
  for (const type of [2, 0x7f, 0xff]) {
    assert.throws(() => decodeCommand(rawFrame(type, utf8.encode('{}'))), codecError('BAD_SERIALIZE_TYPE', new RegExp(`type ${type}`)));
  }
});

test('bad JSON headers', () => {
  const bad = (text: string, pattern?: RegExp) => assert.throws(() => decodeCommand(rawFrame(0, utf8.encode(text))), codecError('BAD_HEADER', pattern));
  bad('{"code":105', /does not parse/);
  bad('', /does not parse/);
  bad('[1,2]', /not an object/);
  bad('null', /not an object/);
  bad('{"flag":0}', /lacks "code"/);
  bad('{"code":1.5}', /not an integer/);
  bad('{"code":"x"}', /not an integer/);
  bad('{"code":1,"opaque":true}', /opaque/);
  bad('{"code":1,"extFields":[1]}', /extFields/);
  bad('{"code":1,"extFields":"a"}', /extFields/);
  const lenient = decodeCommand(rawFrame(0, utf8.encode('{"code":"105","language":0,"extFields":{"n":5,"z":null,"o":{"a":1}}}')));
  assert.equal(lenient.code, 105);
  assert.equal(lenient.language, 'JAVA');
  assert.deepEqual(lenient.extFields, { n: '5', o: '{"a":1}' });
});

test('binary header overruns', () => {
  const bad = (header: Uint8Array, pattern: RegExp) => assert.throws(() => decodeCommand(rawFrame(1, header)), codecError('BAD_HEADER', pattern));
  bad(binaryHeader({}).subarray(0, 16), /fixed fields/);
  bad(binaryHeader({ remarkLen: 100 }), /remark/);
  bad(binaryHeader({ remarkLen: -1 }), /remark/);
  bad(binaryHeader({}).subarray(0, 19), /extFields length/);
  bad(binaryHeader({ mapLen: 50 }), /extFields/);
  bad(binaryHeader({ mapLen: -5 }), /extFields/);
  bad(binaryHeader({ map: mapEntry('topic', 'T', 40) }), /key overruns/);
  bad(binaryHeader({ map: mapEntry('topic', 'T', -1) }), /key overruns/);
  bad(binaryHeader({ map: mapEntry('topic', 'T', undefined, 40) }), /value overruns/);
  bad(binaryHeader({ map: mapEntry('topic', 'T', undefined, -2) }), /value overruns/);
  bad(binaryHeader({ map: new Uint8Array([0]) }), /key length/);
  bad(binaryHeader({ trailing: 3 }), /3 trailing bytes/);
  const ok = decodeCommand(rawFrame(1, binaryHeader({ remark: utf8.encode('hi'), map: mapEntry('topic', 'T') })));
  assert.deepEqual([ok.remark, ok.extFields], ['hi', { topic: 'T' }]);
});

test('FrameDecoder splits a stream delivered byte by byte and in big chunks', () => {
  const cmds: RemotingCommand[] = [];
  for (let i = 0; i < 30; i++) {
    const c = createRequest(105 + i, { topic: `T${i}` }, { ...(i ? { body: new Uint8Array(i * 37).fill(i) } : {}), serializeType: i % 2 ? 'ROCKETMQ' : 'JSON' });
    c.opaque = i;
    cmds.push(c);
  }
  const encoded = cmds.map((c) => encodeFrame(c));
  const stream = Uint8Array.from(encoded.flatMap((f) => [...f]));
  const expected = cmds.map((c) => encodeCommand(c));
  for (const chunk of [1, 3, 7, 64, 1000, stream.length]) {
    const dec = new FrameDecoder();
    const frames: Uint8Array[] = [];
    for (let p = 0; p < stream.length; p += chunk) frames.push(...dec.push(stream.subarray(p, p + chunk)));
    assert.deepEqual(frames, expected, `chunk ${chunk}`);
    assert.equal(dec.pending, 0);
    assert.deepEqual(frames.map((f) => decodeCommand(f)), cmds);
  }
  const dec = new FrameDecoder();
  assert.deepEqual(dec.push(encoded[0]!.subarray(0, 10)), []);
  assert.equal(dec.pending, 10);
});

test('FrameDecoder rejects lengths below 4 and above its limit', () => {
  for (const len of [0, 1, 3]) {
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setUint32(0, len);
    assert.throws(() => new FrameDecoder().push(bad), codecError('BAD_LENGTH'));
  }
  const big = new Uint8Array(4);
  new DataView(big.buffer).setUint32(0, 1025);
  assert.throws(() => new FrameDecoder(1024).push(big), codecError('OVERSIZE'));
  new DataView(big.buffer).setUint32(0, 0xffffffff);
  assert.throws(() => new FrameDecoder().push(big), codecError('OVERSIZE'));
  new DataView(big.buffer).setUint32(0, 1024);
  assert.deepEqual(new FrameDecoder(1024).push(big), []); // exactly the limit: waits for the rest
});

test('FrameDecoder hands out the good frames before a bad length, then reports the error', () => {
  const good = createRequest(105, { topic: 'T' });
  const bad = new Uint8Array(4); // length 0
  const chunk = Uint8Array.from([...encodeFrame(good), ...encodeFrame(good), ...bad]);
  const dec = new FrameDecoder();
  assert.deepEqual(dec.push(chunk), [encodeCommand(good), encodeCommand(good)]);
  assert.ok(dec.error instanceof CodecError && dec.error.reason === 'BAD_LENGTH');
  assert.throws(() => dec.push(encodeFrame(good)), codecError('BAD_LENGTH'));
});

test('parseLenientJson throws CodecError BAD_BODY for text that is not JSON even after quoting keys', () => {
  assert.throws(() => parseLenientJson('{0:'), codecError('BAD_BODY'));
  assert.throws(() => parseLenientJson('nope'), codecError('BAD_BODY'));
  assert.deepEqual(parseLenientJson('[{1:2}]'), [{ 1: 2 }]);
});
