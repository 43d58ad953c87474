// Send hooks (SendMessageHook) and namespaces (ClientConfig.namespace) on the Producer, against
// scripted brokers: what each hook sees per attempt, and what the wire carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQBrokerError } from '../errors.js';
import { decodeProperties, type MessageQueue } from '../message/index.js';
import type { RemotingCommand } from '../remoting/command.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import { routeJson, scriptedBroker, scriptedNamesrv, sendResponse } from '../testing/scripted.js';
import { NAMESRV_TARGET } from '../transport.js';
import { Producer, type SendContext } from './producer.js';
import type { ProducerOptions } from './options.js';
import { failOnUnhandledRejections } from '../../../../test/unhandled.js';

failOnUnhandledRejections();

const TWO = [{ name: 'broker-a', addr: 'A' }, { name: 'broker-b', addr: 'B' }];

function rig(onSend: (c: RemotingCommand, target: string) => RemotingCommand = (c) => sendResponse(c), opts: Partial<ProducerOptions> = {}, routes = ['T']) {
  const t = new MemoryTransport({
    [NAMESRV_TARGET]: scriptedNamesrv((topic) => (routes.includes(topic) ? routeJson(TWO) : undefined)),
    A: scriptedBroker((c) => onSend(c, 'A')),
    B: scriptedBroker((c) => onSend(c, 'B')),
  });
  const p = new Producer({ transport: t, producerGroup: 'pg', ...opts });
  const sends = () => t.requests.filter((r) => r.cmd.code === 310).map((r) => r.cmd);
  return { t, p, sends };
}

/** A context as the test keeps it: a copy at the time of the call. */
const snap = (ctx: SendContext) => ({ ...ctx, properties: { ...ctx.properties } });

test('hooks run per attempt in the order added, before then after; the context holds group, message, queue, broker, mode, attempt, id, result, latency', async () => {
  let n = 0;
  // The first attempt is refused with a retried code; the second succeeds.
  const { p, sends } = rig((c) => (n++ === 0 ? sendResponse(c, 14, 'busy') : sendResponse(c)));
  const calls: [string, ReturnType<typeof snap>][] = [];
  p.use({ beforeSend: (c) => void calls.push(['1.before', snap(c)]), afterSend: (c) => void calls.push(['1.after', snap(c)]) })
    .use({ beforeSend: (c) => void calls.push(['2.before', snap(c)]), afterSend: (c) => void calls.push(['2.after', snap(c)]) });
  await p.start();
  const message = { topic: 'T', body: 'hi', tags: 'TagA' };
  const result = await p.send(message);
  assert.deepEqual(calls.map(([w, c]) => `${w}#${c.attempt}`), ['1.before#1', '2.before#1', '1.after#1', '2.after#1', '1.before#2', '2.before#2', '1.after#2', '2.after#2']);
  const [, before] = calls[0]!;
  assert.equal(before.producerGroup, 'pg');
  assert.equal(before.message, message);
  assert.equal(before.mode, 'SYNC');
  assert.equal(before.msgId, result.msgId);
  assert.equal(before.result, undefined);
  assert.equal(before.latencyMs, undefined);
  const [, failed] = calls[2]!;
  assert.ok(failed.error instanceof MQBrokerError && failed.error.responseCode === 14);
  assert.equal(failed.result, undefined);
  assert.ok(failed.latencyMs! >= 0);
  const [, ok] = calls[6]!;
  assert.equal(ok.result, result);
  assert.equal(ok.error, undefined);
  assert.deepEqual(ok.mq, result.messageQueue);
  assert.equal(ok.brokerAddr, result.brokerAddr);
  // The retry went to the other broker, and the contexts say so.
  assert.notEqual(calls[0]![1].mq.brokerName, calls[4]![1].mq.brokerName);
  assert.equal(sends().length, 2);
  await p.shutdown();
});

