// core's LitePullConsumer over TcpTransport against the embedded name server + broker: what the
// Producer had acknowledged is what the consumer hands out, once, from where the group left off.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmbedded, type Embedded } from '@rocketmq-edge/broker';
import { Producer, type SendResult } from '@rocketmq-edge/core';
import { LitePullConsumer, type LitePullConsumerOptions } from '@rocketmq-edge/core/consumer';
import {
  RemotingConnectError, decodeCommand, type ConnectionHandlers, type MessageExt, type MessageQueue, type Transport, type TransportConnection,
} from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';
import { sleep } from './test-support.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A TcpTransport that counts the PULL_MESSAGE requests it writes and can be cut off like a closed tab. */
class TestTransport implements Transport {
  pulls = 0;
  #dead = false;
  readonly #inner: TcpTransport;
  constructor(namesrvAddr: string) {
    this.#inner = new TcpTransport({ namesrvAddr });
  }
  async connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection> {
    if (this.#dead) throw new RemotingConnectError(target, 'cut off');
    const c: TransportConnection = await this.#inner.connect(target, handlers, signal);
    return {
      target: c.target,
      headroom: c.headroom,
      send: (frame, headroom, timeoutMs) => {
        if (decodeCommand(frame).code === 11) this.pulls++;
        c.send(frame, headroom, timeoutMs);
      },
      close: () => c.close(),
    };
  }
  /** Every connection closed, no new ones: the broker sees this client vanish without unregistering. */
  kill(): Promise<void> {
    this.#dead = true;
    return this.#inner.close();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** Polls until `n` messages came (or 15 s passed); returns them. */
async function receive(c: LitePullConsumer, n: number, into: MessageExt[] = []): Promise<MessageExt[]> {
  const deadline = Date.now() + 15_000;
  while (into.length < n && Date.now() < deadline) into.push(...(await c.poll(200)));
  return into;
}

/** Polls until every id of `ids` came (or 15 s passed); returns everything received. */
async function receiveIds(c: LitePullConsumer, ids: string[]): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  const deadline = Date.now() + 15_000;
  while (!ids.every((id) => out.some((m) => m.msgId === id)) && Date.now() < deadline) out.push(...(await c.poll(200)));
  return out;
}

/** A fresh embedded name server + broker in a temporary directory. */
async function embeddedBroker(opts: Partial<Parameters<typeof startEmbedded>[0]> = {}): Promise<Embedded & { remove(): Promise<void> }> {
  const dir = await mkdtemp(join(os.tmpdir(), 'rmq-edge-consumer-'));
  const e = await startEmbedded({ dataDir: dir, ...opts });
  return Object.assign(e, { remove: async () => { await e.close(); await rm(dir, { recursive: true, force: true }); } });
}

/** What arrives within `ms` (tests that expect nothing). */
async function quiet(c: LitePullConsumer, ms = 600): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) out.push(...(await c.poll(Math.max(0, Math.min(200, end - Date.now())))));
  return out;
}

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const byQueue = (a: MessageQueue, b: MessageQueue): number => a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId;

