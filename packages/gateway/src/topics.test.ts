// Topic names and topic patterns: RocketMQ's rules first, then a glob match whose cost is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { topicPattern } from './auth.js';
import { MAX_TOPIC_PATTERNS, TOPIC_PATTERN_MAX_LENGTH, globMatch, isValidTopic, topicPatternsProblem, topicRefusalRemark } from './topics.js';

test('isValidTopic: 1–127 characters of [%|a-zA-Z0-9_-], whatever else is tried', () => {
  for (const ok of ['a', 'orders-eu', 'Orders_EU|1%', 'x'.repeat(127)]) assert.equal(isValidTopic(ok), true, ok);
  for (const bad of ['', ' ', 'x'.repeat(128), 'x'.repeat(4 * 1024 * 1024), 'orders.eu', 'orders/eu', 'orders eu', 'orders\u0000',
    'orders\n', 'ordérs', 'orders\u200b', 'orders*', 'orders?', '..', '%2e.']) {
    assert.equal(isValidTopic(bad), false, JSON.stringify(bad.slice(0, 20)));
  }
});

test('a 4 MiB candidate is refused in constant time (length before anything else)', () => {
  const huge = 'orders-' + 'x'.repeat(4 * 1024 * 1024);
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) isValidTopic(huge);
  assert.ok(performance.now() - t0 < 50, `${(performance.now() - t0).toFixed(1)} ms for 1000 checks`);
});

test('globMatch: * any run, ? exactly one, everything else literal; agrees with the RegExp form', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'anything', true], ['orders-*', 'orders-', true], ['orders-*', 'orders-eu', true], ['orders-*', 'orders', false],
    ['orders-?', 'orders-1', true], ['orders-?', 'orders-12', false], ['orders-?', 'orders-', false],
    ['*-eu', 'orders-eu', true], ['*-eu', 'orders-us', false], ['a*b*c', 'abc', true], ['a*b*c', 'aXbYc', true], ['a*b*c', 'acb', false],
    ['demo-events', 'demo-events', true], ['demo-events', 'demo-events2', false], ['**', '', true], ['?*', '', false],
    ['%|x', '%|x', true], ['Orders', 'orders', false],
  ];
  for (const [p, t, want] of cases) assert.equal(globMatch(p, t), want, `${p} ~ ${t}`);
  const alphabet = fc.constantFrom('a', 'b', '-');
  fc.assert(fc.property(
    fc.array(fc.oneof(alphabet, fc.constantFrom('*', '?')), { maxLength: 12 }).map((a) => a.join('')),
    fc.array(alphabet, { maxLength: 16 }).map((a) => a.join('')),
    (p, t) => globMatch(p, t) === topicPattern(p).test(t),
  ), { numRuns: 2000 });
});

test('globMatch stays fast on patterns that make the RegExp form backtrack exponentially', () => {
  const pattern = '*a'.repeat(120) + 'b'; // 241 characters: a valid pattern
  assert.equal(topicPatternsProblem([pattern]), undefined);
  const t0 = performance.now();
  assert.equal(globMatch(pattern, 'a'.repeat(127)), false);
  assert.equal(globMatch('*a*a*a*a*a*a*b', 'a'.repeat(127)), false); // the RegExp form takes minutes on this one
  assert.ok(performance.now() - t0 < 100, `${(performance.now() - t0).toFixed(1)} ms`);
});

test('topicPatternsProblem: at most 100 patterns of at most 255 characters of the topic charset plus * and ?', () => {
  assert.equal(topicPatternsProblem(['orders-*', 'demo-?', '*', '%RETRY%|x_y']), undefined);
  assert.equal(topicPatternsProblem(Array.from({ length: MAX_TOPIC_PATTERNS }, (_, i) => `t${i}`)), undefined);
  assert.equal(topicPatternsProblem(['x'.repeat(TOPIC_PATTERN_MAX_LENGTH)]), undefined);
  const refused: [unknown, RegExp][] = [
    [undefined, /no "topics" claim.*orders-\*/],
    ['orders-*', /no "topics" claim/],
    [[], /no "topics" claim/],
    [{ 0: 'a', length: 1 }, /no "topics" claim/],
    [Array.from({ length: MAX_TOPIC_PATTERNS + 1 }, () => 'a'), /101 patterns; at most 100/],
    [Array.from({ length: 1e6 }, () => 'a'), /1000000 patterns; at most 100/],
    [['x'.repeat(TOPIC_PATTERN_MAX_LENGTH + 1)], /256 characters long; at most 255/],
    [['x'.repeat(4 * 1024 * 1024)], /4194304 characters long/],
    [[''], /\[0\] is not a non-empty string/],
    [['a', 7], /\[1\] is not a non-empty string/],
    [['a', null], /\[1\] is not a non-empty string/],
    [['a', ['b']], /\[1\] is not a non-empty string/],
    [['orders/eu'], /has "\/" at 6; allowed: letters, digits/],
    [['orders eu'], /has " " at 6/],
    [['ordérs'], /"ord\\u00e9rs" has "\\u00e9" at 3/],
    [['a\u0000'], /has "\\u0000" at 1/],
    [['[a-z]*'], /has "\[" at 0/],
  ];
  for (const [claim, re] of refused) {
    const msg = topicPatternsProblem(claim);
    assert.match(msg ?? '(accepted)', re, JSON.stringify(claim)?.slice(0, 60));
    assert.ok(msg!.length <= 120 && /^[\x20-\x7e]*$/.test(msg!), `fits an ASCII close reason: ${msg}`);
  }
});

test('a pattern with "." can never match a topic: refused with the hint to use - or _', () => {
  assert.equal(topicPatternsProblem(['orders.*']),
    'topic pattern "orders.*" never matches: topics have no "."; use orders-* or orders_*');
  assert.match(topicPatternsProblem(['demo-*', 'eu.orders.?'])!, /use eu-orders-\? or eu_orders_\?/);
  const long = topicPatternsProblem(['a.'.repeat(100)])!;
  assert.equal(long, 'topic pattern "a.a.a.a.a.a.a.a...." never matches: topics have no "."; use a-a-a-a-a-a-a-a-... or a_a_a_a_a_a_a_a_...');
  assert.ok(long.length <= 120, `fits a close reason: ${long.length}`);
});

test('topicRefusalRemark: the topic cut short with its length; an invalid topic says why', () => {
  assert.equal(topicRefusalRemark('alice', ['orders-*'], 'payments'),
    'token of "alice" may not use topic "payments": the token\'s "topics" claim [orders-*] does not allow it; ask for a token whose claim covers it');
  const huge = topicRefusalRemark('alice', ['orders-*'], 'orders-' + 'x'.repeat(4 * 1024 * 1024));
  assert.ok(huge.length < 300, `${huge.length} characters`);
  assert.match(huge, /^token of "alice" may not use topic "orders-x+\.\.\." \(4194311 characters\): not a RocketMQ topic \(1 to 127 characters/);
  assert.match(topicRefusalRemark('alice', ['orders-*'], 'orders-' + 'x'.repeat(121)), /\(128 characters\): not a RocketMQ topic/);
  assert.match(topicRefusalRemark('alice', ['orders-*'], 'orders.eu'), /may not use topic "orders\.eu": not a RocketMQ topic/);
  assert.match(topicRefusalRemark('alice', ['*'], 'a\u0000\u00e9'), /"a\\u0000\\u00e9"/);
});
