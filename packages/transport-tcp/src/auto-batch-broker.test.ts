// autoBatch against the embedded name server + broker over TCP: concurrent sends leave as
// SEND_BATCH_MESSAGE, and every caller's SendResult is exactly its own message as the broker stored it.
import { strict as assert } from 'node:assert';
import { describe, it, type TestContext } from 'node:test';
import { startBroker, startEmbedded, startNameServer } from '@rocketmq-edge/broker';
import { pullMessages, readAll, withClient } from '@rocketmq-edge/broker/testing';
import { AbortError, MQClientError, Producer, RemotingTimeoutError, RemotingTooMuchRequestError, autoBatch, type Message, type SendResult } from '@rocketmq-edge/core';
import {
  MessageConst, MessageSysFlag, RequestCode, decompressZlib, ResponseCode, createRequest, decodeBatchBody, recordRequests, type MessageExt, type RecordedRequest,
} from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';
import { cleanupStack, createTopic, spawnBrokerCli, tempDir, u8 } from './test-support.js';

const utf8 = new TextEncoder();
let n = 0;
const topicName = (what: string): string => `AB_${what}_${process.pid}_${n++}`;

/** An embedded name server + broker and an autoBatch producer over a recording TcpTransport. */
async function setup(t: TestContext, opts: {
  maxBatchMessages?: number; batchMaxBytes?: number; totalBatchMaxBytes?: number; asyncBackpressure?: 'wait' | 'reject'; batchMaxDelayMs?: number;
} = {}) {
  const defer = cleanupStack(t);
  const dataDir = await tempDir(t);
  const embedded = await startEmbedded({ dataDir, maxBatchMessages: opts.maxBatchMessages });
  defer(() => embedded.close());
  const { transport, requests } = recordRequests(new TcpTransport({ namesrvAddr: embedded.namesrvAddr }));
  const { maxBatchMessages: _, ...producerOpts } = opts;
  const producer = new Producer({ transport, producerGroup: 'it_auto_batch', autoBatch, ...producerOpts });
  await producer.start();
  defer(async () => {
    await producer.shutdown();
    await transport.close();
  });
  return { producer, requests, namesrvAddr: embedded.namesrvAddr, embedded };
}

/** Send requests (single and batch) written for `topic`. */
const sendsOf = (requests: RecordedRequest[], topic: string): RecordedRequest[] =>
  requests.filter((r) => (r.cmd.code === RequestCode.SEND_MESSAGE_V2 || r.cmd.code === RequestCode.SEND_BATCH_MESSAGE) && r.cmd.extFields?.b === topic);
const isBatch = (r: RecordedRequest): boolean => r.cmd.code === RequestCode.SEND_BATCH_MESSAGE;
const records = (r: RecordedRequest) => decodeBatchBody(r.cmd.body!, r.cmd.extFields!.b);

/** Each result is its own stored message: UNIQ_KEY, offset id, queue, offset, body and properties. */
function assertEachStored(stored: MessageExt[], sent: { msg: Message; result: SendResult }[]): void {
  assert.equal(stored.length, sent.length, 'as many stored as acknowledged');
  const byId = new Map(stored.map((m) => [m.properties[MessageConst.UNIQ_KEY]!, m]));
  assert.equal(byId.size, stored.length, 'every UNIQ_KEY stored once');
  for (const { msg, result } of sent) {
    assert.equal(result.sendStatus, 'SEND_OK');
    const m = byId.get(result.msgId);
    assert.ok(m, `${result.msgId} stored`);
    assert.equal(result.offsetMsgId, m.offsetMsgId, 'its own offset id');
    assert.equal(result.messageQueue.queueId, m.queueId);
    assert.equal(result.queueOffset, m.queueOffset, 'its own queue offset');
    assert.deepEqual(u8(m.body), typeof msg.body === 'string' ? utf8.encode(msg.body) : msg.body);
    assert.equal(m.properties[MessageConst.TAGS], msg.tags);
    assert.equal(m.properties[MessageConst.KEYS], msg.keys);
    for (const [k, v] of Object.entries(msg.properties ?? {})) assert.equal(m.properties[k], v);
  }
}