describe('LitePullConsumer over TcpTransport → embedded broker', () => {
  let embedded: Awaited<ReturnType<typeof embeddedBroker>>;
  let producer: Producer;
  let n = 0;
  const topic = (name: string) => `IT_${name}_${process.pid}_${n++}`;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    embedded = await embeddedBroker();
    producer = new Producer({ transport: new TcpTransport({ namesrvAddr: embedded.namesrvAddr }), producerGroup: 'it_consumer_pg' });
    await producer.start();
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await producer?.shutdown();
    await embedded?.remove();
  });

  function consumer(opts: Partial<LitePullConsumerOptions> & { consumerGroup: string }, transport = new TestTransport(embedded.namesrvAddr)): LitePullConsumer & { transport: TestTransport } {
    const c = Object.assign(new LitePullConsumer({ transport, ...opts }), { transport });
    cleanups.push(() => c.shutdown());
    return c;
  }

  /** Sends `count` messages (tags cycling through `tags`); resolves their SendResults. */
  async function send(t: string, count: number, tags = ['TagA'], body = (i: number) => `${t} #${i}`): Promise<SendResult[]> {
    const out: SendResult[] = [];
    for (let i = 0; i < count; i++) out.push(await producer.send({ topic: t, body: body(i), tags: tags[i % tags.length] }));
    return out;
  }

  it('hands out every acknowledged message once, bodies and properties equal, compressed bodies inflated', async () => {
    const t = topic('all');
    const big = (i: number) => `${'large body line '.repeat(400)}#${i}`; // ≥ 4096 bytes: sent compressed
    const sent: { result: SendResult; body: Uint8Array; tags: string; keys: string; props: Record<string, string> }[] = [];
    for (let i = 0; i < 24; i++) {
      const body = i % 8 === 7 ? new TextEncoder().encode(big(i)) : i % 8 === 3 ? Uint8Array.from([0, 255, 1, 254, i]) : new TextEncoder().encode(`m${i}`);
      const m = { tags: `T${i % 3}`, keys: `key-${i}`, props: { n: String(i), who: 'it' } };
      sent.push({ result: await producer.send({ topic: t, body, tags: m.tags, keys: m.keys, properties: m.props }), body, ...m });
    }
    assert.ok(sent.some((s) => s.body.length >= 4096));
    const c = consumer({ consumerGroup: `g_all_${n}` });
    c.subscribe(t, '*');
    await c.start();
    const got = await receive(c, 24);
    assert.equal(got.length, 24);
    assert.deepEqual(await quiet(c, 300), [], 'nothing twice');
    const byId = new Map(got.map((m) => [m.msgId, m]));
    assert.equal(byId.size, 24);
    for (const s of sent) {
      const m = byId.get(s.result.msgId);
      assert.ok(m, `received ${s.result.msgId}`);
      assert.deepEqual(new Uint8Array(m.body), s.body);
      assert.equal(m.tags, s.tags);
      assert.equal(m.keys, s.keys);
      assert.equal(m.properties.n, s.props.n);
      assert.equal(m.properties.who, 'it');
      assert.equal(m.topic, t);
      assert.deepEqual(m.queue, s.result.messageQueue);
      assert.equal(m.queueOffset, s.result.queueOffset);
      assert.equal(m.offsetMsgId, s.result.offsetMsgId);
      assert.equal(m.reconsumeTimes, 0);
      assert.ok(m.bornTimestamp > 0 && m.storeTimestamp >= m.bornTimestamp - 1000);
    }
    // within a queue, in queue order
    for (const q of c.assignment()) {
      const offsets = got.filter((m) => m.queueId === q.queueId).map((m) => m.queueOffset);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
    }
  });

  it('filters by tags: "TagA || TagB" gets exactly those, "*" everything', async () => {
    const t = topic('tags');
    const sent = await send(t, 30, ['TagA', 'TagB', 'TagC']);
    const ab = consumer({ consumerGroup: `g_ab_${n}` });
    ab.subscribe(t, 'TagA || TagB');
    const all = consumer({ consumerGroup: `g_star_${n}` });
    all.subscribe(t, '*');
    await Promise.all([ab.start(), all.start()]);
    const gotAb = await receive(ab, 20);
    const gotAll = await receive(all, 30);
    assert.deepEqual(await quiet(ab, 300), []);
    const wanted = sent.filter((_, i) => i % 3 !== 2).map((r) => r.msgId).sort();
    assert.deepEqual(gotAb.map((m) => m.msgId).sort(), wanted);
    assert.ok(gotAb.every((m) => m.tags === 'TagA' || m.tags === 'TagB'));
    assert.deepEqual(gotAll.map((m) => m.msgId).sort(), sent.map((r) => r.msgId).sort());
  });

  it('seeks by offset, timestamp, beginning and end; refuses offsets outside the queue and queues not assigned', async () => {
    const t = topic('seek');
    const [mq0] = await producer.fetchPublishMessageQueues(t);
    const mq = { ...mq0!, queueId: 0 };
    const results: SendResult[] = [];
    for (let i = 0; i < 10; i++) {
      if (i === 6) await sleep(30); // message 6 is the first stored after this moment
      results.push(await producer.send({ topic: t, body: `s${i}` }, { queue: mq }));
    }
    const c = consumer({ consumerGroup: `g_seek_${n}`, pullBatchSize: 4 });
    c.assign([mq]);
    await c.start();
    const offsets = async (count: number) => (await receive(c, count)).map((m) => m.queueOffset);
    assert.deepEqual(await offsets(10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'a new group reads a young queue from 0');
    await c.seek(mq, 3);
    assert.deepEqual(await offsets(7), [3, 4, 5, 6, 7, 8, 9]);
    await c.seek(mq, 6);
    const [m6] = await receive(c, 4);
    assert.equal(m6!.queueOffset, 6);
    assert.equal(await c.offsetForTimestamp(mq, m6!.storeTimestamp), 6);
    await c.seekToBegin(mq);
    assert.deepEqual(await offsets(10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await c.seekToTimestamp(mq, m6!.storeTimestamp);
    assert.deepEqual(await offsets(4), [6, 7, 8, 9]);
    await c.seekToEnd(mq);
    assert.deepEqual(await quiet(c, 300), []);
    await producer.send({ topic: t, body: 'after the end' }, { queue: mq });
    const [last] = await receive(c, 1);
    assert.deepEqual([last!.queueOffset, text(last!.body)], [10, 'after the end']);
    await assert.rejects(c.seek(mq, 99), /Seek offset illegal, seek offset = 99, min offset = 0, max offset = 11/);
    await assert.rejects(c.seek({ ...mq, queueId: 1 }, 0), /not in assigned list/);
  });

  it('a second instance of the group continues where the first committed (commitSync, and autoCommit at shutdown)', async () => {
    const t = topic('restart');
    const group = `g_restart_${n}`;
    const first = await send(t, 10);
    const a = consumer({ consumerGroup: group, autoCommit: false });
    a.subscribe(t);
    await a.start();
    assert.equal((await receive(a, 10)).length, 10);
    await a.commitSync();
    const committed = await Promise.all(a.assignment().map((mq) => a.committed(mq)));
    assert.equal(committed.reduce((x, y) => x + y, 0), 10);
    await a.shutdown();
    const later = await send(t, 5);
    const b = consumer({ consumerGroup: group });
    b.subscribe(t);
    await b.start();
    assert.deepEqual((await receive(b, 5)).map((m) => m.msgId).sort(), later.map((r) => r.msgId).sort());
    assert.deepEqual(await quiet(b), [], `none of the ${first.length} committed before`);
    // autoCommit: what poll() returned is committed at shutdown
    await b.shutdown();
    const last = await send(t, 3);
    const c = consumer({ consumerGroup: group });
    c.subscribe(t);
    await c.start();
    assert.deepEqual((await receive(c, 3)).map((m) => m.msgId).sort(), last.map((r) => r.msgId).sort());
    assert.deepEqual(await quiet(c), []);
  });

  it('two members of a group each read half of the queues and together receive every message once; a leaving member\'s queues move', async () => {
    const t = topic('group');
    await send(t, 4); // creates the topic (4 queues)
    const group = `g_group_${n}`;
    const a = consumer({ consumerGroup: group, autoCommit: false });
    const b = consumer({ consumerGroup: group, autoCommit: false });
    a.subscribe(t);
    b.subscribe(t);
    await a.start();
    await b.start();
    await until('two queues each', () => a.assignment().length === 2 && b.assignment().length === 2);
    assert.deepEqual([...a.assignment(), ...b.assignment()].sort(byQueue).map((q) => q.queueId), [0, 1, 2, 3]);
    assert.notEqual(a.clientId, b.clientId);
    const batch1 = await send(t, 40);
    const gotA: MessageExt[] = [];
    const gotB: MessageExt[] = [];
    const until44 = Date.now() + 15_000;
    while (gotA.length + gotB.length < 44 && Date.now() < until44) {
      const [x, y] = await Promise.all([a.poll(100), b.poll(100)]);
      gotA.push(...x);
      gotB.push(...y);
    }
    const ids = [...gotA, ...gotB].map((m) => m.msgId);
    assert.equal(ids.length, 44);
    assert.equal(new Set(ids).size, 44, 'each message once');
    assert.ok(batch1.every((r) => ids.includes(r.msgId)));
    assert.ok(gotA.every((m) => a.assignment().some((q) => q.queueId === m.queueId)));
    await Promise.all([a.commitSync(), b.commitSync()]);

    // a leaves (unregisters): b gets all four queues and nothing it or a already had
    await a.shutdown();
    await until('b reads all four', () => b.assignment().length === 4);
    const batch2 = await send(t, 20);
    const after = await receive(b, 20);
    assert.deepEqual(after.map((m) => m.msgId).sort(), batch2.map((r) => r.msgId).sort());
    assert.deepEqual(await quiet(b), []);
    await b.commitSync();

    // c joins, reads without committing, then vanishes (connection gone, no unregister): b reads c's
    // queues again from their committed offsets, i.e. exactly what c had not committed
    const c = consumer({ consumerGroup: group, autoCommit: false });
    c.subscribe(t);
    await c.start();
    await until('c and b share', () => c.assignment().length === 2 && b.assignment().length === 2);
    const batch3 = await send(t, 20);
    const gotC: MessageExt[] = [];
    const gotB3: MessageExt[] = [];
    const deadline = Date.now() + 15_000;
    while (gotC.length + gotB3.length < 20 && Date.now() < deadline) {
      const [x, y] = await Promise.all([c.poll(100), b.poll(100)]);
      gotC.push(...x);
      gotB3.push(...y);
    }
    assert.equal(gotC.length + gotB3.length, 20);
    assert.ok(gotC.length > 0);
    await b.commitSync();
    await c.transport.kill();
    await until('b reads all four again', () => b.assignment().length === 4);
    const again = await receive(b, gotC.length);
    assert.deepEqual(again.map((m) => m.msgId).sort(), gotC.map((m) => m.msgId).sort(), 'redelivered: what c had not committed');
    assert.deepEqual(await quiet(b), [], 'nothing b had committed');
    assert.ok(batch3.every((r) => [...gotB3, ...again].some((m) => m.msgId === r.msgId)));
  });

  it('an idle consumer long-polls: at most one PULL_MESSAGE per queue per suspend period', async () => {
    const t = topic('idle');
    await send(t, 1);
    const c = consumer({ consumerGroup: `g_idle_${n}`, brokerSuspendMaxTimeMillis: 1000, consumerTimeoutMillisWhenSuspend: 3000 });
    c.subscribe(t);
    await c.start();
    await receive(c, 1);
    await until('four queues', () => c.assignment().length === 4);
    await sleep(300);
    const before = c.transport.pulls;
    await sleep(3000);
    const pulls = c.transport.pulls - before;
    // 3 s idle over 4 queues held 1 s each: 4 × (3 + 1) at most; a busy loop would send thousands
    assert.ok(pulls <= 16, `${pulls} pulls in 3 s`);
    assert.ok(pulls >= 4, `${pulls} pulls in 3 s: every queue keeps a pull outstanding`);
  });

  it('poll() honours an AbortSignal; shutdown ends a waiting poll and the iteration', async () => {
    const t = topic('abort');
    await send(t, 1);
    const c = consumer({ consumerGroup: `g_abort_${n}` });
    c.subscribe(t);
    await c.start();
    await receive(c, 1);
    const ctl = new AbortController();
    const waiting = c.poll({ timeout: 30_000, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    await assert.rejects(waiting, { name: 'AbortError' });
    const seen: MessageExt[] = [];
    const iterating = (async () => {
      for await (const m of c) seen.push(m);
      return 'ended';
    })();
    const polling = c.poll(30_000);
    await sleep(100);
    await c.shutdown();
    assert.deepEqual(await polling, []);
    assert.equal(await iterating, 'ended');
    assert.deepEqual(seen, []);
    await assert.rejects(c.poll(0), /The consumer is SHUTDOWN_ALREADY/);
  });

  it('the async iterator: leaving the loop hands the current message back, and only what was passed counts as consumed', async () => {
    const t = topic('iter');
    const [mq0] = await producer.fetchPublishMessageQueues(t);
    const mq = { ...mq0!, queueId: 0 };
    for (let i = 0; i < 6; i++) await producer.send({ topic: t, body: `i${i}` }, { queue: mq });
    const c = consumer({ consumerGroup: `g_iter_${n}`, autoCommit: false });
    c.assign([mq]);
    await c.start();
    const seen: number[] = [];
    for await (const m of c) {
      seen.push(m.queueOffset);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, [0, 1, 2]);
    await c.commitSync();
    assert.equal(await c.committed(mq), 2, 'offsets 0 and 1 were passed; 2 was being handled when the loop left');
    assert.deepEqual((await receive(c, 4)).map((m) => m.queueOffset), [2, 3, 4, 5]);
  });
});

describe('LitePullConsumer: where a new group starts (consumeFromWhere)', () => {
  let embedded: Awaited<ReturnType<typeof embeddedBroker>>;
  let producer: Producer;
  const cleanups: (() => Promise<unknown>)[] = [];
  const t = `IT_from_${process.pid}`;
  let early: SendResult[];
  let later: SendResult[];
  let between: number;

  before(async () => {
    // 1 KiB of commit log counts as "in memory": the queues' first messages are soon "on disk", so
    // QUERY_CONSUMER_OFFSET answers QUERY_NOT_FOUND for a new group, as a busy real broker does.
    embedded = await embeddedBroker({ accessMessageInMemoryMaxRatio: (1024 / os.totalmem()) * 100 });
    producer = new Producer({ transport: new TcpTransport({ namesrvAddr: embedded.namesrvAddr }) });
    await producer.start();
    early = [];
    for (let i = 0; i < 12; i++) early.push(await producer.send({ topic: t, body: `early ${i} ${'x'.repeat(200)}` }));
    await sleep(30);
    between = Date.now();
    await sleep(30);
    later = [];
    for (let i = 0; i < 4; i++) later.push(await producer.send({ topic: t, body: `later ${i}` }));
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await producer?.shutdown();
    await embedded?.remove();
  });

  async function startConsumer(opts: Partial<LitePullConsumerOptions>): Promise<LitePullConsumer> {
    const c = new LitePullConsumer({ transport: new TcpTransport({ namesrvAddr: embedded.namesrvAddr }), consumerGroup: `g_from_${cleanups.length}`, ...opts });
    cleanups.push(() => c.shutdown());
    c.subscribe(t);
    await c.start();
    return c;
  }

  it('CONSUME_FROM_LAST_OFFSET (default): from the end of queues whose first message is on disk', async () => {
    const c = await startConsumer({});
    await until('assigned', () => c.assignment().length === 4);
    assert.deepEqual(await quiet(c), [], 'nothing stored before the group existed');
    const fresh = await producer.send({ topic: t, body: 'fresh' });
    assert.deepEqual((await receive(c, 1)).map((m) => m.msgId), [fresh.msgId]);
  });

  it('CONSUME_FROM_FIRST_OFFSET: from the first message', async () => {
    const c = await startConsumer({ consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    const all = [...early, ...later].map((r) => r.msgId);
    const got = await receiveIds(c, all);
    assert.ok(all.every((id) => got.some((m) => m.msgId === id)));
  });

  it('CONSUME_FROM_TIMESTAMP: from the first message stored at or after consumeTimestamp', async () => {
    const c = await startConsumer({ consumeFromWhere: 'CONSUME_FROM_TIMESTAMP', consumeTimestamp: between });
    const got = await receiveIds(c, later.map((r) => r.msgId));
    assert.ok(later.every((r) => got.some((m) => m.msgId === r.msgId)));
    assert.ok(!got.some((m) => early.some((r) => r.msgId === m.msgId)), 'nothing from before');
  });
});
