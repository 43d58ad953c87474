// Transactional messages over real TCP: half messages, END_TRANSACTION, check-back, restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RemotingClient,
  createRequest,
  decodeOffsetMsgId,
  decodeStoredMessages,
  type MessageExt,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { startBroker, startEmbedded, startNameServer, type BrokerOptions } from '../index.js';
import { readAll } from '../testing.js';
import { sleep, tempDir } from '../test-support.js';

const utf8 = new TextEncoder();
type T = { after(fn: () => unknown): void };

/** A producer's connection to the broker: a RemotingClient over TcpTransport that may answer broker requests. */
function client(t: T): RemotingClient {
  const transport = new TcpTransport({});
  const c = new RemotingClient(transport);
  t.after(async () => {
    await c.close();
    await transport.close();
  });
  return c;
}

function halfSend(topic: string, body: string, o: { group?: string; queueId?: number; uniq?: string; extraProps?: string } = {}): RemotingCommand {
  const group = o.group ?? 'pg';
  const props = `TRAN_MSG\u0001true\u0002PGROUP\u0001${group}\u0002UNIQ_KEY\u0001${o.uniq ?? `U-${body}`}\u0002WAIT\u0001true\u0002TAGS\u0001TagT${o.extraProps ?? ''}`;
  return createRequest(310, {
    a: group, b: topic, c: 'TBW102', d: '4', e: String(o.queueId ?? 1), f: '4', g: String(Date.now()), h: '0', i: props, j: '0', k: 'false', m: 'false', n: 'broker-a',
  }, { body: utf8.encode(body) });
}

function endTx(r: RemotingCommand, type: number, o: { group?: string; fromCheck?: boolean; oneway?: boolean; uniq?: string } = {}): RemotingCommand {
  const h = r.extFields!;
  return createRequest(37, {
    producerGroup: o.group ?? 'pg',
    tranStateTableOffset: h.queueOffset ?? h.tranStateTableOffset!,
    commitLogOffset: h.commitLogOffset ?? String(decodeOffsetMsgId(h.msgId!).offset),
    commitOrRollback: String(type),
    fromTransactionCheck: String(o.fromCheck ?? false),
    msgId: o.uniq ?? h.msgId!,
  }, { oneway: o.oneway });
}

function heartbeat(clientID: string, groups: string[]): RemotingCommand {
  const body = JSON.stringify({ clientID, consumerDataSet: [], producerDataSet: groups.map((groupName) => ({ groupName })) });
  return createRequest(34, undefined, { body: utf8.encode(body) });
}

async function setup(t: T, opts: Partial<BrokerOptions> = {}) {
  const dir = await tempDir(t);
  const e = await startEmbedded({ dataDir: dir, ...opts });
  t.after(() => e.close());
  return { e, dir, addr: e.broker.addr, namesrvAddr: e.namesrvAddr };
}

async function until<V>(what: string, f: () => Promise<V | undefined> | V | undefined, timeoutMs = 10_000): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const COMMIT = 8;
const ROLLBACK = 12;
const UNKNOW = 0;

