import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQClientError } from '../errors.js';
import type { WireMessage } from './message.js';
import { isNotAllowedSendTopic, isSystemTopic, validateGroup, validateMessage, validateTopic } from './validators.js';

function throwsCode(fn: () => void, code: number, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MQClientError, String(e));
    assert.equal(e.responseCode, code);
    assert.match(e.message, pattern);
    return true;
  });
}

const wire = (topic: string, body: Uint8Array = new Uint8Array([1])): WireMessage => ({ topic, body, flag: 0, properties: {} });

test('topic: blank, longer than 127, or characters outside [%|a-zA-Z0-9_-] give MQClientError(-1)', () => {
  throwsCode(() => validateTopic(''), -1, /topic is blank/);
  throwsCode(() => validateTopic('   '), -1, /topic is blank/);
  throwsCode(() => validateTopic('a'.repeat(128)), -1, /128 characters long; the limit is 127/);
  throwsCode(() => validateTopic('a b'), -1, /^topic "a b" contains " " at index 1; allowed: letters, digits, %, \|, _ and -$/);
  throwsCode(() => validateTopic('topic.x'), -1, /contains "\." at index 5/);
  throwsCode(() => validateTopic('tópico'), -1, /at index 1/);
  for (const ok of ['TopicTest', 'a'.repeat(127), '%RETRY%group', 'a|b', 'A-b_9', 'SCHEDULE_TOPIC_XXXX']) validateTopic(ok);
});

test('groups allow 255 characters of the same set', () => {
  validateGroup('g'.repeat(255));
  throwsCode(() => validateGroup('g'.repeat(256)), -1, /group .* 256 characters long; the limit is 255/);
  throwsCode(() => validateGroup(''), -1, /group is blank/);
  throwsCode(() => validateGroup('my group'), -1, /group "my group" contains " "/);
});

test('message checks run in Java order: topic, forbidden topic (-1), then body (13)', () => {
  throwsCode(() => validateMessage(wire('bad topic', new Uint8Array(0))), -1, /contains/);
  for (const t of ['SCHEDULE_TOPIC_XXXX', 'RMQ_SYS_TRANS_HALF_TOPIC', 'RMQ_SYS_TRANS_OP_HALF_TOPIC', 'TRANS_CHECK_MAX_TIME_TOPIC', 'SELF_TEST_TOPIC', 'OFFSET_MOVED_EVENT']) {
    throwsCode(() => validateMessage(wire(t, new Uint8Array(0))), -1, /forbidden/);
  }
  throwsCode(() => validateMessage(wire('T', new Uint8Array(0))), 13, /body is empty/);
  throwsCode(() => validateMessage({ ...wire('T'), body: undefined as unknown as Uint8Array }), 13, /body is missing/);
  throwsCode(() => validateMessage(wire('T', new Uint8Array(4194305))), 13, /4194305 bytes; the limit \(maxMessageSize\) is 4194304/);
  validateMessage(wire('T', new Uint8Array(4194304)));
  throwsCode(() => validateMessage(wire('T', new Uint8Array(11)), 10), 13, /limit/);
  validateMessage(wire('TBW102')); // a system topic, but not one the client refuses
});

test('system topics for the broker', () => {
  for (const t of ['TBW102', 'SCHEDULE_TOPIC_XXXX', 'BenchmarkTest', 'RMQ_SYS_TRANS_HALF_TOPIC', 'RMQ_SYS_TRACE_TOPIC', 'OFFSET_MOVED_EVENT', 'rmq_sys_anything']) {
    assert.ok(isSystemTopic(t), t);
  }
  assert.ok(!isSystemTopic('TopicTest'));
  assert.ok(isNotAllowedSendTopic('SELF_TEST_TOPIC'));
  assert.ok(!isNotAllowedSendTopic('TBW102'));
});
