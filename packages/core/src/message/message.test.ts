import { capture } from '../../../../test/vectors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQClientError } from '../errors.js';
import { MessageConst } from './constants.js';
import { toWireMessage, type Message } from './message.js';
import { encodeProperties } from './properties.js';
import { setUniqKeyIfAbsent } from './uniq-id.js';

const capturedProps = (file: string): string => capture(file).request.header.extFields.i;
const uniqOf = (props: string) => /UNIQ_KEY\u0001([0-9A-F]+)/.exec(props)![1]!;

/** What the Java producer does: Message(...) fields, then UNIQ_KEY added (with the captured value). */
function rebuild(msg: Message, uniq: string): string {
  const wire = toWireMessage(msg);
  assert.equal(setUniqKeyIfAbsent(wire, uniq), uniq);
  return encodeProperties(wire.properties);
}

const cases: [string, Message][] = [
  ['01-producer-json/0006-broker-SEND_MESSAGE_V2-310-SUCCESS.json', { topic: 'TopicTest', body: 'Hello RocketMQ 0', tags: 'TagA' }],
  ['02-extra-json/0023-broker-SEND_MESSAGE_V2-310-SUCCESS.json', { topic: 'TopicNewJson', body: 'first message on a new topic', tags: 'TagN', keys: 'KEY-NEW' }],
  ['02-extra-json/0026-broker-SEND_MESSAGE_V2-310-SUCCESS.json',
    { topic: 'TopicTest', body: 'x', tags: 'TagC', keys: 'BIG-KEY', properties: { customProp: 'customValue' } }],
  ['02-extra-json/0027-broker-SEND_MESSAGE_V2-310-SUCCESS.json', { topic: 'TopicTest', body: 'delayed message', tags: 'TagD', keys: ['DELAY-KEY'], delayLevel: 1 }],
  ['02-extra-json/0028-broker-SEND_MESSAGE_V2-310-ONEWAY.json', { topic: 'TopicTest', body: 'oneway message', tags: 'TagE' }],
  ['04-producer-rocketmq/0112-broker-SEND_MESSAGE_V2-310-SUCCESS-ROCKETMQ.json',
    { topic: 'TopicTest', body: 'x', tags: 'TagC', keys: 'BIG-KEY', properties: { customProp: 'customValue' } }],
];

test('property strings rebuilt from the captured inputs equal the Java producer\'s exactly', () => {
  for (const [file, msg] of cases) {
    const expected = capturedProps(file);
    assert.equal(rebuild(msg, uniqOf(expected)), expected, file);
  }
});

test('batch records rebuild the captured per-message property strings', () => {
  const batch = capture('02-extra-json/0025-broker-SEND_BATCH_MESSAGE-320-SUCCESS.json').request.decodedBatch as { properties: Record<string, string> }[];
  batch.forEach((rec, n) => {
    const expected = `KEYS\u0001BATCH-KEY-${n}\u0002UNIQ_KEY\u0001${rec.properties.UNIQ_KEY}\u0002WAIT\u0001true\u0002TAGS\u0001TagB`;
    assert.equal(rebuild({ topic: 'TopicTest', body: `Batch message ${n}`, tags: 'TagB', keys: `BATCH-KEY-${n}` }, rec.properties.UNIQ_KEY!), expected);
  });
});

test('many properties follow java.util.HashMap order (resize to 64, hash collisions in insertion order)', () => {
  // Printed by java.util.HashMap (JDK) after put(TAGS, KEYS, WAIT, DELAY, <names in order>, UNIQ_KEY).
  const names = ['customProp', 'orderId', 'Aa', 'BB', 'region', 'x', 'y', 'z', 'tenant', 'traceId', 'spanId', 'a1', 'b2', 'c3',
    'userId', 'AaAa', 'BBBB', 'AaBB', 'BBAa', '__proto__'];
  const properties: Record<string, string> = {};
  for (const n of names) Object.defineProperty(properties, n, { value: 'v', enumerable: true });
  const wire = toWireMessage({ topic: 'T', body: 'b', tags: 't', keys: 'k', delayLevel: 3, properties });
  setUniqKeyIfAbsent(wire, 'U');
  assert.equal(Object.keys(wire.properties).join(','),
    'Aa,BB,customProp,orderId,spanId,b2,KEYS,UNIQ_KEY,WAIT,tenant,AaAa,BBBB,AaBB,BBAa,traceId,__proto__,userId,a1,c3,x,y,z,region,DELAY,TAGS');
  assert.equal(Object.getPrototypeOf(wire.properties), Object.prototype);
});