describe('broker: transactional messages', () => {
  it('keeps a half message from consumers; a commit makes it visible once, with its topic, queue and UNIQ_KEY', async (t) => {
    const { addr, namesrvAddr } = await setup(t);
    const c = client(t);
    const sent = await c.invoke(addr, halfSend('TxTopic', 'order-1', { queueId: 2 }), 5000);
    assert.equal(sent.code, 0, sent.remark);
    assert.equal(sent.extFields!.queueId, '2');
    assert.equal(sent.extFields!.queueOffset, '0', 'the offset in the half queue');
    assert.deepEqual(await readAll({ namesrvAddr, topic: 'TxTopic' }), [], 'a half message is invisible');

    const done = await c.invoke(addr, endTx(sent, COMMIT), 5000);
    assert.equal(done.code, 0, done.remark);
    const seen = await readAll({ namesrvAddr, topic: 'TxTopic' });
    assert.equal(seen.length, 1);
    const m = seen[0]!;
    assert.equal(m.topic, 'TxTopic');
    assert.equal(m.queueId, 2);
    assert.equal(m.properties.UNIQ_KEY, 'U-order-1');
    assert.equal(m.properties.TAGS, 'TagT');
    assert.equal(new TextDecoder().decode(m.body), 'order-1');
    assert.equal(m.sysFlag & 0xc, COMMIT, 'sysFlag carries the commit type');
    assert.equal(m.preparedTransactionOffset, decodeOffsetMsgId(sent.extFields!.msgId!).offset, 'points at the half message');

    // A repeated commit stores nothing twice.
    assert.equal((await c.invoke(addr, endTx(sent, COMMIT), 5000)).code, 0);
    assert.equal((await readAll({ namesrvAddr, topic: 'TxTopic' })).length, 1);
  });

  it('never shows a rolled-back message; an UNKNOW end leaves it waiting; oneway END_TRANSACTION (as Java sends it) commits', async (t) => {
    const { addr, namesrvAddr } = await setup(t);
    const c = client(t);
    const a = await c.invoke(addr, halfSend('TxRb', 'a'), 5000);
    const b = await c.invoke(addr, halfSend('TxRb', 'b'), 5000);
    assert.equal((await c.invoke(addr, endTx(a, ROLLBACK), 5000)).code, 0);
    await c.invokeOneway(addr, endTx(b, UNKNOW, { oneway: true }));
    await c.invokeOneway(addr, endTx(b, COMMIT, { oneway: true }));
    const seen = await until('the commit of b', async () => {
      const all = await readAll({ namesrvAddr, topic: 'TxRb' });
      return all.length ? all : undefined;
    });
    assert.deepEqual(seen.map((m) => m.properties.UNIQ_KEY), ['U-b']);
    // A later commit of the rolled-back message is not honoured either.
    assert.equal((await c.invoke(addr, endTx(a, COMMIT), 5000)).code, 0);
    assert.deepEqual((await readAll({ namesrvAddr, topic: 'TxRb' })).map((m) => m.properties.UNIQ_KEY), ['U-b']);
  });

  it('answers END_TRANSACTION with 4.9.8 remarks for a wrong group, offsets, or no half message', async (t) => {
    const { addr, namesrvAddr } = await setup(t);
    const c = client(t);
    const sent = await c.invoke(addr, halfSend('TxBad', 'x'), 5000);
    const wrongGroup = await c.invoke(addr, endTx(sent, COMMIT, { group: 'other' }), 5000);
    assert.deepEqual([wrongGroup.code, wrongGroup.remark], [1, 'The producer group wrong']);
    const wrongTable = endTx(sent, COMMIT);
    wrongTable.extFields!.tranStateTableOffset = '7';
    const r1 = await c.invoke(addr, wrongTable, 5000);
    assert.deepEqual([r1.code, r1.remark], [1, 'The transaction state table offset wrong']);
    const nowhere = endTx(sent, COMMIT);
    nowhere.extFields!.commitLogOffset = '999999';
    const r2 = await c.invoke(addr, nowhere, 5000);
    assert.deepEqual([r2.code, r2.remark], [1, 'Find prepared transaction message failed']);
    assert.deepEqual(await readAll({ namesrvAddr, topic: 'TxBad' }), [], 'nothing was committed');
  });

  it('refuses half messages with NO_PERMISSION when rejectTransactionMessage is on', async (t) => {
    const { addr } = await setup(t, { rejectTransactionMessage: true });
    const r = await client(t).invoke(addr, halfSend('TxNo', 'x'), 5000);
    assert.equal(r.code, 16);
    assert.equal(r.remark, 'the broker[127.0.0.1] sending transaction message is forbidden');
  });

  it('publishes no route for the half and op topics, and refuses pulls of them', async (t) => {
    const { addr, namesrvAddr } = await setup(t);
    const c = client(t);
    const sent = await c.invoke(addr, halfSend('TxRoute', 'x'), 5000);
    await c.invoke(addr, endTx(sent, ROLLBACK), 5000);
    for (const topic of ['RMQ_SYS_TRANS_HALF_TOPIC', 'RMQ_SYS_TRANS_OP_HALF_TOPIC']) {
      const route = await c.invoke(namesrvAddr, createRequest(105, { topic }), 5000);
      assert.equal(route.code, 17, `${topic} has no route`);
      const pulled = await c.invoke(addr, createRequest(11, {
        consumerGroup: 'cg', topic, queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '0', commitOffset: '0',
        suspendTimeoutMillis: '0', subVersion: '0', expressionType: 'TAG',
      }), 5000);
      assert.notEqual(pulled.code, 0, `${topic} cannot be pulled`);
    }
  });
});

interface Check { header: Record<string, string>; message: MessageExt; from: string }

