// RequestProducer and createReplyMessage against a scripted broker that pushes replies
// (PUSH_REPLY_MESSAGE_TO_CLIENT) the way ReplyMessageProcessor does (protocol 7.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbortError, MQClientError } from '../errors.js';
import { compressZlib, decodeProperties, encodeProperties } from '../message/index.js';
import { Producer } from '../producer/producer.js';
import { encodeCommand } from '../remoting/codec.js';
import { javaHashMapOrder } from '../remoting/hashmap-order.js';
import { createRequest, isResponse, type RemotingCommand } from '../remoting/command.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import { routeJson, scriptedBroker, scriptedNamesrv, sendResponse } from '../testing/scripted.js';
import { sleep, until } from '../testing/wait.js';
import { NAMESRV_TARGET } from '../transport.js';
import { createReplyMessage } from './reply.js';
import { RequestProducer } from './request-producer.js';
import { failOnUnhandledRejections } from '../../../../test/unhandled.js';

failOnUnhandledRejections();

const BROKERS = [{ name: 'broker-a', addr: 'A' }, { name: 'broker-b', addr: 'B' }];

/** Two brokers; `onSend` sees every send; responses the client writes (to pushes) are kept apart. */
function rig(onSend: (c: RemotingCommand, target: string) => RemotingCommand | 'drop' = (c) => sendResponse(c)) {
  const answers: RemotingCommand[] = [];
  const broker = (target: string) => {
    const inner = scriptedBroker((c) => onSend(c, target));
    return (c: RemotingCommand) => (isResponse(c) ? void answers.push(c) : inner(c, target));
  };
  const t = new MemoryTransport({
    [NAMESRV_TARGET]: scriptedNamesrv((topic) => (topic === 'Q' || topic === 'DefaultCluster_REPLY_TOPIC' ? routeJson(BROKERS) : undefined)),
    A: broker('A'),
    B: broker('B'),
  });
  return { t, answers };
}

/** The 326 push a broker sends for a reply message (ReplyMessageRequestHeader). */
function push(props: Record<string, string>, body: Uint8Array = new TextEncoder().encode('pong'), sysFlag = 0): Uint8Array {
  return encodeCommand(createRequest(326, {
    producerGroup: 'replier', topic: 'DefaultCluster_REPLY_TOPIC', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '1',
    sysFlag: `${sysFlag}`, bornTimestamp: '1700000000000', flag: '0', properties: encodeProperties(props), reconsumeTimes: '0', unitMode: 'false',
    bornHost: '127.0.0.1:50000', storeHost: '127.0.0.1:10911', storeTimestamp: '1700000000001',
  }, { body }));
}

