import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AbortError, MQBrokerError, MQClientError, RemotingConnectError, RemotingTimeoutError, RemotingTooMuchRequestError,
} from '../errors.js';
import { decodeBatchBody, decodeProperties, decompressZlib, type Message } from '../message/index.js';
import { encodeJsonHeader } from '../remoting/codec.js';
import type { RemotingCommand } from '../remoting/command.js';
import { MemoryTransport, type MemoryHandler, type MemoryReply } from '../testing/memory-transport.js';
import { routeJson, scriptedBroker, scriptedNamesrv, sendResponse, type ScriptedBroker } from '../testing/scripted.js';
import { NAMESRV_TARGET } from '../transport.js';
import { Producer } from './producer.js';
import type { ProducerOptions } from './options.js';
import { failOnUnhandledRejections } from '../../../../test/unhandled.js';
import { capture } from '../../../../test/vectors.js';

failOnUnhandledRejections();

const TWO: ScriptedBroker[] = [{ name: 'broker-a', addr: 'A' }, { name: 'broker-b', addr: 'B' }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Rig { p: Producer; t: MemoryTransport; sends(): { target: string; cmd: RemotingCommand }[]; close(): Promise<void> }

async function rig(
  onSend: (cmd: RemotingCommand, target: string) => MemoryReply | Promise<MemoryReply>,
  opts: Partial<ProducerOptions> = {},
  routes: (topic: string) => string | undefined = (topic) => (topic === 'T' ? routeJson(TWO) : undefined),
): Promise<Rig> {
  const t = new MemoryTransport({
    [NAMESRV_TARGET]: scriptedNamesrv(routes),
    A: scriptedBroker((c) => onSend(c, 'A')),
    B: scriptedBroker((c) => onSend(c, 'B')),
  });
  const p = new Producer({ transport: t, producerGroup: 'pg', ...opts });
  await p.start();
  return {
    p,
    t,
    sends: () => t.requests.filter((r) => r.cmd.code === 310 || r.cmd.code === 320),
    close: async () => {
      await p.shutdown();
      assert.equal(p.client.pendingCount, 0);
    },
  };
}

const msg = (body = 'hello'): Message => ({ topic: 'T', body, tags: 'TagA' });

// ---------- the send loop, one row per branch ----------

type Expect =
  | { status: string; attempts: number }
  | { error: new (...a: never[]) => Error; code?: number; attempts: number };

const retried = (code: number) => ({ name: `code ${code} (retryable)`, reply: (c: RemotingCommand) => sendResponse(c, code, 'r'), expect: { error: MQClientError, code, attempts: 3 } });
const fatal = (code: number) => ({ name: `code ${code} (not retried)`, reply: (c: RemotingCommand) => sendResponse(c, code, 'r'), expect: { error: MQBrokerError, code, attempts: 1 } });

const rows: { name: string; reply: (c: RemotingCommand) => MemoryReply; opts?: Partial<ProducerOptions>; expect: Expect }[] = [
  { name: 'code 0', reply: (c) => sendResponse(c, 0), expect: { status: 'SEND_OK', attempts: 1 } },
  { name: 'code 10', reply: (c) => sendResponse(c, 10), expect: { status: 'FLUSH_DISK_TIMEOUT', attempts: 1 } },
  { name: 'code 11', reply: (c) => sendResponse(c, 11), expect: { status: 'SLAVE_NOT_AVAILABLE', attempts: 1 } },
  { name: 'code 12', reply: (c) => sendResponse(c, 12), expect: { status: 'FLUSH_SLAVE_TIMEOUT', attempts: 1 } },
  { name: 'code 10 + retryAnotherBrokerWhenNotStoreOK', reply: (c) => sendResponse(c, 10), opts: { retryAnotherBrokerWhenNotStoreOK: true }, expect: { status: 'FLUSH_DISK_TIMEOUT', attempts: 3 } },
  retried(1),
  fatal(2),
  { name: 'code 2 retried when in retryResponseCodes', reply: (c) => sendResponse(c, 2), opts: { retryResponseCodes: [2] }, expect: { error: MQClientError, code: 2, attempts: 3 } },
  fatal(3),
  fatal(13),
  retried(14),
  retried(16),
  { name: 'code 16 from a gateway policy ([GATEWAY_DENIED], not retried)', reply: (c) => sendResponse(c, 16, '[GATEWAY_DENIED] token of "u" may not use topic "T"'), expect: { error: MQBrokerError, code: 16, attempts: 1 } },
  { name: 'code 1 with [GATEWAY_DENIED] (not retried)', reply: (c) => sendResponse(c, 1, '[GATEWAY_DENIED] x'), expect: { error: MQBrokerError, code: 1, attempts: 1 } },
  retried(17),
  retried(204),
  retried(205),
  fatal(999),
  { name: 'connection closed by broker', reply: () => 'close', expect: { error: MQClientError, code: 10001, attempts: 3 } },
];

for (const row of rows) {
  test(`send loop: ${row.name}`, async () => {
    const r = await rig((c) => row.reply(c), row.opts);
    try {
      const p = r.p.send(msg());
      if ('status' in row.expect) {
        const res = await p;
        assert.equal(res.sendStatus, row.expect.status);
        assert.ok(res.msgId && res.offsetMsgId);
        assert.equal(res.regionId, 'DefaultRegion');
        assert.equal(res.traceOn, true);
      } else {
        const { error, code } = row.expect;
        await assert.rejects(p, (e: unknown) => {
          assert.ok(e instanceof error, `${String(e)} is a ${error.name}`);
          assert.equal((e as MQClientError).responseCode, code);
          if (e instanceof MQClientError) {
            assert.match(e.message, /^Send \[3\] times, still failed, cost \[\d+\]ms, Topic: T, BrokersSent: \[broker-., broker-., broker-.\]/);
            assert.ok(e.cause instanceof Error);
          }
          return true;
        });
      }
      const sends = r.sends();
      assert.equal(sends.length, row.expect.attempts);
      // each retry goes to the other broker; every attempt carries the same UNIQ_KEY
      for (let i = 1; i < sends.length; i++) assert.notEqual(sends[i]!.target, sends[i - 1]!.target);
      const ids = new Set(sends.map((s) => decodeProperties(s.cmd.extFields!.i!).UNIQ_KEY));
      assert.equal(ids.size, 1);
    } finally {
      await r.close();
    }
  });
}

test('send loop: connect failure → 10001 after 3 attempts on alternating brokers', async () => {
  const r = await rig((c) => sendResponse(c));
  r.t.refused.add('A').add('B');
  await assert.rejects(r.p.send(msg()), (e: unknown) => {
    assert.ok(e instanceof MQClientError && e.responseCode === 10001 && e.cause instanceof RemotingConnectError);
    assert.match(e.message, /BrokersSent: \[(broker-a, broker-b, broker-a|broker-b, broker-a, broker-b)\]/);
    return true;
  });
  await r.close();
});

test('send loop: response timeouts on every attempt → RemotingTimeoutError naming the attempts (frozen clock: the attempts run out first)', async () => {
  const r = await rig(() => 'drop', { sendMsgTimeout: 30, clock: { now: () => 0 } });
  await assert.rejects(r.p.send(msg()), (e: unknown) =>
    e instanceof RemotingTimeoutError && e.timeoutMs === 30 && e.cause instanceof RemotingTimeoutError &&
    /^Send \[3\] times, still failed.*: out of time \(sendMsgTimeout \/ SendOptions.timeout\); last error: RemotingTimeoutError: no response from [AB]/.test(e.message));
  assert.equal(r.sends().length, 3);
  await r.close();
});

test('send loop: broker address unknown (MQClientError "The broker[x] not exist") → 10003 after 3 attempts, route refreshed', async () => {
  let calls = 0;
  const r = await rig(() => 'drop', {}, () => (calls++ === 0 ? routeJson(TWO) : routeJson(TWO.map((b) => ({ ...b, master: false })))));
  await r.p.fetchPublishMessageQueues('T');
  r.p.routes.brokerAddrTable.clear();
  await assert.rejects(r.p.send(msg()), (e: unknown) =>
    e instanceof MQClientError && e.responseCode === 10003 && e.cause instanceof MQClientError && /The broker\[broker-.\] not exist/.test(e.cause.message));
  assert.equal(r.sends().length, 0);
  assert.equal(calls, 4, 'one route refresh per attempt');
  await r.close();
});

test('non-retryable error after a non-OK result returns that result', async () => {
  let n = 0;
  const r = await rig((c) => sendResponse(c, n++ === 0 ? 10 : 2), { retryAnotherBrokerWhenNotStoreOK: true });
  assert.equal((await r.p.send(msg())).sendStatus, 'FLUSH_DISK_TIMEOUT');
  assert.equal(r.sends().length, 2);
  await r.close();
});

test('retry lands on another broker and succeeds there', async () => {
  const r = await rig((c, target) => (target === 'A' ? 'close' : sendResponse(c)));
  for (let i = 0; i < 4; i++) {
    const res = await r.p.send(msg());
    assert.equal(res.messageQueue.brokerName, 'broker-b');
    assert.equal(res.brokerAddr, 'B');
  }
  await r.close();
});

test('budget exhausted mid-retry (slow broker) → RemotingTimeoutError naming the attempts made and the last error', async () => {
  const clock = { t: 0, now: () => clock.t };
  // each answer "takes" 60 ms of the 100 ms budget: attempt 1 at 0, attempt 2 at 60, no attempt 3 at 120
  const r = await rig((c) => ((clock.t += 60), sendResponse(c, 1)), { sendMsgTimeout: 100, clock });
  await assert.rejects(r.p.send(msg()), (e: unknown) =>
    e instanceof RemotingTimeoutError && e.timeoutMs === 100 && e.cause instanceof MQBrokerError &&
    /^Send \[2\] times, still failed, cost \[120\]ms, Topic: T, BrokersSent: \[broker-., broker-.\]: out of time .*; last error: MQBrokerError/.test(e.message));
  assert.equal(r.sends().length, 2);
  await r.close();
});

test('a silent broker never makes a send outlive its budget (real time)', async () => {
  const r = await rig(() => 'drop', { sendMsgTimeout: 80 });
  const t0 = Date.now();
  await assert.rejects(r.p.send(msg()), (e: unknown) => e instanceof RemotingTimeoutError && e.timeoutMs === 80);
  assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
  await r.close();
});

test('abort mid-send rejects at once with AbortError and stops further attempts', async () => {
  const r = await rig(() => 'drop');
  const ac = new AbortController();
  const t0 = Date.now();
  const p = r.p.send(msg(), { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, AbortError);
  assert.ok(Date.now() - t0 < 500);
  await sleep(30);
  assert.equal(r.sends().length, 1);
  assert.equal(r.p.client.pendingCount, 0);
  await assert.rejects(r.p.send(msg(), { signal: ac.signal }), AbortError);
  await r.close();
});

test('validation fails before any network activity', async () => {
  const r = await rig((c) => sendResponse(c));
  await assert.rejects(r.p.send({ topic: 'bad topic', body: 'x' }), (e: unknown) => e instanceof MQClientError && e.responseCode === -1);
  await assert.rejects(r.p.send({ topic: 'T', body: '' }), (e: unknown) => e instanceof MQClientError && e.responseCode === 13);
  await assert.rejects(r.p.send({ topic: 'T', body: new Uint8Array(11) }, {}).then(() => r.p.send({ topic: 'SCHEDULE_TOPIC_XXXX', body: 'x' })), MQClientError);
  const small = await rig((c) => sendResponse(c), { maxMessageSize: 10 });
  await assert.rejects(small.p.send({ topic: 'T', body: new Uint8Array(11) }), (e: unknown) => e instanceof MQClientError && e.responseCode === 13);
  assert.equal(small.t.requests.length, 0);
  await small.close();
  assert.equal(r.t.requests.filter((x) => x.cmd.code === 105).length, 1, 'only the valid send looked up the route');
  await r.close();
});

// ---------- wire format ----------

test('SEND_MESSAGE_V2 header is byte-identical to the 4.9.8 capture (01-producer-json/0006)', async () => {
  const v = capture('01-producer-json/0006-broker-SEND_MESSAGE_V2-310-SUCCESS.json');
  const t = new MemoryTransport({
    [NAMESRV_TARGET]: scriptedNamesrv(() => routeJson([{ name: 'broker-a', addr: 'A' }])),
    A: scriptedBroker(),
  });
  const p = new Producer({ transport: t, producerGroup: 'producer' });
  await p.start();
  const res = await p.send({ topic: 'TopicTest', body: 'Hello RocketMQ 0', tags: 'TagA' }, { queue: { topic: 'TopicTest', brokerName: 'broker-a', queueId: 2 } });
  const sent = t.requests.find((r) => r.cmd.code === 310)!.cmd;
  const want = v.request.header.extFields as Record<string, string>;
  assert.deepEqual(Object.keys(sent.extFields!), Object.keys(want));
  const uniq = decodeProperties(want.i!).UNIQ_KEY!;
  assert.equal(res.msgId, decodeProperties(sent.extFields!.i!).UNIQ_KEY);
  const ext = { ...sent.extFields!, g: want.g!, i: sent.extFields!.i!.replace(res.msgId, uniq) };
  assert.equal(encodeJsonHeader({ ...sent, extFields: ext, opaque: 6 }), v.request.headerText);
  assert.equal(new TextDecoder().decode(sent.body), 'Hello RocketMQ 0');
  await p.shutdown();
});

test('ROCKETMQ serializeType is used for sends and route lookups', async () => {
  const r = await rig((c) => sendResponse(c), { serializeType: 'ROCKETMQ' });
  await r.p.send(msg());
  assert.ok(r.t.requests.every((x) => x.cmd.serializeType === 'ROCKETMQ'));
  await r.close();
});

test('bodies ≥ compressMsgBodyOverHowmuch are zlib-compressed with sysFlag 0x301; retries reuse the compressed body', async () => {
  let n = 0;
  const r = await rig((c) => sendResponse(c, n++ === 0 ? 14 : 0));
  const body = 'x'.repeat(5000);
  await r.p.send(msg(body));
  const [s1, s2] = r.sends();
  assert.equal(s1!.cmd.extFields!.f, '769');
  assert.deepEqual(s1!.cmd.body, s2!.cmd.body);
  assert.equal(new TextDecoder().decode(await decompressZlib(s1!.cmd.body!)), body);
  await r.p.send(msg('y'.repeat(4095)));
  assert.equal(r.sends()[2]!.cmd.extFields!.f, '0');
  await r.close();
});

// ---------- explicit queue, selector, batch ----------

test('explicit queue: one attempt, no retry, topic must match', async () => {
  const r = await rig((c) => sendResponse(c, 1));
  const queue = { topic: 'T', brokerName: 'broker-b', queueId: 3 };
  await assert.rejects(r.p.send(msg(), { queue }), (e: unknown) => e instanceof MQBrokerError && e.responseCode === 1 && e.brokerAddr === 'B');
  assert.equal(r.sends().length, 1);
  assert.equal(r.sends()[0]!.cmd.extFields!.e, '3');
  await assert.rejects(r.p.send(msg(), { queue: { ...queue, topic: 'Other' } }), /topic not equal/);
  await r.close();
});

test('selector: gets the publishable queues and arg; exceptions and null become MQClientError; one attempt', async () => {
  const r = await rig((c) => sendResponse(c));
  const res = await r.p.send(msg(), { selector: (mqs, m, arg) => (assert.equal(m.topic, 'T'), mqs[(arg as number) % mqs.length]!), arg: 5 });
  assert.equal(res.messageQueue.brokerName, 'broker-b');
  assert.equal(res.messageQueue.queueId, 1);
  await assert.rejects(r.p.send(msg(), { selector: () => { throw new Error('nope'); } }), (e: unknown) => e instanceof MQClientError && /select message queue threw exception/.test(e.message));
  await assert.rejects(r.p.send(msg(), { selector: () => null as never }), (e: unknown) => e instanceof MQClientError && /select message queue returned null/.test(e.message));
  assert.equal(r.sends().length, 1);
  await r.close();
});

test('batch: code 320, m=true, only WAIT on the pseudo-message, own UNIQ_KEY per message, joined msgId', async () => {
  const r = await rig((c) => sendResponse(c));
  const res = await r.p.sendBatch([{ topic: 'T', body: 'a', keys: ['k1'] }, { topic: 'T', body: 'b'.repeat(5000) }]);
  const s = r.sends()[0]!.cmd;
  assert.equal(s.code, 320);
  assert.equal(s.extFields!.m, 'true');
  assert.equal(s.extFields!.i, 'WAIT\u0001true');
  assert.equal(s.extFields!.f, '0', 'batches are never compressed');
  const inner = decodeBatchBody(s.body!);
  assert.equal(inner.length, 2);
  assert.equal(res.msgId, inner.map((m) => m.properties.UNIQ_KEY).join(','));
  assert.equal(new Set(inner.map((m) => m.properties.UNIQ_KEY)).size, 2);
  for (const bad of [
    [{ topic: 'T', body: 'a' }, { topic: 'U', body: 'b' }],
    [{ topic: 'T', body: 'a', delayLevel: 2 }],
    [{ topic: '%RETRY%g', body: 'a' }],
    [{ topic: 'T', body: 'a' }, { topic: 'T', body: 'b', waitStoreMsgOK: false }],
    [],
  ] as Message[][]) {
    await assert.rejects(r.p.sendBatch(bad), MQClientError);
  }
  assert.equal(r.sends().length, 1);
  await r.close();
});

test('msgId: the given id is the UNIQ_KEY of every attempt and the SendResult\'s msgId, single and batch', async () => {
  let n = 0;
  const r = await rig((c) => sendResponse(c, n++ === 0 ? 14 : 0));
  const res = await r.p.send({ ...msg(), msgId: 'client-id-1' });
  assert.equal(res.msgId, 'client-id-1');
  assert.deepEqual(r.sends().map((x) => decodeProperties(x.cmd.extFields!.i!).UNIQ_KEY), ['client-id-1', 'client-id-1']);
  const batch = await r.p.sendBatch([{ topic: 'T', body: 'a', msgId: 'b-1' }, { topic: 'T', body: 'b' }]);
  const [first, second] = batch.msgId.split(',');
  assert.equal(first, 'b-1');
  assert.match(second!, /^[0-9A-F]{32}$/, 'a message without msgId gets a fresh one');
  await r.close();
});

// ---------- async and oneway ----------

test('oneway: flag 2 on the wire, resolves without a response, one attempt', async () => {
  const r = await rig(() => 'drop');
  await r.p.sendOneway(msg());
  await sleep(5);
  const s = r.sends();
  assert.equal(s.length, 1);
  assert.equal(s[0]!.cmd.flag, 2);
  assert.equal(r.p.client.pendingCount, 0);
  await r.close();
});

test('oneway: a failing write is not retried', async () => {
  const r = await rig(() => 'drop');
  r.t.refused.add('A').add('B');
  await assert.rejects(r.p.sendOneway(msg()), (e: unknown) => e instanceof MQClientError && e.responseCode === 10001 && /Send \[1\] times/.test(e.message));
  await r.close();
});

test('async: transport failures retried on the next broker with the same request; error responses not retried', async () => {
  const r = await rig((c, target) => (target === 'A' ? 'close' : sendResponse(c)), { retryTimesWhenSendAsyncFailed: 2 });
  for (let i = 0; i < 3; i++) assert.equal((await r.p.sendAsync(msg())).brokerAddr, 'B');
  const bySend = r.sends();
  const fromA = bySend.filter((s) => s.target === 'A');
  for (const a of fromA) {
    const retry = bySend[bySend.indexOf(a) + 1]!;
    assert.equal(retry.target, 'B');
    assert.deepEqual(retry.cmd.extFields, a.cmd.extFields, 'same header (queueId, bname) re-sent');
  }
  await r.close();

  const e = await rig((c) => sendResponse(c, 1));
  await assert.rejects(e.p.sendAsync(msg()), (err: unknown) => err instanceof MQBrokerError && err.responseCode === 1);
  assert.equal(e.sends().length, 1);
  await e.close();

  const down = await rig(() => 'close', { retryTimesWhenSendAsyncFailed: 1 });
  await assert.rejects(down.p.sendAsync(msg()), RemotingConnectError);
  assert.equal(down.sends().length, 2);
  await down.close();
});

function gate() {
  const waiting: (() => void)[] = [];
  return { hold: (reply: MemoryReply) => new Promise<MemoryReply>((res) => waiting.push(() => res(reply))), open: () => waiting.splice(0).forEach((f) => f()) };
}

test('async in-flight bound: reject mode fails at once; inFlight counts and releases', async () => {
  const g = gate();
  const r = await rig((c) => g.hold(sendResponse(c)), { maxAsyncInFlight: 2, asyncBackpressure: 'reject' });
  await r.p.fetchPublishMessageQueues('T');
  const a = r.p.sendAsync(msg('12345'));
  const b = r.p.sendAsync(msg('123'));
  assert.deepEqual(r.p.inFlight, { count: 2, bytes: 8 });
  await assert.rejects(r.p.sendAsync(msg()), RemotingTooMuchRequestError);
  await sleep(5);
  g.open();
  await Promise.all([a, b]);
  assert.deepEqual(r.p.inFlight, { count: 0, bytes: 0 });
  await r.close();
});

test('async in-flight bound: wait mode waits for capacity, or times out within the send budget', async () => {
  const g = gate();
  const r = await rig((c) => g.hold(sendResponse(c)), { maxAsyncInFlight: 10, maxAsyncInFlightBytes: 10 });
  const a = r.p.sendAsync(msg('1234567890'));
  let cDone = false;
  const c = r.p.sendAsync(msg('abc')).then((x) => ((cDone = true), x));
  await assert.rejects(r.p.sendAsync(msg('x'), { timeout: 20 }), RemotingTooMuchRequestError);
  await sleep(10);
  assert.equal(cDone, false);
  assert.deepEqual(r.p.inFlight, { count: 1, bytes: 10 });
  g.open();
  await a;
  await sleep(10);
  g.open();
  await c;
  assert.deepEqual(r.p.inFlight, { count: 0, bytes: 0 });
  await r.close();
});

// ---------- routes through the producer ----------

test('unknown topic: sends go to the TBW102 brokers with queue ids 0..3, c=TBW102 d=4', async () => {
  const r = await rig((c) => sendResponse(c), {}, (topic) => (topic === 'TBW102' ? routeJson([{ name: 'broker-a', addr: 'A', queues: 8, perm: 7 }]) : undefined));
  const queues = new Set<number>();
  for (let i = 0; i < 8; i++) queues.add((await r.p.send({ topic: 'NewTopic', body: 'x' })).messageQueue.queueId);
  assert.deepEqual([...queues].sort(), [0, 1, 2, 3]);
  const h = r.sends()[0]!.cmd.extFields!;
  assert.equal(h.c, 'TBW102');
  assert.equal(h.d, '4');
  await r.close();
});

test('route with zero writable queues → MQClientError 10005, no crash', async () => {
  const r = await rig((c) => sendResponse(c), {}, () => routeJson([{ name: 'broker-a', addr: 'A', perm: 4 }]));
  await assert.rejects(r.p.send(msg()), (e: unknown) => e instanceof MQClientError && e.responseCode === 10005 && /T: the topic has no writable queue/.test(e.message));
  await r.close();
});

// ---------- lifecycle, heartbeat, background errors ----------

test('lifecycle: send before start / after shutdown fails saying to call start(); start twice fails', async () => {
  const t = new MemoryTransport({ [NAMESRV_TARGET]: () => 'drop' });
  const p = new Producer({ transport: t });
  const states: string[] = [];
  p.on('state', (s) => states.push(s));
  await assert.rejects(p.send(msg()), (e: unknown) => e instanceof MQClientError && /start\(\)/.test(e.message));
  await p.start();
  await assert.rejects(p.start(), MQClientError);
  await p.shutdown();
  await assert.rejects(p.send(msg()), (e: unknown) => e instanceof MQClientError && /start\(\)/.test(e.message));
  assert.deepEqual(states, ['RUNNING', 'SHUTDOWN_ALREADY']);
  assert.match(p.clientId, /^127\.0\.0\.1@\d+#\d+$/);
  assert.notEqual(p.clientId, new Producer({ transport: t }).clientId);
  assert.throws(() => new Producer({ transport: t, sendMsgTimeout: -1 }), MQClientError);
  assert.throws(() => new Producer({ transport: t, producerGroup: 'bad group' }), MQClientError);
});

test('heartbeat after the first exchange with a broker (not before), periodically, and UNREGISTER_CLIENT at shutdown', async () => {
  const r = await rig((c) => sendResponse(c), { heartbeatBrokerInterval: 40, instanceName: 'inst' });
  await sleep(60);
  assert.equal(r.t.requests.length, 0, 'no traffic before the first send');
  await r.p.send(msg(), { queue: { topic: 'T', brokerName: 'broker-a', queueId: 0 } });
  await sleep(5);
  const codes = r.t.requests.filter((x) => x.target === 'A').map((x) => x.cmd.code);
  assert.deepEqual(codes, [310, 34]);
  const hb = r.t.requests.find((x) => x.cmd.code === 34)!.cmd;
  assert.equal(hb.extFields, undefined);
  assert.equal(
    new TextDecoder().decode(hb.body),
    '{"clientID":"127.0.0.1@inst","consumerDataSet":[],"producerDataSet":[{"groupName":"pg"},{"groupName":"CLIENT_INNER_PRODUCER"}]}',
  );
  await sleep(100);
  assert.ok(r.t.requests.filter((x) => x.cmd.code === 34).length >= 2, 'periodic heartbeat');
  await r.close();
  const unreg = r.t.requests.filter((x) => x.cmd.code === 35);
  assert.deepEqual(unreg.map((x) => [x.target, JSON.stringify(x.cmd.extFields)]), [
    ['A', '{"producerGroup":"pg","clientID":"127.0.0.1@inst"}'],
    ['A', '{"producerGroup":"CLIENT_INNER_PRODUCER","clientID":"127.0.0.1@inst"}'],
  ]);
  assert.equal(r.t.connections().length, 0, 'transport closed');
});

test('background failures become "error" events, never exceptions', async () => {
  let up = true;
  const r = await rig((c) => sendResponse(c), { pollNameServerInterval: 20 }, () => (up ? routeJson(TWO) : undefined));
  const errors: Error[] = [];
  r.p.on('error', (e) => errors.push(e));
  await r.p.send(msg());
  up = false;
  r.t.handle(NAMESRV_TARGET, () => new Error('namesrv crashed'));
  await sleep(80);
  assert.ok(errors.length > 0);
  assert.ok(errors.every((e) => e instanceof RemotingConnectError));
  assert.equal((await r.p.send(msg())).sendStatus, 'SEND_OK', 'cached route still used');
  await r.close();
});

test('shutdown fails in-flight sends and leaves nothing pending', async () => {
  const r = await rig(() => 'drop');
  const p = r.p.send(msg());
  await sleep(10);
  await r.p.shutdown();
  await assert.rejects(p);
  assert.equal(r.p.client.pendingCount, 0);
});

// Keep types honest: handlers compile against the public types.
const _h: MemoryHandler = () => 'drop';
void _h;
