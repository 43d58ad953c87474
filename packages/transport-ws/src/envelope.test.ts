// The envelope: version 1 byte for byte as before, version 2 with the budget, and malformed input
// (fuzzed) always a thrown EnvelopeError, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BUDGET_BYTES,
  EnvelopeError,
  HEADER_V1,
  HEADER_V2,
  MAX_BUDGET_MS,
  MAX_TARGET_BYTES,
  decodeEnvelope,
  encodeEnvelope,
} from './envelope.js';

const RUNS = 2000;
const utf8 = (s: string) => new TextEncoder().encode(s);
const frame = Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7d, 9, 9); // [type|len][{}][body]

/** Runs fn; an EnvelopeError counts as a clean refusal, any other error fails the property. */
function onlyEnvelopeErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EnvelopeError) return undefined;
    throw e;
  }
}

/** `frame` placed `room` bytes into a buffer of its own, as core encodes frames. */
function withRoom(room: number, bytes: Uint8Array = frame): Uint8Array {
  const f = new Uint8Array(room + bytes.length).subarray(room);
  f.set(bytes);
  return f;
}

test('version 1 (no budget) is byte for byte what it always was, and decodes with budgetMs undefined', () => {
  const target = 'broker-a@0';
  const expected = Uint8Array.of(0x11, target.length, ...utf8(target), ...frame);
  assert.deepEqual(encodeEnvelope(target, frame), expected);
  assert.deepEqual(encodeEnvelope(target, withRoom(2 + target.length), 2 + target.length), expected);
  assert.deepEqual(decodeEnvelope(expected), { kind: 1, target, frame, budgetMs: undefined });
  assert.equal(HEADER_V1, 0x11);
});

test('version 2 round trip: 0x21, the target, the budget as uint32 big-endian, then the frame', () => {
  const target = 'namesrv';
  const bytes = encodeEnvelope(target, frame, 0, 1500);
  assert.deepEqual(bytes, Uint8Array.of(0x21, 7, ...utf8(target), 0, 0, 0x05, 0xdc, ...frame));
  assert.equal(HEADER_V2, 0x21);
  assert.deepEqual(decodeEnvelope(bytes), { kind: 1, target, frame, budgetMs: 1500 });
  // 0 = no deadline: still version 2 on the wire, undefined when decoded
  const none = encodeEnvelope(target, frame, 0, 0);
  assert.deepEqual([...none.subarray(0, 2 + 7 + 4)], [0x21, 7, ...utf8(target), 0, 0, 0, 0]);
  assert.equal(decodeEnvelope(none).budgetMs, undefined);
  // the whole range, rounded up to whole ms, capped; negative and NaN mean no deadline
  const budgetOf = (ms: number) => decodeEnvelope(encodeEnvelope(target, frame, 0, ms)).budgetMs;
  assert.equal(budgetOf(MAX_BUDGET_MS), 0xffffffff);
  assert.equal(budgetOf(2 ** 40), MAX_BUDGET_MS);
  assert.equal(budgetOf(Infinity), MAX_BUDGET_MS);
  assert.equal(budgetOf(0.2), 1, 'a fraction of a millisecond is still a deadline');
  assert.equal(budgetOf(1499.5), 1500);
  assert.equal(budgetOf(-5), undefined);
  assert.equal(budgetOf(NaN), undefined);
  // an empty frame is allowed, as in version 1
  assert.deepEqual(decodeEnvelope(encodeEnvelope(target, new Uint8Array(0), 0, 7)).frame, new Uint8Array(0));
});

test('version 2 goes into the headroom when the 4 budget bytes fit too, else the frame is copied', () => {
  const target = 'broker-b@1';
  const h = 2 + target.length + BUDGET_BYTES;
  const roomy = withRoom(h);
  const inPlace = encodeEnvelope(target, roomy, h, 3000);
  assert.equal(inPlace.buffer, roomy.buffer, 'written in place');
  assert.equal(inPlace.byteOffset, 0);
  assert.deepEqual(decodeEnvelope(inPlace), { kind: 1, target, frame, budgetMs: 3000 });
  const tight = withRoom(h - 1);
  const copied = encodeEnvelope(target, tight, h - 1, 3000);
  assert.notEqual(copied.buffer, tight.buffer, 'too little room (a version-1 header fits, the budget does not): a copy');
  assert.deepEqual(decodeEnvelope(copied), { kind: 1, target, frame, budgetMs: 3000 });
});

