// The consumer's requests are byte-for-byte the frames the Java 4.9.8 client sent (03-consumer-json),
// and the broker's captured answers decode to what the consumer acts on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capture } from '../../../../test/vectors.js';
import { RemotingClient } from '../remoting/client.js';
import { RequestCode, ResponseCode } from '../remoting/codes.js';
import { decodeCommand, encodeCommand } from '../remoting/codec.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import {
  buildPullRequest, getConsumerIdListByGroup, processPullResponse, queryConsumerOffset, unregisterClient, updateConsumerOffset,
  type ClientApi,
} from './client-api.js';
import * as consumerCodes from './codes.js';
import { heartbeatBody } from './heartbeat.js';
import { processPullResult } from './pull-result.js';
import { buildSubscriptionData } from './subscription.js';

const dir = '03-consumer-json/';
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
/** A captured frame without its 4-byte length prefix (what a Transport carries). */
const frameOf = (side: { frameHex: string }): Uint8Array => hex(side.frameHex).subarray(4);
const MQ = { topic: 'TopicTest', brokerName: 'broker-a', queueId: 3 };
const BROKER = '127.0.0.1:20911';

/** Runs `call` against a broker that answers with the captured response; returns the frame sent and the result. */
async function replay<T>(file: string, call: (api: ClientApi) => Promise<T>): Promise<{ sent: Uint8Array; result: T; expected: Uint8Array }> {
  const c = capture(dir + file);
  const transport = new MemoryTransport({
    [BROKER]: (cmd) => (c.response ? { ...decodeCommand(frameOf(c.response)), opaque: cmd.opaque } : undefined),
  });
  const client = new RemotingClient(transport);
  client.nextOpaque = c.request.opaque;
  try {
    const result = await call({ client, serializeType: 'JSON', timeoutMs: 3000 });
    await new Promise((r) => setTimeout(r, 0)); // a oneway frame reaches the peer in a microtask
    return { sent: transport.requests[0]!.frame, result, expected: frameOf(c.request) };
  } finally {
    await client.close();
  }
}

test('HEART_BEAT body: the captured consumer heartbeat rebuilt byte-exact (0038)', () => {
  const c = capture(dir + '0038-broker-HEART_BEAT-34-SUCCESS.json');
  const body = heartbeatBody('192.0.2.2@25911#1172204205132', {
    groupName: 'consumer', consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    subscriptionDataSet: [
      buildSubscriptionData('TopicTest', '*', 1795485950766),
      buildSubscriptionData('%RETRY%consumer', '*', 1795485950788),
    ],
  });
  assert.equal(body, c.request.bodyText);
});

test('PULL_MESSAGE: the captured request rebuilt byte-exact, JSON (0045)', () => {
  const c = capture(dir + '0045-broker-PULL_MESSAGE-11-SUCCESS.json');
  const req = buildPullRequest({
    consumerGroup: 'consumer', topic: 'TopicTest', queueId: 2, queueOffset: 0, maxMsgNums: 32, sysFlag: 2, commitOffset: 0,
    suspendTimeoutMillis: 15000, subVersion: 1795485951299, expressionType: 'TAG', bname: 'broker-a',
  }, 'JSON');
  req.opaque = c.request.opaque;
  assert.deepEqual(encodeCommand(req), frameOf(c.request));
});

test('PULL_MESSAGE: binary headers list the fields in declaration order (1.3)', () => {
  const req = buildPullRequest({
    consumerGroup: 'g', topic: 'T', queueId: 1, queueOffset: 5, maxMsgNums: 10, sysFlag: 22, commitOffset: 0,
    suspendTimeoutMillis: 20000, subscription: 'TagA || TagB', subVersion: 0, expressionType: 'TAG', bname: 'b',
  }, 'ROCKETMQ');
  assert.deepEqual(Object.keys(decodeCommand(encodeCommand(req)).extFields!), [
    'consumerGroup', 'topic', 'queueId', 'queueOffset', 'maxMsgNums', 'sysFlag', 'commitOffset', 'suspendTimeoutMillis',
    'subscription', 'subVersion', 'expressionType', 'bname',
  ]);
});

test('PULL_MESSAGE answers: FOUND, NO_NEW_MSG at the end of a queue and of an empty queue (0045, 0067, 0071)', () => {
  const res = (file: string) => processPullResponse(decodeCommand(frameOf(capture(dir + file).response)), BROKER);
  const found = res('0045-broker-PULL_MESSAGE-11-SUCCESS.json');
  assert.deepEqual({ ...found, body: found.body?.length }, { pullStatus: 'FOUND', nextBeginOffset: 6, minOffset: 0, maxOffset: 6, suggestWhichBrokerId: 0, body: 1392 });
  assert.deepEqual(res('0067-broker-PULL_MESSAGE-11-PULL_NOT_FOUND.json'), { pullStatus: 'NO_NEW_MSG', nextBeginOffset: 6, minOffset: 0, maxOffset: 6, suggestWhichBrokerId: 0 });
  assert.deepEqual(res('0071-broker-PULL_MESSAGE-11-PULL_NOT_FOUND.json'), { pullStatus: 'NO_NEW_MSG', nextBeginOffset: 0, minOffset: 0, maxOffset: 0, suggestWhichBrokerId: 0 });
  assert.throws(() => processPullResponse({ ...decodeCommand(frameOf(capture(dir + '0067-broker-PULL_MESSAGE-11-PULL_NOT_FOUND.json').response)), code: 24, remark: 'no sub' }, BROKER),
    (e: Error & { responseCode?: number }) => e.name === 'MQBrokerError' && e.responseCode === 24);
});