test('beforeSend may add user properties (a traceparent): they go on the wire in Java HashMap order; async and oneway modes are named', async () => {
  const { p, sends } = rig();
  const modes: string[] = [];
  p.use({
    beforeSend(ctx) {
      modes.push(ctx.mode);
      ctx.properties.traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    },
  });
  await p.start();
  await p.send({ topic: 'T', body: 'x', keys: 'k', properties: { user: 'u' } });
  await p.sendAsync({ topic: 'T', body: 'x' });
  await p.sendOneway({ topic: 'T', body: 'x' });
  assert.deepEqual(modes, ['SYNC', 'ASYNC', 'ONEWAY']);
  const props = decodeProperties(sends()[0]!.extFields!.i!);
  assert.equal(props.traceparent, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
  assert.equal(props.user, 'u');
  // KEYS and traceparent share a HashMap bucket: KEYS (put first by Java too) comes first.
  assert.deepEqual(Object.keys(props), ['KEYS', 'traceparent', 'UNIQ_KEY', 'WAIT', 'user']);
  await p.shutdown();
});

test('a throwing hook, or one adding a reserved property, is an error event; the send goes on unchanged', async () => {
  const { p, sends } = rig();
  const errors: Error[] = [];
  p.on('error', (e) => errors.push(e));
  let after = 0;
  p.use({ beforeSend: () => { throw new Error('before boom'); }, afterSend: () => { throw new Error('after boom'); } })
    .use({ beforeSend: (ctx) => void (ctx.properties.TRAN_MSG = 'true'), afterSend: () => void after++ });
  await p.start();
  const r = await p.send({ topic: 'T', body: 'x' });
  assert.equal(r.sendStatus, 'SEND_OK');
  assert.equal(after, 1, 'a later hook still runs');
  assert.deepEqual(errors.map((e) => e.message.replace(/^user property "TRAN_MSG" is reserved.*/, 'reserved')), ['before boom', 'reserved', 'after boom']);
  const props = decodeProperties(sends()[0]!.extFields!.i!);
  assert.equal(props.TRAN_MSG, undefined);
  assert.equal(sends()[0]!.extFields!.f, '0');
  await p.shutdown();
});

test('namespace: topic and group wrapped on the wire (INSTANCE_ID too), results and queues in the user\'s names', async () => {
  const { t, p, sends } = rig(undefined, { namespace: 'ns1', instanceName: 'i' }, ['ns1%T']);
  await p.start();
  const r = await p.send({ topic: 'T', body: 'x' });
  const [send] = sends();
  assert.equal(send!.extFields!.a, 'ns1%pg');
  assert.equal(send!.extFields!.b, 'ns1%T');
  assert.equal(decodeProperties(send!.extFields!.i!).INSTANCE_ID, 'ns1');
  assert.equal(r.messageQueue.topic, 'T');

  const queues = await p.fetchPublishMessageQueues('T');
  assert.ok(queues.length > 0 && queues.every((q) => q.topic === 'T'));
  let offered: MessageQueue[] = [];
  const bySelector = await p.send({ topic: 'T', body: 'x' }, { selector: (mqs) => ((offered = mqs), mqs[1]!) });
  assert.ok(offered.every((q) => q.topic === 'T'));
  assert.equal(bySelector.messageQueue.topic, 'T');
  const byQueue = await p.send({ topic: 'T', body: 'x' }, { queue: { topic: 'T', brokerName: 'broker-b', queueId: 2 } });
  assert.deepEqual(byQueue.messageQueue, { topic: 'T', brokerName: 'broker-b', queueId: 2 });
  assert.deepEqual(sends().map((c) => c.extFields!.b), ['ns1%T', 'ns1%T', 'ns1%T']);
  // Already-wrapped names are not wrapped twice.
  await p.send({ topic: 'ns1%T', body: 'x' });
  assert.equal(sends()[3]!.extFields!.b, 'ns1%T');

  await p.shutdown();
  const hb = t.requests.find((x) => x.cmd.code === 34)!;
  assert.match(new TextDecoder().decode(hb.cmd.body), /"producerDataSet":\[\{"groupName":"ns1%pg"\},\{"groupName":"CLIENT_INNER_PRODUCER"\}\]/);
  assert.equal(t.requests.find((x) => x.cmd.code === 35)!.cmd.extFields!.producerGroup, 'ns1%pg');
});

test('namespace: a namespace that cannot be part of a topic name is refused at construction', () => {
  for (const namespace of ['team a', 'x/y', 'ns.1']) {
    assert.throws(() => new Producer({ transport: new MemoryTransport(), namespace }), /ProducerOptions\.namespace may only hold/);
  }
  assert.doesNotThrow(() => new Producer({ transport: new MemoryTransport(), namespace: 'MQ_INST_xx-1' }));
});

test('namespace: an unknown topic fails naming the user\'s topic', async () => {
  const { p } = rig(undefined, { namespace: 'ns1', retryTimesWhenSendFailed: 0 }, []);
  await p.start();
  const e = await p.send({ topic: 'Nope', body: 'x' }).catch((x: Error) => x);
  assert.match(String(e), /Nope/);
  assert.doesNotMatch(String(e), /ns1%/);
  await p.shutdown();
});