test('request(): heartbeats every broker before the first request, sends CORRELATION_ID / REPLY_TO_CLIENT / TTL, resolves with the pushed reply', async () => {
  const { t, answers } = rig();
  const p = new RequestProducer({ transport: t, producerGroup: 'pg' });
  await p.start();
  const pending = p.request({ topic: 'Q', body: 'ping', properties: { a: '1' } }, { timeout: 2000 });
  const send = await until('the request', () => t.requests.find((r) => r.cmd.code === 310));
  const props = decodeProperties(send.cmd.extFields!.i!);
  assert.match(props.CORRELATION_ID!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(props.REPLY_TO_CLIENT, p.clientId);
  assert.equal(props.TTL, '2000');
  assert.equal(props.a, '1');
  // HashMap order of the final property set, as Java writes it (protocol 3.5).
  assert.deepEqual(Object.keys(props), javaHashMapOrder(Object.keys(props)));
  // Both brokers heard HEART_BEAT before the request was written.
  const first = t.requests.indexOf(send);
  assert.deepEqual(t.requests.slice(0, first).filter((r) => r.cmd.code === 34).map((r) => r.target).sort(), ['A', 'B']);

  t.inject(send.target, push({ CORRELATION_ID: props.CORRELATION_ID!, REPLY_TO_CLIENT: p.clientId, MSG_TYPE: 'reply', UNIQ_KEY: 'R1' }));
  const reply = await pending;
  assert.equal(new TextDecoder().decode(reply.body), 'pong');
  assert.equal(reply.topic, 'DefaultCluster_REPLY_TOPIC');
  assert.equal(reply.queueId, 1);
  assert.equal(reply.bornHost, '127.0.0.1:50000');
  assert.equal(reply.storeTimestamp, 1700000000001);
  assert.equal(reply.msgId, 'R1');
  assert.ok(Number(reply.properties.ARRIVE_TIME) > 0);
  const answer = await until('the answer to the push', () => answers[0]);
  assert.equal(answer.code, 0);
  assert.equal(answer.remark, undefined);
  assert.equal(p.pendingRequests, 0);

  // The second request of the topic does not heartbeat again first.
  const beats = t.requests.filter((r) => r.cmd.code === 34).length;
  const second = p.request({ topic: 'Q', body: 'ping2' }, { timeout: 50 });
  await assert.rejects(second, (e: unknown) => e instanceof MQClientError && e.responseCode === 10006);
  assert.equal(t.requests.filter((r) => r.cmd.code === 34).length, beats);
  await p.shutdown();
});

test('request(): no reply in time → MQClientError 10006 with Java\'s text; a late reply is answered SUCCESS and dropped', async () => {
  const { t, answers } = rig();
  const p = new RequestProducer({ transport: t, producerGroup: 'pg' });
  await p.start();
  const err = await p.request({ topic: 'Q', body: 'ping' }, { timeout: 100 }).catch((e: unknown) => e);
  assert.ok(err instanceof MQClientError);
  assert.equal(err.responseCode, 10006);
  assert.equal(err.message, 'send request message to <Q> OK, but wait reply message timeout, 100 ms.');
  const send = t.requests.find((r) => r.cmd.code === 310)!;
  t.inject(send.target, push({ CORRELATION_ID: decodeProperties(send.cmd.extFields!.i!).CORRELATION_ID!, MSG_TYPE: 'reply' }));
  assert.equal((await until('answer', () => answers[0])).code, 0);
  await p.shutdown();
});

test('request(): a failed send rejects at once with MQClientError -1 and the cause; an abort with AbortError', async () => {
  const { t } = rig((c) => sendResponse(c, 13, 'bad'));
  const p = new RequestProducer({ transport: t, producerGroup: 'pg' });
  await p.start();
  const begin = Date.now();
  const err = await p.request({ topic: 'Q', body: 'x' }, { timeout: 10_000 }).catch((e: unknown) => e);
  assert.ok(err instanceof MQClientError);
  assert.equal(err.responseCode, -1);
  assert.match(err.message, /^send request message to <Q> fail/);
  assert.ok(Date.now() - begin < 5000, 'did not wait for the timeout');
  assert.equal(p.pendingRequests, 0);

  const ac = new AbortController();
  const { t: t2 } = rig(() => 'drop');
  const p2 = new RequestProducer({ transport: t2, producerGroup: 'pg' });
  await p2.start();
  const pending = p2.request({ topic: 'Q', body: 'x' }, { timeout: 10_000, signal: ac.signal });
  await until('the request', () => t2.requests.find((r) => r.cmd.code === 310));
  ac.abort();
  await assert.rejects(pending, AbortError);
  assert.equal(p2.pendingRequests, 0);
  await p.shutdown();
  await p2.shutdown();
});

test('request(): two requests in flight each get their own reply; a compressed reply body is inflated', async () => {
  const { t } = rig();
  const p = new RequestProducer({ transport: t, producerGroup: 'pg' });
  await p.start();
  const r1 = p.request({ topic: 'Q', body: 'one' }, { timeout: 3000 });
  const r2 = p.request({ topic: 'Q', body: 'two' }, { timeout: 3000 });
  const sends = await until('both requests', () => {
    const s = t.requests.filter((r) => r.cmd.code === 310);
    return s.length === 2 ? s : undefined;
  });
  const idOf = (r: (typeof sends)[number]) => decodeProperties(r.cmd.extFields!.i!).CORRELATION_ID!;
  const bodyOf = (r: (typeof sends)[number]) => new TextDecoder().decode(r.cmd.body);
  // Answer in the reverse order, the second compressed.
  t.inject(sends[1]!.target, push({ CORRELATION_ID: idOf(sends[1]!) }, new TextEncoder().encode(`re:${bodyOf(sends[1]!)}`)));
  t.inject(sends[0]!.target, push({ CORRELATION_ID: idOf(sends[0]!) }, await compressZlib(new TextEncoder().encode(`re:${bodyOf(sends[0]!)}`)), 0x301));
  assert.equal(new TextDecoder().decode((await r1).body), 're:one');
  assert.equal(new TextDecoder().decode((await r2).body), 're:two');
  await p.shutdown();
});

test('a push with a broken header is answered SYSTEM_ERROR; other broker requests REQUEST_CODE_NOT_SUPPORTED', async () => {
  const { t, answers } = rig();
  const p = new RequestProducer({ transport: t, producerGroup: 'pg' });
  p.on('error', () => {});
  await p.start();
  await p.send({ topic: 'Q', body: 'x' });
  const target = t.requests.find((r) => r.cmd.code === 310)!.target;
  t.inject(target, encodeCommand(createRequest(326, { topic: 'X' }, { body: new Uint8Array(1) })));
  t.inject(target, encodeCommand(createRequest(40, { consumerGroup: 'g' })));
  await until('two answers', () => answers.length === 2);
  assert.deepEqual(answers.map((a) => [a.code, a.remark]).sort(), [[1, 'process reply message fail'], [3, ' request type 40 not supported']]);
  await p.shutdown();
});

test('createReplyMessage: <CLUSTER>_REPLY_TOPIC with the request\'s correlation properties; a plain Producer sends it as SEND_REPLY_MESSAGE_V2 (325)', async () => {
  const request = { properties: { CLUSTER: 'DefaultCluster', CORRELATION_ID: 'c-1', REPLY_TO_CLIENT: '10.0.0.1@9#1', TTL: '3000', UNIQ_KEY: 'X' } };
  const reply = createReplyMessage(request, 'pong');
  assert.deepEqual(reply, {
    topic: 'DefaultCluster_REPLY_TOPIC',
    body: 'pong',
    properties: { MSG_TYPE: 'reply', CORRELATION_ID: 'c-1', REPLY_TO_CLIENT: '10.0.0.1@9#1', TTL: '3000' },
  });
  const { t } = rig();
  const p = new Producer({ transport: t, producerGroup: 'replier' });
  await p.start();
  await p.send(reply);
  await p.send({ topic: 'Q', body: 'plain' });
  const [r, plain] = t.requests.filter((x) => x.cmd.code === 325 || x.cmd.code === 310);
  assert.equal(r!.cmd.code, 325);
  assert.equal(r!.cmd.extFields!.b, 'DefaultCluster_REPLY_TOPIC');
  const props = decodeProperties(r!.cmd.extFields!.i!);
  // As Java's `new Message()` + putProperty: no WAIT unless asked for.
  assert.deepEqual(Object.keys(props).sort(), ['CORRELATION_ID', 'MSG_TYPE', 'REPLY_TO_CLIENT', 'TTL', 'UNIQ_KEY']);
  assert.equal(plain!.cmd.code, 310);
  await p.shutdown();
});

test('createReplyMessage: MQClientError 10007 without a request or its CLUSTER; reply properties only pass on a reply', async () => {
  assert.throws(() => createReplyMessage(null as never, 'x'), (e: unknown) => e instanceof MQClientError && e.responseCode === 10007 && /cannot be null/.test(e.message));
  assert.throws(() => createReplyMessage({ properties: { CORRELATION_ID: 'c' } }, 'x'),
    (e: unknown) => e instanceof MQClientError && e.responseCode === 10007 && e.message === 'create reply message fail, requestMessage error, property[CLUSTER] is null.');
  const { t } = rig();
  const p = new Producer({ transport: t, producerGroup: 'pg' });
  await p.start();
  await assert.rejects(p.send({ topic: 'Q', body: 'x', properties: { CORRELATION_ID: 'c' } }), /reserved/);
  await assert.rejects(p.send({ topic: 'Q', body: 'x', properties: { MSG_TYPE: 'reply', TRAN_MSG: 'true' } }), /reserved/);
  await p.shutdown();
});