test('a captured pull body: the records in queue order, the compressed body inflated, tags filtered on the client (0045, 0046)', async () => {
  const pulled = async (file: string, expr: string) => {
    const c = capture(dir + file);
    const result = processPullResponse(decodeCommand(frameOf(c.response)), BROKER);
    const errors: Error[] = [];
    const msgs = await processPullResult({ ...MQ, queueId: Number(c.request.header.extFields.queueId) }, result, buildSubscriptionData('TopicTest', expr), (e) => errors.push(e));
    assert.deepEqual(errors, []);
    return { msgs, decoded: c.response.decodedMessages as { body: string; queueOffset: string; properties: Record<string, string>; uncompressedLength?: number }[] };
  };
  const { msgs, decoded } = await pulled('0046-broker-PULL_MESSAGE-11-SUCCESS.json', '*');
  assert.equal(msgs.length, 4);
  msgs.forEach((m, i) => {
    const d = decoded[i]!;
    assert.equal(m.queueOffset, Number(d.queueOffset));
    assert.equal(m.msgId, d.properties.UNIQ_KEY);
    assert.equal(m.tags, d.properties.TAGS);
    assert.deepEqual(m.queue, { topic: 'TopicTest', brokerName: 'broker-a', queueId: 3 });
    assert.equal(m.brokerName, 'broker-a');
    assert.equal(m.properties.MIN_OFFSET, '0');
    assert.equal(m.properties.MAX_OFFSET, '4');
  });
  const big = msgs[3]!;
  assert.equal(big.body.length, decoded[3]!.uncompressedLength);
  assert.ok(new TextDecoder().decode(big.body).startsWith(decoded[3]!.body.slice(0, 100)));
  assert.equal(big.keys, 'BIG-KEY');
  assert.equal(big.properties.customProp, 'customValue');
  // "TagA" keeps the three TagA messages of queue 3, "TagC" the compressed one
  assert.deepEqual((await pulled('0046-broker-PULL_MESSAGE-11-SUCCESS.json', 'TagA')).msgs.map((m) => m.queueOffset), [0, 1, 2]);
  assert.deepEqual((await pulled('0046-broker-PULL_MESSAGE-11-SUCCESS.json', 'TagC || TagX')).msgs.map((m) => m.queueOffset), [3]);
  const q2 = await pulled('0045-broker-PULL_MESSAGE-11-SUCCESS.json', '*');
  assert.deepEqual(q2.msgs.map((m) => new TextDecoder().decode(m.body)), q2.decoded.map((d) => d.body));
});

test('a body that cannot be inflated is handed out as stored and reported, the others still come', async () => {
  const c = capture(dir + '0046-broker-PULL_MESSAGE-11-SUCCESS.json');
  const result = processPullResponse(decodeCommand(frameOf(c.response)), BROKER);
  const body = result.body!.slice();
  // corrupt the zlib stream of the compressed record (the last one), keeping the record well-formed
  const last = c.response.decodedMessages[3];
  const at = body.length - last.storeSize + 88 + 10;
  body[at] = body[at]! ^ 0xff;
  body[at + 1] = body[at + 1]! ^ 0xff;
  const errors: Error[] = [];
  const msgs = await processPullResult(MQ, { ...result, body }, buildSubscriptionData('TopicTest', '*'), (e) => errors.push(e));
  assert.equal(msgs.length, 4);
  assert.equal(msgs[3]!.body.length, 829, 'the stored (compressed) bytes');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.name, 'CodecError');
});

test('QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET (oneway) requests equal the captured ones (0040, 0057)', async () => {
  const q = await replay('0040-broker-QUERY_CONSUMER_OFFSET-14-SUCCESS.json', (api) => queryConsumerOffset(api, BROKER, 'consumer', MQ));
  assert.deepEqual(q.sent, q.expected);
  assert.equal(q.result, 0);
  const u = await replay('0057-broker-UPDATE_CONSUMER_OFFSET-15-ONEWAY.json', (api) => updateConsumerOffset(api, BROKER, 'consumer', MQ, 4, true));
  assert.deepEqual(u.sent, u.expected);
});

test('GET_CONSUMER_LIST_BY_GROUP and UNREGISTER_CLIENT requests equal the captured ones (0039, 0082, 0083)', async () => {
  const list = await replay('0039-broker-GET_CONSUMER_LIST_BY_GROUP-38-SUCCESS.json', (api) => getConsumerIdListByGroup(api, BROKER, 'consumer'));
  assert.deepEqual(list.sent, list.expected);
  assert.deepEqual(list.result, ['192.0.2.2@25911#1172204205132']);
  const cid = '192.0.2.2@25911#1172204205132';
  for (const [file, group] of [
    ['0082-broker-UNREGISTER_CLIENT-35-SUCCESS.json', { consumerGroup: 'consumer' }],
    ['0083-broker-UNREGISTER_CLIENT-35-SUCCESS.json', { producerGroup: 'CLIENT_INNER_PRODUCER' }],
  ] as const) {
    const r = await replay(file, (api) => unregisterClient(api, BROKER, cid, group));
    assert.deepEqual(r.sent, r.expected, file);
  }
});

test("the consumer's inlined codes are RocketMQ's (RequestCode / ResponseCode)", () => {
  for (const [name, value] of Object.entries(consumerCodes)) {
    const [kind, ...rest] = name.split('_');
    assert.equal(value, (kind === 'RC' ? RequestCode : ResponseCode)[rest.join('_') as never], name);
  }
});
