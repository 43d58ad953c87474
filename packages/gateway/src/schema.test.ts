// The schema check on its own: unknown and prototype-named fields, malformed values, bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestCode, createRequest, decodeCommand, encodeCommand } from '@rocketmq-edge/core/internal';
import { checkRequest, isRefusal, type CheckedRequest, type Refusal } from './schema.js';
import { checkTopics } from './policy.js';
import { makePrincipal } from './auth.js';

const ctx = { createTopicKey: 'TBW102', maxBatchMessages: 4 };
const utf8 = new TextEncoder();
const V2 = { a: 'g', b: 'orders-1', c: 'TBW102', d: '4', e: '0', f: '0', g: '1', h: '0' };
const check = (ext: Record<string, string>, code: number = RequestCode.SEND_MESSAGE_V2, body: Uint8Array | undefined = utf8.encode('x')) =>
  checkRequest(createRequest(code, ext, body ? { body } : {}), ctx);
const refused = (r: CheckedRequest | Refusal): string => (isRefusal(r) ? r.remark : assert.fail('expected a refusal'));

test('fields the header class does not declare are refused, including prototype names', () => {
  for (const k of ['topic', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'AccessKey']) {
    const ext = JSON.parse(`{${Object.entries(V2).map(([a, b]) => `"${a}":"${b}"`).join(',')},"${k}":"x"}`);
    assert.match(refused(check(ext)), new RegExp(`"${k}" is not part of request code 310`));
  }
  const { b: _b, ...withoutTopic } = V2;
  assert.match(refused(check(withoutTopic)), /"b" is required/);
});

test('values must be well-formed for their kind', () => {
  assert.match(refused(check({ ...V2, b: 'x'.repeat(128) })), /"b" is not a topic name/);
  assert.match(refused(check({ ...V2, b: 'orders.eu' })), /"b" is not a topic name/);
  assert.match(refused(check({ ...V2, e: '2147483648' })), /"e" is not a 32-bit integer/);
  assert.match(refused(check({ ...V2, g: '9223372036854775808' })), /"g" is not a 64-bit integer/);
  assert.ok(!isRefusal(check({ ...V2, g: '9223372036854775807' })));
  assert.match(refused(check({ ...V2, k: 'yes' })), /"k" is not true or false/);
  assert.match(refused(check({ ...V2, c: 'orders-1' })), /"c" must be this gateway's default topic "TBW102"/);
  assert.match(refused(check({ ...V2, n: 'a\u0000b' })), /"n" is not 1..255 printable/);
  assert.match(refused(check({ ...V2, i: 'é'.repeat(20_000) })), /"i" is over 32767 bytes/);
  assert.match(refused(check(V2, RequestCode.SEND_MESSAGE_V2, new Uint8Array(0))), /body is empty/);
  assert.match(refused(check({ topic: 'orders-1' }, RequestCode.GET_ROUTEINFO_BY_TOPIC)), /carries no body/);
  assert.match(refused(check({}, 4242)), /not relayed/);
});

test('numbers sent as JSON numbers are checked and forwarded as the strings Java reads', () => {
  const frame = utf8.encode(`{"code":310,"extFields":{"a":"g","b":"orders-1","c":"TBW102","d":4,"e":0,"f":0,"g":1,"h":0},"flag":0,"opaque":1}`);
  const whole = new Uint8Array(4 + frame.length + 1);
  whole[3] = frame.length;
  whole.set(frame, 4);
  const checked = checkRequest(decodeCommand(whole), ctx);
  assert.ok(!isRefusal(checked));
  assert.equal(decodeCommand(encodeCommand(checked.cmd)).extFields?.d, '4');
});

test('heartbeat bodies are re-serialised with known fields only; consumer data names its topics', () => {
  const hb = {
    clientID: 'c@1', extra: 'dropped', producerDataSet: [{ groupName: 'g', sneaky: 1 }],
    consumerDataSet: [{ groupName: 'cg', consumeType: 'CONSUME_ACTIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      subscriptionDataSet: [{ topic: 'payments', subString: '*', tagsSet: [], codeSet: [], subVersion: 1 }] }],
  };
  const r = check({}, RequestCode.HEART_BEAT, utf8.encode(JSON.stringify(hb)));
  assert.ok(!isRefusal(r));
  const body = JSON.parse(new TextDecoder().decode(r.cmd.body));
  assert.deepEqual(Object.keys(body), ['clientID', 'consumerDataSet', 'producerDataSet']);
  assert.deepEqual(body.producerDataSet, [{ groupName: 'g' }]);
  assert.deepEqual(r.topics, ['payments']);
  assert.deepEqual(r.groups, ['cg']);
  assert.ok(r.registersConsumers);
  const p = makePrincipal('p', ['orders-*']);
  assert.match(checkTopics(p, r, 'TBW102', false)!.remark, /registers a consumer group; this gateway relays producer requests only/);
  assert.match(checkTopics(p, r, 'TBW102', true)!.remark, /may publish but not consume/);
  const reader = makePrincipal('p', [], undefined, { subscribe: ['orders-*'], consumerGroups: ['cg'] });
  assert.match(checkTopics(reader, r, 'TBW102', true)!.remark, /may not read topic "payments"/);
  assert.match(refused(check({}, RequestCode.HEART_BEAT, utf8.encode('{"clientID":1}'))), /clientID/);
});

test('batches: structure checked and records counted without decoding them', () => {
  const rec = (n: number) => {
    const b = new Uint8Array(22 * n);
    for (let i = 0; i < n; i++) new DataView(b.buffer).setInt32(i * 22, 22);
    return b;
  };
  assert.ok(!isRefusal(check({ ...V2, m: 'true' }, RequestCode.SEND_BATCH_MESSAGE, rec(4))));
  assert.match(refused(check({ ...V2, m: 'true' }, RequestCode.SEND_BATCH_MESSAGE, rec(5))), /at most 4 messages/);
  const bad = rec(2);
  bad[25] = 0xff;
  assert.match(refused(check({ ...V2, m: 'true' }, RequestCode.SEND_BATCH_MESSAGE, bad)), /batch record 1 at byte 22/);
});

test('system topics come from core\'s one list; producers never send to retry or dead-letter topics', () => {
  const p = makePrincipal('p', ['*']);
  for (const topic of ['CHECKPOINT_TOPIC', 'TRANS_CHECK_MAX_TIME_TOPIC', 'RMQ_SYS_TRANS_HALF_TOPIC', 'SCHEDULE_TOPIC_XXXX', 'rmq_sys_x', 'TBW102']) {
    const r = check({ ...V2, b: topic });
    assert.ok(!isRefusal(r));
    assert.match(checkTopics(p, r, 'TBW102', false)!.remark, /system topic/, topic);
  }
  for (const topic of ['%RETRY%g', '%DLQ%g']) {
    const r = check({ ...V2, b: topic });
    assert.ok(!isRefusal(r));
    assert.match(checkTopics(p, r, 'TBW102', false)!.remark, /retry or dead-letter/);
  }
});