/** Resolves once no check has arrived for a while (several check rounds): what was resolved stays resolved. */
async function settled(checks: Check[]): Promise<void> {
  let n = -1;
  while (n !== checks.length) {
    n = checks.length;
    await sleep(400);
  }
}

/** A producer connection of `group` that records CHECK_TRANSACTION_STATE and answers with `answer`. */
async function checker(t: T, addr: string, group: string, clientId: string, answer: (c: Check) => number | undefined) {
  const c = client(t);
  const checks: Check[] = [];
  c.onRequest((target, req) => {
    if (req.code !== 39) return;
    const check = { header: { ...req.extFields! }, message: decodeStoredMessages(req.body!)[0]!, from: target };
    checks.push(check);
    const type = answer(check);
    if (type === undefined) return;
    void c.invokeOneway(target, createRequest(37, {
      producerGroup: group,
      tranStateTableOffset: check.header.tranStateTableOffset!,
      commitLogOffset: check.header.commitLogOffset!,
      commitOrRollback: String(type),
      fromTransactionCheck: 'true',
      msgId: check.header.msgId!,
      transactionId: check.header.transactionId!,
    }, { oneway: true }));
  });
  const hb = await c.invoke(addr, heartbeat(clientId, [group]), 5000);
  assert.equal(hb.code, 0);
  return { c, checks };
}

