// HTTP publishes through a real gateway to the embedded broker (real TCP): every form is stored
// as sent (read back from the broker), batches, the idempotency window, and the answers' shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { httpFixture, text } from './http-test-support.js';

const JSON_TYPE = { 'content-type': 'application/json' };

test('raw form: body bytes, tags, keys, delay level and properties (names as sent) are stored; the answer is the SendResult with the broker alias', async (t) => {
  const { gw, call, stored } = await httpFixture(t);
  const body = randomBytes(3000);
  const r = await call('/v1/topics/http-raw/messages', {
    headers: {
      'content-type': 'application/octet-stream', 'RocketMQ-Tags': 'TagA', 'RocketMQ-Keys': 'order-1 customer-7',
      'RocketMQ-Property-orderId': '42', 'RocketMQ-Property-region': 'eu west', 'Idempotency-Key': 'raw-1',
    },
    body,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(Object.keys(r.json), ['id', 'sendStatus', 'msgId', 'offsetMsgId', 'topic', 'brokerName', 'queueId', 'queueOffset', 'duplicate']);
  assert.equal(r.json.id, 'raw-1');
  assert.equal(r.json.msgId, 'raw-1');
  assert.equal(r.json.sendStatus, 'SEND_OK');
  assert.equal(r.json.brokerName, 'broker-a@0');
  assert.equal(r.json.duplicate, false);
  const [m, ...rest] = await stored('http-raw');
  assert.equal(rest.length, 0);
  assert.deepEqual(Buffer.from(m!.body), body);
  assert.equal(m!.msgId, 'raw-1');
  assert.equal(m!.queueId, r.json.queueId);
  assert.equal(m!.queueOffset, r.json.queueOffset);
  // The offset id encodes the broker's address (IP and port in hex): the answer leaves it empty.
  assert.equal(r.json.offsetMsgId, '');
  assert.ok(!JSON.stringify(r.json).includes(m!.offsetMsgId.slice(0, 16)), 'no broker address in the answer');
  assert.equal(m!.properties.TAGS, 'TagA');
  assert.equal(m!.properties.KEYS, 'order-1 customer-7');
  assert.equal(m!.properties.orderId, '42');
  assert.equal(m!.properties.region, 'eu west');

  // without an Idempotency-Key the gateway picks the id (RocketMQ's 32 hex digits)
  const plain = await call('/v1/topics/http-raw/messages', { body: 'plain text' });
  assert.equal(plain.status, 200);
  assert.match(plain.json.msgId as string, /^[0-9A-F]{32}$/);
  assert.equal(plain.json.id, plain.json.msgId);
  assert.equal(text((await stored('http-raw')).find((x) => x.msgId === plain.json.msgId)!.body), 'plain text');

  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  assert.match(metrics, /rocketmq_edge_http_requests_total\{endpoint="publish",status="200"\} 2\n/);
  assert.match(metrics, /rocketmq_edge_http_messages_total\{result="stored"\} 2\n/);
  assert.match(metrics, /rocketmq_edge_http_publish_seconds_count 2\n/);
});

test('JSON form: one message object (UTF-8 and base64 bodies), or {"messages":[…]} sent as one batch in order', async (t) => {
  const { call, stored } = await httpFixture(t);
  const one = await call('/v1/topics/http-json/messages', {
    headers: JSON_TYPE,
    // "__proto__" written into the JSON text: an object literal would set a prototype instead
    body: JSON.stringify({ id: 'j-1', body: 'héllo ✓', tags: 'T1', keys: ['k1', 'k2'], properties: { Source: 'web' } }).replace('"Source"', '"__proto__":"p","Source"'),
  });
  assert.equal(one.status, 200, JSON.stringify(one.json));
  assert.equal(one.json.id, 'j-1');
  const bin = randomBytes(64);
  const b64 = await call('/v1/topics/http-json/messages', { headers: JSON_TYPE, body: JSON.stringify({ body: bin.toString('base64'), encoding: 'base64' }) });
  assert.equal(b64.status, 200);

  const batch = await call('/v1/topics/http-json/messages', {
    headers: JSON_TYPE,
    body: JSON.stringify({ messages: Array.from({ length: 5 }, (_, i) => ({ id: `b-${i}`, body: `batch ${i}`, tags: 'B' })) }),
  });
  assert.equal(batch.status, 200, JSON.stringify(batch.json));
  const results = batch.json.results as { id: string; queueId: number; queueOffset: number; offsetMsgId: string; duplicate: boolean }[];
  assert.deepEqual(results.map((x) => x.id), ['b-0', 'b-1', 'b-2', 'b-3', 'b-4']);
  assert.equal(new Set(results.map((x) => x.queueId)).size, 1, 'one batch: one queue');
  assert.deepEqual(results.map((x) => x.queueOffset - results[0]!.queueOffset), [0, 1, 2, 3, 4]);

  const all = await stored('http-json');
  const byId = new Map(all.map((m) => [m.msgId, m]));
  const j1 = byId.get('j-1')!;
  assert.equal(text(j1.body), 'héllo ✓');
  assert.equal(j1.properties.TAGS, 'T1');
  assert.equal(j1.properties.KEYS, 'k1 k2');
  assert.equal(j1.properties.Source, 'web');
  assert.equal(Object.getOwnPropertyDescriptor(j1.properties, '__proto__')?.value, 'p');
  assert.deepEqual(Buffer.from(byId.get(b64.json.msgId as string)!.body), bin);
  for (const r of results) {
    const m = byId.get(r.id)!;
    assert.equal(text(m.body), `batch ${r.id.slice(2)}`);
    assert.equal(m.queueOffset, r.queueOffset);
    assert.equal(r.offsetMsgId, '');
    assert.equal(m.properties.TAGS, 'B');
  }
});

test('an id acknowledged before is answered with the first result, duplicate: true, and stored once', async (t) => {
  const { call, stored } = await httpFixture(t);
  const send = () => call('/v1/topics/http-idem/messages', { headers: { 'Idempotency-Key': 'order-77' }, body: 'pay once' });
  const first = await send();
  const again = await send();
  assert.equal(first.status, 200);
  assert.equal(again.status, 200);
  assert.deepEqual({ ...again.json, duplicate: false }, first.json);
  assert.equal(again.json.duplicate, true);
  // Idempotency-Key on a lone JSON message is its id too
  const lone = await call('/v1/topics/http-idem/messages', { headers: { ...JSON_TYPE, 'Idempotency-Key': 'order-77' }, body: JSON.stringify({ body: 'pay once' }) });
  assert.equal(lone.json.duplicate, true);
  // the same id in the JSON form is the same message
  const json = await call('/v1/topics/http-idem/messages', { headers: JSON_TYPE, body: JSON.stringify({ messages: [{ id: 'order-77', body: 'pay once' }, { id: 'order-78', body: 'new' }] }) });
  const [dup, fresh] = json.json.results as { duplicate: boolean; queueOffset: number }[];
  assert.equal(dup!.duplicate, true);
  assert.equal(dup!.queueOffset, first.json.queueOffset);
  assert.equal(fresh!.duplicate, false);
  assert.deepEqual((await stored('http-idem')).map((m) => m.msgId).sort(), ['order-77', 'order-78']);
  // per principal: another token's "order-77" is its own message
  const other = await call('/v1/topics/http-idem/messages', { token: 'http-bystander-token', headers: { 'Idempotency-Key': 'order-77' }, body: 'theirs' });
  assert.equal(other.json.duplicate, false);
  assert.equal((await stored('http-idem')).length, 3);
});

test('concurrent requests with one id store it once; each answer is that one result', async (t) => {
  const { call, stored } = await httpFixture(t);
  const answers = await Promise.all(Array.from({ length: 12 }, () =>
    call('/v1/topics/http-race/messages', { headers: { 'Idempotency-Key': 'same-id' }, body: 'once' })));
  assert.deepEqual(answers.map((a) => a.status), Array(12).fill(200));
  assert.equal(answers.filter((a) => a.json.duplicate === false).length, 1);
  assert.equal(new Set(answers.map((a) => `${a.json.queueId}@${a.json.queueOffset}`)).size, 1);
  assert.equal((await stored('http-race')).length, 1);
});

test('messages with a delay level are sent one by one and delivered after their delay', async (t) => {
  const { call, stored } = await httpFixture(t);
  const r = await call('/v1/topics/http-delay/messages', {
    headers: JSON_TYPE, body: JSON.stringify({ messages: [{ id: 'd-1', body: 'later', delayLevel: 1 }, { id: 'd-2', body: 'later too', delayLevel: 1 }] }),
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const raw = await call('/v1/topics/http-delay/messages', { headers: { 'RocketMQ-Delay-Level': '1', 'Idempotency-Key': 'd-3' }, body: 'raw later' });
  assert.equal(raw.status, 200);
  let ids: string[] = [];
  for (let i = 0; i < 100 && ids.length < 3; i++) {
    ids = (await stored('http-delay')).map((m) => m.msgId).sort();
    if (ids.length < 3) await new Promise((res) => setTimeout(res, 100));
  }
  assert.deepEqual(ids, ['d-1', 'd-2', 'd-3']);
});