test('a truncated budget, a bad header, an empty target, a short message: EnvelopeError', () => {
  const v2 = encodeEnvelope('namesrv', frame, 0, 1500);
  for (let cut = 0; cut < 2 + 7 + BUDGET_BYTES; cut++) {
    assert.throws(() => decodeEnvelope(v2.subarray(0, cut)), EnvelopeError, `cut at ${cut}`);
  }
  assert.deepEqual(decodeEnvelope(v2.subarray(0, 2 + 7 + BUDGET_BYTES)).frame, new Uint8Array(0), 'budget complete, frame empty');
  for (const header of [0x00, 0x10, 0x12, 0x20, 0x22, 0x31, 0xff]) {
    assert.throws(() => decodeEnvelope(Uint8Array.of(header, 1, 0x61, 0, 0, 0, 0)), EnvelopeError, `header ${header}`);
  }
  assert.throws(() => decodeEnvelope(Uint8Array.of(0x21, 0, 0, 0, 0, 0)), EnvelopeError, 'empty target');
  assert.throws(() => decodeEnvelope(new Uint8Array(0)), EnvelopeError);
  assert.throws(() => decodeEnvelope(Uint8Array.of(0x21, 2, 0xc3, 0x28, 0, 0, 0, 1)), EnvelopeError, 'target not UTF-8');
});

const targetArb = fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }).filter((s) => {
  const n = utf8(s).length;
  return n >= 1 && n <= MAX_TARGET_BYTES;
});
const budgetArb = fc.option(fc.integer({ min: 0, max: MAX_BUDGET_MS }), { nil: undefined });

test('property: encode then decode gives back target, frame and budget, for both versions, in place or copied', () => {
  fc.assert(
    fc.property(targetArb, fc.uint8Array({ maxLength: 64 }), budgetArb, fc.nat(40), (target, bytes, budgetMs, room) => {
      const f = withRoom(room, bytes);
      const env = encodeEnvelope(target, f, room, budgetMs);
      const h = 2 + utf8(target).length + (budgetMs === undefined ? 0 : BUDGET_BYTES);
      assert.equal(env.length, h + bytes.length);
      assert.equal(env[0], budgetMs === undefined ? 0x11 : 0x21);
      assert.equal(env.buffer === f.buffer, room >= h);
      const d = decodeEnvelope(env);
      assert.equal(d.target, target);
      assert.deepEqual(d.frame, bytes);
      assert.equal(d.budgetMs, budgetMs || undefined);
    }),
    { numRuns: RUNS },
  );
});

test('property: any bytes, and damaged or cut valid envelopes of either version, decode or throw EnvelopeError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (m) => void onlyEnvelopeErrors(() => decodeEnvelope(m))), { numRuns: RUNS });
  // random bytes behind a plausible header reach the target and budget checks
  fc.assert(
    fc.property(fc.constantFrom(0x11, 0x21), fc.nat(255), fc.uint8Array({ maxLength: 300 }), (header, n, rest) => {
      void onlyEnvelopeErrors(() => decodeEnvelope(Uint8Array.of(header, n, ...rest)));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(targetArb, budgetArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (target, budgetMs, cut, at, value) => {
      const env = encodeEnvelope(target, frame, 0, budgetMs);
      const damaged = env.slice();
      damaged[at % env.length] = value;
      void onlyEnvelopeErrors(() => decodeEnvelope(damaged));
      const h = env.length - frame.length;
      const short = env.subarray(0, cut % h);
      assert.throws(() => decodeEnvelope(short), EnvelopeError, 'cut inside the header');
    }),
    { numRuns: RUNS },
  );
});