describe('broker: transaction check-back', () => {
  const fast = { transactionCheckIntervalMs: 50, transactionTimeoutMs: 0 };

  it('asks a heartbeated connection of the group; its commit makes the message visible', async (t) => {
    const { addr, namesrvAddr } = await setup(t, fast);
    const other = await checker(t, addr, 'someone-else', 'other@1', () => COMMIT);
    const p = await checker(t, addr, 'pg', 'p@1', () => COMMIT);
    const sent = await p.c.invoke(addr, halfSend('TxCheck', 'c1', { queueId: 3 }), 5000);
    assert.equal(sent.code, 0);
    const seen = await until('the checked commit', async () => {
      const all = await readAll({ namesrvAddr, topic: 'TxCheck' });
      return all.length ? all : undefined;
    });
    assert.deepEqual(seen.map((m) => [m.queueId, m.properties.UNIQ_KEY]), [[3, 'U-c1']]);
    const check = p.checks[0]!;
    assert.equal(check.header.msgId, 'U-c1');
    assert.equal(check.header.transactionId, 'U-c1');
    assert.equal(check.message.topic, 'TxCheck', 'the body names the real topic');
    assert.equal(check.message.queueId, 3);
    assert.equal(check.message.properties.TRANSACTION_CHECK_TIMES, '1');
    assert.equal(check.message.commitLogOffset, Number(check.header.commitLogOffset));
    assert.equal(check.header.offsetMsgId!.slice(-16), Number(check.header.commitLogOffset).toString(16).toUpperCase().padStart(16, '0'));
    assert.equal(other.checks.length, 0, 'another group is never asked');
    await settled(p.checks);
    assert.ok(p.checks.every((c) => c.header.msgId === 'U-c1'));
    assert.equal((await readAll({ namesrvAddr, topic: 'TxCheck' })).length, 1);
  });

  it('commits a transaction once when answers to two checks of it both say COMMIT (one arriving after the next round)', async (t) => {
    const { addr, namesrvAddr } = await setup(t, fast);
    const held: Check[] = [];
    const p = await checker(t, addr, 'pg', 'p@1', (c) => void held.push(c));
    assert.equal((await p.c.invoke(addr, halfSend('TxTwice', 'd1'), 5000)).code, 0);
    await until('two checks of one transaction', () => (held.length >= 2 ? true : undefined));
    for (const c of held.slice(0, 2)) {
      const r = await p.c.invoke(addr, endTx({ ...c, extFields: c.header } as unknown as RemotingCommand, COMMIT, { fromCheck: true, uniq: c.header.msgId }), 5000);
      assert.equal(r.code, 0, r.remark);
    }
    await settled(p.checks);
    assert.deepEqual((await readAll({ namesrvAddr, topic: 'TxTwice' })).map((m) => m.properties.UNIQ_KEY), ['U-d1']);
  });

  it('with no connection of the group, checks again later (and rolls back on the answer)', async (t) => {
    const { addr, namesrvAddr } = await setup(t, fast);
    const sender = client(t);
    assert.equal((await sender.invoke(addr, halfSend('TxLater', 'l1', { group: 'lonely' }), 5000)).code, 0);
    await sleep(300); // several rounds find nobody to ask
    const p = await checker(t, addr, 'lonely', 'l@1', () => ROLLBACK);
    const check = await until('a check', () => p.checks[0]);
    assert.ok(Number(check.message.properties.TRANSACTION_CHECK_TIMES) > 1, 'the earlier rounds counted as checks');
    await settled(p.checks);
    assert.deepEqual(await readAll({ namesrvAddr, topic: 'TxLater' }), []);
  });

  it('discards a half message after transactionCheckMax checks to TRANS_CHECK_MAX_TIME_TOPIC', async (t) => {
    const { addr, namesrvAddr } = await setup(t, { ...fast, transactionCheckMax: 3 });
    const p = await checker(t, addr, 'pg', 'p@1', () => UNKNOW);
    assert.equal((await p.c.invoke(addr, halfSend('TxMax', 'm1'), 5000)).code, 0);
    const discarded = await until('the discard', async () => {
      const all = await readAll({ namesrvAddr, topic: 'TRANS_CHECK_MAX_TIME_TOPIC' });
      return all.length ? all : undefined;
    });
    assert.equal(discarded[0]!.properties.UNIQ_KEY, 'U-m1');
    await settled(p.checks);
    assert.deepEqual(p.checks.map((c) => c.message.properties.TRANSACTION_CHECK_TIMES), ['1', '2', '3'], 'no check after the discard');
    assert.deepEqual(await readAll({ namesrvAddr, topic: 'TxMax' }), []);
  });

  it('waits CHECK_IMMUNITY_TIME_IN_SECONDS before the first check of a message', async (t) => {
    const { addr } = await setup(t, fast);
    const p = await checker(t, addr, 'pg', 'p@1', () => COMMIT);
    await p.c.invoke(addr, halfSend('TxImm', 'i1', { extraProps: '\u0002CHECK_IMMUNITY_TIME_IN_SECONDS\u00011' }), 5000);
    const check = await until('the check', () => p.checks[0]);
    assert.ok(Date.now() - check.message.bornTimestamp >= 1000, 'not checked before its immunity time');
    assert.equal(check.message.properties.TRAN_PREPARED_QUEUE_OFFSET, '0', 'carried forward from its first offset while immune (as 4.9.8)');
  });

  it('survives a restart between half message and commit; check-back resumes after it', async (t) => {
    const dir = await tempDir(t);
    const ns = await startNameServer({ port: 0 });
    t.after(() => ns.close());
    const b1 = await startBroker({ dataDir: dir, namesrvAddr: ns.addr, transactionCheckIntervalMs: 3_600_000 });
    const c1 = client(t);
    const a = await c1.invoke(b1.addr, halfSend('TxRestart', 'r1'), 5000);
    const b = await c1.invoke(b1.addr, halfSend('TxRestart', 'r2'), 5000);
    assert.equal(a.code + b.code, 0);
    await b1.close();

    // r1: the producer's END_TRANSACTION, sent after a restart with the offsets from before it.
    const b2 = await startBroker({ dataDir: dir, namesrvAddr: ns.addr, transactionCheckIntervalMs: 3_600_000 });
    const c2 = client(t);
    assert.equal((await c2.invoke(b2.addr, endTx(a, COMMIT), 5000)).code, 0);
    assert.deepEqual((await readAll({ namesrvAddr: ns.addr, topic: 'TxRestart' })).map((m) => m.properties.UNIQ_KEY), ['U-r1']);
    await b2.close();

    // r2: unresolved across two restarts, checked back by the third broker process.
    const b3 = await startBroker({ dataDir: dir, namesrvAddr: ns.addr, ...fast });
    t.after(() => b3.close());
    const p = await checker(t, b3.addr, 'pg', 'p@3', () => COMMIT);
    const seen = await until('both commits', async () => {
      const all = await readAll({ namesrvAddr: ns.addr, topic: 'TxRestart' });
      return all.length === 2 ? all : undefined;
    });
    assert.deepEqual(seen.map((m) => m.properties.UNIQ_KEY).sort(), ['U-r1', 'U-r2']);
    assert.ok(p.checks.length > 0 && p.checks.every((c) => c.header.msgId === 'U-r2'), 'only the unresolved message is checked');
    const route = await p.c.invoke(ns.addr, createRequest(105, { topic: 'RMQ_SYS_TRANS_HALF_TOPIC' }), 5000);
    assert.equal(route.code, 17, 'the half topic is not published after a restart either');
  });
});
