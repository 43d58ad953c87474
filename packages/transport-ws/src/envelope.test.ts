// The envelope: version 1 byte for byte as before, version 2 with the budget, FRAMES messages
// (version 3) of several envelopes, and malformed input (fuzzed) always a thrown EnvelopeError,
// never anything else.
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
  HEADER_FRAMES,
  decodeEnvelope,
  decodeEnvelopes,
  encodeEnvelope,
  framesWriter,
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

/** What a framesWriter sends for `envs` written in one task (its flush run by hand at the end). */
function written(envs: Uint8Array[], maxBytes: number): Uint8Array[] {
  const sent: Uint8Array[] = [];
  const deferred: (() => void)[] = [];
  const write = framesWriter(maxBytes, (m) => sent.push(m), (f) => deferred.push(f));
  for (const e of envs) write(e);
  for (const f of deferred) f();
  return sent;
}

test('FRAMES: envelopes of one task leave as one message (0x32, then uint32 length + envelope each) and decode back in order', () => {
  const envs = [encodeEnvelope('namesrv', frame, 0, 1500), encodeEnvelope('broker-a@0', frame), encodeEnvelope('broker-a@0', Uint8Array.of(0, 0, 0, 0), 0, 9)];
  const [msg, ...more] = written(envs, 64 * 1024);
  assert.equal(more.length, 0);
  assert.deepEqual(msg, Uint8Array.of(HEADER_FRAMES, ...envs.flatMap((e) => [0, 0, 0, e.length, ...e])));
  assert.deepEqual(decodeEnvelopes(msg!), envs.map((e) => decodeEnvelope(e)));
  assert.deepEqual(decodeEnvelopes(envs[0]!), [decodeEnvelope(envs[0]!)], 'a single envelope is read as before');
});

test('FRAMES writer: a lone envelope goes as itself (not copied); the bound splits; one too large to share goes alone', () => {
  const env = encodeEnvelope('broker-a@0', frame, 0, 10);
  const [lone, ...none] = written([env], 64 * 1024);
  assert.equal(lone, env, 'the very same bytes: a lone send costs nothing');
  assert.equal(none.length, 0);
  // 10 envelopes of 18 bytes, 22 with their length: at most 4 fit a 100-byte message (1 + 4 × 22 = 89)
  const ten = Array.from({ length: 10 }, (_, i) => encodeEnvelope('broker-a@0', Uint8Array.of(0, 0, 0, 0, i, i)));
  const msgs = written(ten, 100);
  assert.deepEqual(msgs.map((m) => m.length), [89, 89, 45]);
  assert.deepEqual(msgs.flatMap((m) => decodeEnvelopes(m)), ten.map((e) => decodeEnvelope(e)), 'order kept across messages');
  const big = encodeEnvelope('broker-a@0', new Uint8Array(200));
  const split = written([ten[0]!, big, ten[1]!, ten[2]!], 100);
  assert.deepEqual(split.map((m) => m[0]), [0x11, 0x11, HEADER_FRAMES]);
  assert.equal(split[1], big);
  // what the writer returns is what it holds, for the gateway's exact outbound bound
  const holds = framesWriter(1000, () => {}, () => {});
  assert.equal(holds(ten[0]!), 22);
  assert.equal(holds(ten[1]!), 44);
});

test('FRAMES decode refuses lying lengths, zero lengths, nesting, an empty message, junk after the last envelope: EnvelopeError', () => {
  const env = encodeEnvelope('broker-a@0', frame);
  const frames = (...parts: number[][]) => Uint8Array.of(HEADER_FRAMES, ...parts.flat());
  const len = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const bad: [string, Uint8Array][] = [
    ['empty', frames()],
    ['length past the end', frames(len(env.length + 1), [...env])],
    ['huge length', frames(len(0xffffffff), [...env])],
    ['zero length', frames(len(0), len(env.length), [...env])],
    ['cut inside a length', frames(len(env.length), [...env], [0, 0])],
    ['nested FRAMES', frames(len(env.length + 5), [HEADER_FRAMES, ...len(env.length), ...env])],
    ['a bad inner envelope', frames(len(3), [0x11, 0, 0])],
  ];
  for (const [what, m] of bad) assert.throws(() => decodeEnvelopes(m), EnvelopeError, what);
  assert.equal(decodeEnvelopes(frames(len(env.length), [...env])).length, 1, 'one envelope is a valid FRAMES message');
});

test('property: FRAMES round trip for any envelopes and bound; any bytes behind 0x32 decode or throw EnvelopeError', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(targetArb, fc.uint8Array({ maxLength: 64 }), budgetArb), { maxLength: 20 }), fc.integer({ min: 16, max: 2000 }), (specs, max) => {
      const envs = specs.map(([t, b, ms]) => encodeEnvelope(t, b, 0, ms));
      const msgs = written(envs, max);
      for (const m of msgs) assert.ok(m.length <= max || (m[0] !== HEADER_FRAMES && envs.includes(m)), 'within the bound, or one envelope alone');
      assert.deepEqual(msgs.flatMap((m) => decodeEnvelopes(m)).map((e) => [e.target, [...e.frame], e.budgetMs]),
        envs.map((e) => decodeEnvelope(e)).map((e) => [e.target, [...e.frame], e.budgetMs]));
    }),
    { numRuns: RUNS },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (m) => void onlyEnvelopeErrors(() => decodeEnvelopes(Uint8Array.of(HEADER_FRAMES, ...m)))), { numRuns: RUNS });
});