test('fields map to TAGS, KEYS (space-joined), WAIT, DELAY, TIMER_DELIVER_MS; body text is UTF-8', () => {
  const w = toWireMessage({ topic: 'T', body: 'héllo', keys: ['k1', 'k2', 'k3'], waitStoreMsgOK: false, deliverTimeMs: 1795485943360, flag: 7 });
  assert.deepEqual(w.properties, { KEYS: 'k1 k2 k3', WAIT: 'false', TIMER_DELIVER_MS: '1795485943360' });
  assert.deepEqual(w.body, new TextEncoder().encode('héllo'));
  assert.equal(w.flag, 7);
  const plain = toWireMessage({ topic: 'T', body: new Uint8Array([1]), tags: '', keys: [] , delayLevel: 0 });
  assert.deepEqual(plain.properties, { WAIT: 'true' });
  assert.equal(plain.flag, 0);
});

test('setUniqKeyIfAbsent keeps an existing UNIQ_KEY (retries keep their id) and adds a fresh one otherwise', () => {
  const w = toWireMessage({ topic: 'T', body: 'b', tags: 'TagA' });
  const id = setUniqKeyIfAbsent(w);
  assert.match(id, /^[0-9A-F]{32}$/);
  assert.deepEqual(Object.keys(w.properties), ['UNIQ_KEY', 'WAIT', 'TAGS']);
  assert.equal(setUniqKeyIfAbsent(w), id);
  assert.equal(w.properties[MessageConst.UNIQ_KEY], id);
});

function rejects13(msg: Message, pattern: RegExp) {
  assert.throws(() => toWireMessage(msg), (e: unknown) => e instanceof MQClientError && e.responseCode === 13 && pattern.test(e.message));
}

test('user properties with reserved or blank names or values are refused with MQClientError(13)', () => {
  for (const name of ['UNIQ_KEY', 'TAGS', 'KEYS', 'WAIT', 'DELAY', 'CLUSTER', 'TRAN_MSG', '__transactionId__', 'TIMER_DELIVER_MS']) {
    rejects13({ topic: 'T', body: 'b', properties: { [name]: 'x' } }, new RegExp(`"${name}" is reserved`));
  }
  rejects13({ topic: 'T', body: 'b', properties: { '': 'x' } }, /non-blank/);
  rejects13({ topic: 'T', body: 'b', properties: { ' ': 'x' } }, /non-blank/);
  rejects13({ topic: 'T', body: 'b', properties: { a: '  ' } }, /non-blank/);
  rejects13({ topic: 'T', body: 'b', properties: { a: 'x\u0002y' } }, /control character/);
  rejects13({ topic: 'T', body: 'b', tags: 'a\u0001b' }, /"TAGS"/);
  rejects13({ topic: 'T', body: 'b', keys: ['a', 'b\u0002c'] }, /"KEYS"/);
  rejects13({ topic: 'T', body: 'b', msgId: 'id\u0001' }, /"UNIQ_KEY"/);
});

test('msgId is sent as UNIQ_KEY and kept: the message keeps the id it was given', () => {
  const w = toWireMessage({ topic: 'T', body: 'b', msgId: 'order-42-attempt' });
  assert.equal(w.properties.UNIQ_KEY, 'order-42-attempt');
  assert.equal(setUniqKeyIfAbsent(w), 'order-42-attempt');
  assert.equal(toWireMessage({ topic: 'T', body: 'b', msgId: '' }).properties.UNIQ_KEY, undefined, 'empty: a fresh id at send');
});

test('delayLevel must be a non-negative integer, deliverTimeMs finite, flag a 32-bit int', () => {
  for (const delayLevel of [-1, 1.5, NaN, Infinity]) rejects13({ topic: 'T', body: 'b', delayLevel }, /delayLevel/);
  for (const deliverTimeMs of [NaN, Infinity, -1]) rejects13({ topic: 'T', body: 'b', deliverTimeMs }, /deliverTimeMs/);
  rejects13({ topic: 'T', body: 'b', flag: 2 ** 31 }, /flag/);
  assert.equal(toWireMessage({ topic: 'T', body: 'b', delayLevel: 40 }).properties.DELAY, '40'); // broker clamps
});
