// Property-based robustness: decoders given garbage or damaged frames either return a value or throw
// CodecError, never anything else (decodeStoredMessages never throws at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capture, captureFiles } from '../../../../test/vectors.js';
import fc from 'fast-check';
import { CodecError } from '../errors.js';
import { decodeBatchBody } from '../message/batch.js';
import { decompressZlib } from '../message/compression.js';
import { decodeStoredMessages } from '../message/stored.js';
import { decodeCommand, encodeCommand, FrameDecoder } from './codec.js';
import type { RemotingCommand } from './command.js';
import { parseLenientJson } from './json.js';

const RUNS = 2000;
const captures = captureFiles().map(capture);
const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const sides = captures.flatMap((c) => [c.request, c.response].filter(Boolean));
const tcpFrames = sides.map((s) => hex(s.frameHex));
const pullBodies = sides.filter((s) => s.decodedMessages && s.bodyHex).map((s) => hex(s.bodyHex));
const batchBodies = sides.filter((s) => s.decodedBatch).map((s) => hex(s.bodyHex));
const compressed = sides.filter((s) => s.bodyCompressed).map((s) => hex(s.bodyHex));
const jsonBodies = sides.filter((s) => s.bodyText?.startsWith('{')).map((s) => s.bodyText as string);
assert.ok(pullBodies.length && batchBodies.length && compressed.length && jsonBodies.length);

/** Runs fn; a CodecError counts as a clean refusal, any other error fails the property. */
function onlyCodecErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CodecError) return undefined;
    throw e;
  }
}

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'word'; at: number; value: number }
  | { kind: 'splice'; at: number; bytes: Uint8Array };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  // length fields sit at the start of frames/records: bias the offset towards them
  fc.record({ kind: fc.constant('word' as const), at: fc.oneof(fc.constantFrom(0, 4, 8, 16, 20), fc.nat()),
    value: fc.oneof(fc.integer({ min: -1, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
);

function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = src.slice();
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at]! ^= 1 << m.bit;
    else if (m.kind === 'cut') b = b.slice(0, at);
    else if (m.kind === 'word' && at + 4 <= b.length) new DataView(b.buffer).setInt32(at, m.value);
    else if (m.kind === 'splice') b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
  }
  return b;
}
const damaged = (pool: Uint8Array[]) => fc.tuple(fc.constantFrom(...pool), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([src, ms]) => mutate(src, ms));

/** Re-encoding a decoded command and decoding it again gives the same command. */
function assertStable(cmd: RemotingCommand) {
  const norm = (c: RemotingCommand) => ({
    ...c, code: c.code + 0, version: c.version + 0, opaque: c.opaque + 0, flag: c.flag + 0,
    extFields: c.extFields && Object.keys(c.extFields).length ? c.extFields : undefined,
  });
  assert.deepEqual(norm(decodeCommand(encodeCommand(cmd))), norm(cmd));
}

test('decodeCommand: arbitrary bytes return or throw CodecError', () => {
  const frameOf = fc.tuple(fc.constantFrom(0, 1, 2, 0xff), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }))
    .map(([type, header, body]) => {
      const f = new Uint8Array(4 + header.length + body.length);
      new DataView(f.buffer).setUint32(0, (type << 24) | header.length);
      f.set(header, 4); f.set(body, 4 + header.length);
      return f;
    });
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), frameOf), (bytes) => {
    const cmd = onlyCodecErrors(() => decodeCommand(bytes));
    if (cmd) assertStable(cmd);
  }), { numRuns: RUNS });
});

test('decodeCommand: damaged captured frames return or throw CodecError, and what decodes re-encodes stably', () => {
  fc.assert(fc.property(damaged(tcpFrames.map((f) => f.subarray(4))), (frame) => {
    const cmd = onlyCodecErrors(() => decodeCommand(frame));
    if (cmd) assertStable(cmd);
  }), { numRuns: RUNS });
});

test('FrameDecoder: damaged streams in arbitrary chunks yield frames or throw CodecError', () => {
  const stream = fc.array(damaged(tcpFrames), { minLength: 1, maxLength: 4 })
    .map((fs) => Uint8Array.from(fs.flatMap((f) => [...f])));
  fc.assert(fc.property(stream, fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 20 }), (bytes, cuts) => {
    const dec = new FrameDecoder(64 * 1024);
    let p = 0, i = 0, total = 0;
    while (p < bytes.length) {
      const n = cuts[i++ % cuts.length]!;
      const frames = onlyCodecErrors(() => dec.push(bytes.subarray(p, p + n)));
      if (!frames) return; // the connection would be closed
      for (const f of frames) { total += f.length + 4; onlyCodecErrors(() => decodeCommand(f)); }
      if (dec.error) return; // good frames delivered, then the connection would be closed
      p += n;
    }
    assert.equal(total + dec.pending, bytes.length);
  }), { numRuns: RUNS });
});

test('decodeStoredMessages never throws, on garbage or damaged pull bodies', () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), damaged(pullBodies)), (bytes) => {
    const msgs = decodeStoredMessages(bytes);
    assert.ok(msgs.reduce((n, m) => n + m.storeSize, 0) <= bytes.length);
  }), { numRuns: RUNS });
});

test('decodeBatchBody: garbage or damaged batch bodies return or throw CodecError', () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), damaged(batchBodies)), (bytes) => {
    onlyCodecErrors(() => decodeBatchBody(bytes));
  }), { numRuns: RUNS });
});

test('parseLenientJson: arbitrary and damaged text return or throw CodecError; valid JSON parses as JSON.parse', () => {
  const damagedText = fc.tuple(fc.constantFrom(...jsonBodies), fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 4 }))
    .map(([t, at, del, ins]) => t.slice(0, at % t.length) + ins + t.slice((at % t.length) + del));
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), damagedText), (text) => {
    onlyCodecErrors(() => parseLenientJson(text));
  }), { numRuns: RUNS });
  fc.assert(fc.property(fc.json(), (text) => {
    assert.deepEqual(parseLenientJson(text), JSON.parse(text));
  }), { numRuns: RUNS / 4 });
});

test('decompressZlib: damaged compressed bodies resolve or reject with CodecError', async () => {
  await fc.assert(fc.asyncProperty(damaged(compressed), async (bytes) => {
    try {
      await decompressZlib(bytes, 1 << 20);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
    }
  }), { numRuns: 200 });
});