describe('autoBatch → embedded broker over TCP', () => {
  it('concurrent send and sendAsync calls go as SEND_BATCH_MESSAGE; each result is its own stored message, in order within a queue', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t);
    const topic = topicName('concurrent');
    await producer.send({ topic, body: 'create' });
    const msgs: Message[] = Array.from({ length: 200 }, (_, i) => ({
      topic,
      body: i % 3 ? crypto.getRandomValues(new Uint8Array(200 + i)) : `message ${i} ✓`,
      tags: `T${i % 4}`,
      keys: `k${i}`,
      properties: { seq: String(i), 'x-unicode': 'é中' },
    }));
    const results = await Promise.all(msgs.map((m, i) => (i % 2 ? producer.sendAsync(m) : producer.send(m))));
    const sends = sendsOf(requests, topic).slice(1); // after 'create'
    assert.ok(sends.length > 0 && sends.every(isBatch), `only batches: ${sends.map((r) => r.cmd.code)}`);
    assert.equal(sends.reduce((k, r) => k + records(r).length, 0), 200, 'every message in exactly one batch');
    for (const r of sends) assert.ok(records(r).reduce((k, m) => k + m.body.length, 0) <= 32_768, 'batchMaxBytes (32 KiB) holds');
    assert.equal(new Set(results.map((r) => r.msgId)).size, 200, 'each caller its own msgId');

    const stored = (await readAll({ namesrvAddr, topic })).filter((m) => m.properties.seq !== undefined);
    assertEachStored(stored, msgs.map((msg, i) => ({ msg, result: results[i]! })));
    // Within a queue the broker's order is the order of the calls, for each of send and sendAsync
    // (as in 5.x, which accumulates the two apart: here an ASYNC send first takes its in-flight permit).
    const byQueue = new Map<string, number[]>();
    for (const m of [...stored].sort((a, b) => a.queueOffset - b.queueOffset)) {
      const key = `${m.queueId} ${Number(m.properties.seq) % 2 ? 'sendAsync' : 'send'}`;
      byQueue.set(key, [...(byQueue.get(key) ?? []), Number(m.properties.seq)]);
    }
    for (const [q, seqs] of byQueue) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `queue ${q} in call order`);
  });

  it('a send with nothing beside it goes as a plain SEND_MESSAGE_V2, not a batch of one', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t);
    const topic = topicName('lone');
    const sent = [];
    for (let i = 0; i < 5; i++) {
      const msg = { topic, body: `lone ${i}`, tags: 'L', keys: `l${i}` };
      sent.push({ msg, result: await producer.send(msg) });
    }
    assert.deepEqual(sendsOf(requests, topic).map((r) => r.cmd.code), Array(5).fill(RequestCode.SEND_MESSAGE_V2));
    assertEachStored(await readAll({ namesrvAddr, topic }), sent);
  });

  it('messages that cannot be batched go alone; batches hold one topic and one WAIT', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t, { batchMaxBytes: 2048 });
    const topic = topicName('mixed');
    const other = topicName('mixed_other');
    const first = await producer.send({ topic, body: 'create' });
    await producer.send({ topic: other, body: 'create' });
    const queue = { ...first.messageQueue, queueId: 1 };
    const alone = (tags: string, send: () => Promise<unknown>) => ({ tags, send });
    const big = crypto.getRandomValues(new Uint8Array(3000)); // over batchMaxBytes
    const compressible = new Uint8Array(5000).fill(7); // over compressMsgBodyOverHowmuch: compressed, as without autoBatch
    const lonely = [
      alone('delay', () => producer.send({ topic, body: 'delay', tags: 'delay', delayLevel: 1 })),
      alone('timer', () => producer.send({ topic, body: 'timer', tags: 'timer', deliverTimeMs: Date.now() + 1000 })),
      alone('queue', () => producer.send({ topic, body: 'queue', tags: 'queue' }, { queue })),
      alone('selector', () => producer.send({ topic, body: 'selector', tags: 'selector' }, { selector: (mqs) => mqs[2]!, arg: 0 })),
      alone('oneway', () => producer.sendOneway({ topic, body: 'oneway', tags: 'oneway' })),
      alone('big', () => producer.sendAsync({ topic, body: big, tags: 'big' })),
      alone('compressible', () => producer.send({ topic, body: compressible, tags: 'compressible' })),
    ];
    const plain = (i: number, waitStoreMsgOK = true, to = topic) => producer.send({ topic: to, body: `plain ${i}`, tags: 'plain', keys: `p${i}`, waitStoreMsgOK });
    await Promise.all([
      ...lonely.map((a) => a.send()),
      ...Array.from({ length: 6 }, (_, i) => plain(i)),
      ...Array.from({ length: 4 }, (_, i) => plain(10 + i, false)),
      ...Array.from({ length: 4 }, (_, i) => plain(20 + i, true, other)),
    ]);
    const sends = [...sendsOf(requests, topic), ...sendsOf(requests, other)].filter((r) => !r.cmd.extFields!.i!.includes('create'));
    for (const { tags } of lonely) {
      const mine = sends.filter((r) => r.cmd.extFields!.i!.includes(`TAGS\u0001${tags}`) || (isBatch(r) && records(r).some((m) => m.properties.TAGS === tags)));
      assert.equal(mine.length, 1, `${tags}: one request`);
      assert.equal(mine[0]!.cmd.code, RequestCode.SEND_MESSAGE_V2, `${tags} went alone`);
    }
    const batches = sends.filter(isBatch);
    assert.equal(batches.length, 3, 'one batch per topic and WAIT');
    for (const b of batches) {
      const recs = records(b);
      assert.ok(recs.every((m) => m.properties.TAGS === 'plain' && m.properties.WAIT === b.cmd.extFields!.i!.split('\u0001')[1]), 'one WAIT per batch');
    }
    assert.deepEqual(batches.map((b) => `${b.cmd.extFields!.b === other ? 'other' : 'topic'}:${records(b).length}`).sort(), ['other:4', 'topic:4', 'topic:6']);
    const stored = await readAll({ namesrvAddr, topic });
    const c = stored.find((m) => m.properties.TAGS === 'compressible');
    assert.ok(c && c.sysFlag & MessageSysFlag.COMPRESSED_FLAG, 'stored compressed, as without autoBatch');
    assert.deepEqual(u8(await decompressZlib(c.body)), compressible);
  });

  it('batchMaxDelayMs: sends from different tasks within the delay share one batch', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t, { batchMaxDelayMs: 2000 });
    const topic = topicName('delay');
    await producer.send({ topic, body: 'create' }, { timeout: 10_000 });
    const msgs = Array.from({ length: 3 }, (_, i) => ({ topic, body: `d${i}`, tags: 'D', keys: `d${i}` }));
    const sends: Promise<SendResult>[] = [];
    for (const m of msgs) {
      sends.push(producer.send(m));
      await new Promise((r) => setTimeout(r, 0)); // the next send starts in another task
    }
    const results = await Promise.all(sends);
    const batches = sendsOf(requests, topic).filter(isBatch);
    assert.deepEqual(batches.map((b) => records(b).map((m) => m.properties.KEYS)), [['d0', 'd1', 'd2']]);
    assertEachStored((await readAll({ namesrvAddr, topic })).filter((m) => m.properties.TAGS === 'D'), msgs.map((msg, i) => ({ msg, result: results[i]! })));
  });

  it('a batch waiting for company leaves by its members\' deadlines: a short timeout fails on time, the others go then', { timeout: 20_000 }, async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t, { batchMaxDelayMs: 30_000, batchMaxBytes: 16 });
    const topic = topicName('deadline');
    await producer.send({ topic, body: 'over batchMaxBytes: goes at once' });
    const msg = { topic, body: 'long', tags: 'L' };
    const long = producer.send(msg, { timeout: 15_000 });
    const short = producer.send({ topic, body: 'short', tags: 'L' }, { timeout: 200 });
    await assert.rejects(short, RemotingTimeoutError);
    const result = await long; // within the test's 20 s, not after batchMaxDelayMs (30 s)
    assert.equal(sendsOf(requests, topic).filter((r) => r.cmd.extFields!.i!.includes('TAGS\u0001L')).length, 1, 'the long one alone: the short one was out of time');
    assertEachStored((await readAll({ namesrvAddr, topic })).filter((m) => m.properties.TAGS === 'L'), [{ msg, result }]);
  });

  it('shutdown sends a batch still waiting for its delay at once (answered before the connection closes)', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t, { batchMaxDelayMs: 30_000, batchMaxBytes: 16 });
    const topic = topicName('shutdown');
    const big = { topic, body: 'over batchMaxBytes: goes at once' };
    const first = await producer.send(big); // route, connection, and a broker to unregister from at shutdown
    const msg = { topic, body: 'waits', tags: 'W' };
    const waiting = producer.send(msg, { timeout: 10_000 }); // would wait 30 s for company
    await waitUntil(() => requests.some((r) => r.cmd.code === RequestCode.HEART_BEAT));
    await producer.shutdown(); // written before UNREGISTER_CLIENT, on the same connection: answered before it
    const result = await waiting;
    assertEachStored(await readAll({ namesrvAddr, topic }), [{ msg: big, result: first }, { msg, result }]);
  });

  it('an aborted member is left out of a batch not yet written; the others are stored', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t);
    const topic = topicName('abort');
    await producer.send({ topic, body: 'create' });
    const ac = new AbortController();
    const msgs = Array.from({ length: 5 }, (_, i) => ({ topic, body: `m${i}`, tags: 'A', keys: `a${i}` }));
    const sends = msgs.map((m, i) => producer.send(m, i === 2 ? { signal: ac.signal } : {}));
    ac.abort(); // same task: before the batch leaves
    const settled = await Promise.allSettled(sends);
    assert.ok(settled[2]!.status === 'rejected' && settled[2]!.reason instanceof AbortError);
    const [batch] = sendsOf(requests, topic).filter(isBatch);
    assert.deepEqual(records(batch!).map((m) => m.properties.KEYS), ['a0', 'a1', 'a3', 'a4']);
    const sent = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ msg: msgs[i]!, result: s.value }] : []));
    assertEachStored((await readAll({ namesrvAddr, topic })).filter((m) => m.properties.TAGS === 'A'), sent);
  });

  it('a broker that refuses the batch (more records than it takes): each member goes alone and is stored once', async (t) => {
    const { producer, requests, namesrvAddr } = await setup(t, { maxBatchMessages: 3 });
    const topic = topicName('refused');
    await producer.send({ topic, body: 'create' });
    const msgs = Array.from({ length: 8 }, (_, i) => ({ topic, body: `r${i}`, tags: 'R', keys: `r${i}` }));
    const results = await Promise.all(msgs.map((m) => producer.send(m)));
    const codes = sendsOf(requests, topic).slice(1).map((r) => r.cmd.code);
    assert.deepEqual(codes, [RequestCode.SEND_BATCH_MESSAGE, ...Array(8).fill(RequestCode.SEND_MESSAGE_V2)]);
    assertEachStored((await readAll({ namesrvAddr, topic })).filter((m) => m.properties.TAGS === 'R'), msgs.map((msg, i) => ({ msg, result: results[i]! })));
  });

  it('a batch refused for what every message would be refused for (no write permission): each member fails as its own send would, retries batched too', async (t) => {
    const { producer, requests, namesrvAddr, embedded } = await setup(t);
    const topic = topicName('readonly');
    await producer.send({ topic, body: 'create' }); // the producer caches a writable route
    // The broker takes writes away; the cached route still says writable, so the sends reach it.
    await withClient(namesrvAddr, async (client) => {
      const res = await client.invoke(embedded.broker.addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
        topic, defaultTopic: 'TBW102', readQueueNums: '4', writeQueueNums: '4', perm: '4', topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false',
      }), 3000);
      assert.equal(res.code, ResponseCode.SUCCESS);
    });
    const settled = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => producer.send({ topic, body: `ro${i}` })));
    for (const s of settled) {
      assert.equal(s.status, 'rejected');
      assert.ok(s.reason instanceof MQClientError && s.reason.responseCode === ResponseCode.NO_PERMISSION, String(s.reason));
    }
    const sends = sendsOf(requests, topic).slice(1);
    assert.ok(sends.every(isBatch), 'retries go batched as well');
    assert.deepEqual(sends.map((r) => records(r).length), [6, 6, 6], '1 + retryTimesWhenSendFailed attempts, each one batch of all six');
    assert.equal((await readAll({ namesrvAddr, topic })).length, 1, "nothing stored but 'create'");
  });

  it('totalBatchMaxBytes bounds batched sends in flight: sendAsync is refused (asyncBackpressure reject) or waits, and nothing is lost', async (t) => {
    const { producer, namesrvAddr } = await setup(t, { totalBatchMaxBytes: 1000, asyncBackpressure: 'reject' });
    const topic = topicName('total');
    await producer.send({ topic, body: 'create' });
    const msgs = Array.from({ length: 5 }, (_, i) => ({ topic, body: new Uint8Array(300).fill(i), tags: 'T', keys: `t${i}` }));
    const settled = await Promise.allSettled(msgs.map((m) => producer.sendAsync(m)));
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'], '3 × 300 bytes fit in 1000');
    const e = (settled[3] as PromiseRejectedResult).reason;
    assert.ok(e instanceof RemotingTooMuchRequestError && /raise totalBatchMaxBytes/.test(e.message), String(e));
    // SYNC sends wait for room within their budget: all five go, the later ones in a second batch.
    const results = await Promise.all(msgs.map((m) => producer.send({ ...m, tags: 'W' })));
    const stored = await readAll({ namesrvAddr, topic });
    assertEachStored(stored.filter((m) => m.properties.TAGS === 'T'), [0, 1, 2].map((i) => ({ msg: msgs[i]!, result: (settled[i] as PromiseFulfilledResult<SendResult>).value })));
    assertEachStored(stored.filter((m) => m.properties.TAGS === 'W'), msgs.map((m, i) => ({ msg: { ...m, tags: 'W' }, result: results[i]! })));
  });

  it('a batch lost with its broker: every member is retried on the other broker within its own budget', async (t) => {
    const defer = cleanupStack(t);
    const namesrv = await startNameServer({ host: '127.0.0.1', port: 0 });
    defer(() => namesrv.close());
    const a = await spawnBrokerCli(t, { dataDir: await tempDir(t), name: 'broker-a', namesrv: namesrv.addr });
    const b = await startBroker({ namesrvAddr: namesrv.addr, dataDir: await tempDir(t), brokerName: 'broker-b' });
    defer(() => b.close());
    const topic = topicName('failover');
    await createTopic(namesrv.addr, [a.brokerAddr, b.addr], topic);
    const { transport, requests } = recordRequests(new TcpTransport({ namesrvAddr: namesrv.addr, connectTimeoutMs: 1000 }));
    defer(() => transport.close());
    const producer = new Producer({ transport, producerGroup: 'it_auto_batch_failover', autoBatch, sendMsgTimeout: 10_000 });
    await producer.start();
    defer(() => producer.shutdown());
    await Promise.all(Array.from({ length: 16 }, (_, i) => producer.send({ topic, body: `warm ${i}` }))); // connections to both brokers
    a.child.kill('SIGSTOP'); // broker-a takes the batch and never answers
    const msgs = Array.from({ length: 16 }, (_, i) => ({ topic, body: `f${i}`, tags: 'F', keys: `f${i}` }));
    const before = requests.length;
    const pending = Promise.all(msgs.map((m) => producer.send(m)));
    await waitUntil(() => requests.slice(before).some((r) => r.target === a.brokerAddr && isBatch(r)));
    await a.kill(); // the connection drops with the batch unanswered
    const results = await pending;
    assert.ok(results.every((r) => r.messageQueue.brokerName === 'broker-b'), 'every member acknowledged by broker-b');
    const stored = await readBroker(b.addr, topic);
    assertEachStored(stored.filter((m) => m.properties.TAGS === 'F'), msgs.map((msg, i) => ({ msg, result: results[i]! })));
  });

  it('timeouts and aborts are per member: the batch goes on for the others once written', async (t) => {
    const defer = cleanupStack(t);
    const cli = await spawnBrokerCli(t, { dataDir: await tempDir(t) });
    const { transport, requests } = recordRequests(new TcpTransport({ namesrvAddr: cli.namesrvAddr }));
    defer(() => transport.close());
    const producer = new Producer({ transport, producerGroup: 'it_auto_batch_stop', autoBatch });
    await producer.start();
    defer(() => producer.shutdown());
    const topic = topicName('stopped');
    await producer.send({ topic, body: 'create' });
    cli.child.kill('SIGSTOP');
    defer(() => void cli.child.kill('SIGCONT'));
    const ac = new AbortController();
    const short = producer.send({ topic, body: 'short', tags: 'S', keys: 'short' }, { timeout: 300 });
    const aborted = producer.send({ topic, body: 'aborted', tags: 'S', keys: 'aborted' }, { timeout: 20_000, signal: ac.signal });
    const msg = { topic, body: 'long', tags: 'S', keys: 'long' };
    let longDone = false;
    const long = producer.send(msg, { timeout: 20_000 }).finally(() => (longDone = true));
    await waitUntil(() => sendsOf(requests, topic).some(isBatch));
    await assert.rejects(short, RemotingTimeoutError);
    ac.abort();
    await assert.rejects(aborted, AbortError);
    assert.equal(longDone, false, 'the member with budget left still waits');
    cli.child.kill('SIGCONT');
    const result = await long;
    const batches = sendsOf(requests, topic).filter(isBatch);
    assert.equal(batches.length, 1);
    assert.deepEqual(records(batches[0]!).map((m) => m.properties.KEYS), ['short', 'aborted', 'long']);
    const stored = (await readAll({ namesrvAddr: cli.namesrvAddr, topic })).filter((m) => m.properties.TAGS === 'S');
    // As for single sends, a message whose caller gave up after it was written may still be stored.
    assert.equal(stored.length, 3);
    assertEachStored(stored.filter((m) => m.properties.KEYS === 'long'), [{ msg, result }]);
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition reached within 10 s');
}

/** The messages of `topic` on one broker, queues 0..3 (readAll reads every broker of the route, and one is gone). */
async function readBroker(brokerAddr: string, topic: string): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  for (let queueId = 0; queueId < 4; queueId++) {
    for (let offset = 0; ;) {
      const p = await pullMessages({ brokerAddr, topic, queueId, offset, maxNums: 256 });
      out.push(...p.messages);
      if (p.status !== 'FOUND') break;
      offset = p.nextBeginOffset;
    }
  }
  return out;
}
