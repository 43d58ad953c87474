// TransactionProducer against a scripted broker: the half message, END_TRANSACTION byte for byte
// (protocol 7.3), and check-backs answered from the stored-format body the broker sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQBrokerError, MQClientError } from '../errors.js';
import { decodeProperties, type Message, type MessageExt } from '../message/index.js';
import { encodeJsonHeader, encodeCommand } from '../remoting/codec.js';
import { createRequest, isOneway, type RemotingCommand } from '../remoting/command.js';
import { javaHashMapOrder } from '../remoting/hashmap-order.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import { routeJson, scriptedBroker, scriptedNamesrv, sendResponse } from '../testing/scripted.js';
import { sleep, until } from '../testing/wait.js';
import { NAMESRV_TARGET } from '../transport.js';
import type { LocalTransactionState } from './end-transaction.js';
import { TransactionProducer, type TransactionListener, type TransactionProducerOptions } from './transaction-producer.js';
import { failOnUnhandledRejections } from '../../../../test/unhandled.js';

failOnUnhandledRejections();

const utf8 = new TextEncoder();

function rig(listener: TransactionListener, opts: Partial<TransactionProducerOptions> = {}, onSend = (c: RemotingCommand) => sendResponse(c)) {
  const t = new MemoryTransport({
    [NAMESRV_TARGET]: scriptedNamesrv((topic) => (topic === 'T' ? routeJson([{ name: 'broker-a', addr: 'A' }]) : undefined)),
    A: scriptedBroker(onSend),
  });
  const p = new TransactionProducer({ transport: t, producerGroup: 'pg', transactionListener: listener, ...opts });
  const ends = () => t.requests.filter((r) => r.cmd.code === 37).map((r) => r.cmd);
  return { t, p, ends };
}

const listener = (state: LocalTransactionState | (() => never), check: TransactionListener['checkLocalTransaction'] = () => 'COMMIT_MESSAGE'): TransactionListener => ({
  executeLocalTransaction: () => (typeof state === 'function' ? state() : state),
  checkLocalTransaction: check,
});

const msg: Message = { topic: 'T', body: 'order 1', tags: 'TagA', keys: 'k1', delayLevel: 3, properties: { shop: 'x' } };

for (const [state, code] of [['COMMIT_MESSAGE', '8'], ['ROLLBACK_MESSAGE', '12'], ['UNKNOW', '0']] as const) {
  test(`${state}: half message (TRAN_MSG, PGROUP, sysFlag 4, no DELAY), then END_TRANSACTION oneway with commitOrRollback ${code}`, async () => {
    const seen: unknown[] = [];
    const { t, p, ends } = rig({
      executeLocalTransaction: (m, arg) => {
        seen.push(m.transactionId, m.msgId, m.properties?.shop, arg);
        return state;
      },
      checkLocalTransaction: () => 'COMMIT_MESSAGE',
    });
    await p.start();
    const r = await p.sendMessageInTransaction(msg, { id: 1 });
    assert.equal(r.localTransactionState, state);
    assert.equal(r.sendStatus, 'SEND_OK');
    const send = t.requests.find((x) => x.cmd.code === 310)!.cmd;
    const props = decodeProperties(send.extFields!.i!);
    assert.equal(props.TRAN_MSG, 'true');
    assert.equal(props.PGROUP, 'pg');
    assert.equal(props.DELAY, undefined);
    assert.equal(send.extFields!.f, '4');
    assert.deepEqual(Object.keys(props), javaHashMapOrder(Object.keys(props)));
    assert.deepEqual(seen, [r.msgId, r.msgId, 'x', { id: 1 }]);

    const [end] = await until('END_TRANSACTION', () => (ends().length ? ends() : undefined));
    assert.ok(isOneway(end!));
    // Field values and order as a Java 4.9.8 client writes them (a HashMap of the header's fields).
    assert.deepEqual(Object.entries(end!.extFields!), [
      ['producerGroup', 'pg'],
      ['bname', 'broker-a'],
      ['commitLogOffset', `${parseInt(r.offsetMsgId.slice(16), 16)}`],
      ['msgId', r.msgId],
      ['tranStateTableOffset', `${r.queueOffset}`],
      ['commitOrRollback', code],
      ['fromTransactionCheck', 'false'],
    ]);
    assert.equal(end!.remark, undefined);
    await p.shutdown();
  });
}

test('the END_TRANSACTION header encodes to the bytes a Java client sends (JSON, fields in HashMap order)', async () => {
  const { p, ends } = rig(listener('COMMIT_MESSAGE'));
  await p.start();
  const r = await p.sendMessageInTransaction({ topic: 'T', body: 'x' });
  const [end] = await until('END_TRANSACTION', () => (ends().length ? ends() : undefined));
  const off = parseInt(r.offsetMsgId.slice(16), 16);
  const json = encodeJsonHeader(end!);
  assert.equal(json,
    `{"code":37,"extFields":{"producerGroup":"pg","bname":"broker-a","commitLogOffset":"${off}","msgId":"${r.msgId}",` +
    `"tranStateTableOffset":"${r.queueOffset}","commitOrRollback":"8","fromTransactionCheck":"false"},"flag":2,"language":"JAVA",` +
    `"opaque":${end!.opaque},"serializeTypeCurrentRPC":"JSON","version":409}`);
  await p.shutdown();
});

test('a local transaction that throws is UNKNOW, with the exception in the remark; an async one is awaited', async () => {
  const { p, ends } = rig(listener(() => {
    throw new Error('db down');
  }));
  await p.start();
  const r = await p.sendMessageInTransaction({ topic: 'T', body: 'x' });
  assert.equal(r.localTransactionState, 'UNKNOW');
  const [end] = await until('END_TRANSACTION', () => (ends().length ? ends() : undefined));
  assert.equal(end!.extFields!.commitOrRollback, '0');
  assert.equal(end!.remark, 'executeLocalTransactionBranch exception: Error: db down');
  await p.shutdown();

  const b = rig({ executeLocalTransaction: async (): Promise<LocalTransactionState> => (await sleep(20), 'ROLLBACK_MESSAGE'), checkLocalTransaction: () => null });
  await b.p.start();
  assert.equal((await b.p.sendMessageInTransaction({ topic: 'T', body: 'x' })).localTransactionState, 'ROLLBACK_MESSAGE');
  await b.p.shutdown();
});

for (const code of [10, 11, 12]) {
  test(`send status code ${code} rolls back without running the local transaction`, async () => {
    let ran = false;
    const { p, ends } = rig({ executeLocalTransaction: () => ((ran = true), 'COMMIT_MESSAGE'), checkLocalTransaction: () => null }, {}, (c) => sendResponse(c, code));
    await p.start();
    const r = await p.sendMessageInTransaction({ topic: 'T', body: 'x' });
    assert.equal(r.localTransactionState, 'ROLLBACK_MESSAGE');
    assert.equal(ran, false);
    const [end] = await until('END_TRANSACTION', () => (ends().length ? ends() : undefined));
    assert.equal(end!.extFields!.commitOrRollback, '12');
    await p.shutdown();
  });
}

test('a half message the broker refuses fails as send() does: no local transaction, no END_TRANSACTION', async () => {
  let ran = false;
  const { p, ends } = rig({ executeLocalTransaction: () => ((ran = true), 'COMMIT_MESSAGE'), checkLocalTransaction: () => null }, {}, (c) => sendResponse(c, 16, 'rejectTransactionMessage'));
  await p.start();
  await assert.rejects(p.sendMessageInTransaction({ topic: 'T', body: 'x' }), (e: unknown) => e instanceof MQClientError || e instanceof MQBrokerError);
  await sleep(20);
  assert.equal(ran, false);
  assert.equal(ends().length, 0);
  await p.shutdown();
});

test('a listener without both callbacks is refused at construction', () => {
  const t = new MemoryTransport();
  assert.throws(() => new TransactionProducer({ transport: t, transactionListener: { executeLocalTransaction: () => 'UNKNOW' } as never }), /checkLocalTransaction/);
});

// ---------- check-back ----------

/** A stored record (protocol 10.3, V1 magic) as the broker sends it in CHECK_TRANSACTION_STATE. */
function storedRecord(m: { topic: string; body: string; properties: Record<string, string>; queueOffset: number; commitLogOffset: number }): Uint8Array {
  const body = utf8.encode(m.body);
  const topic = utf8.encode(m.topic);
  const props = utf8.encode(Object.entries(m.properties).map(([k, v]) => `${k}\u0001${v}`).join('\u0002'));
  const size = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + body.length + 1 + topic.length + 2 + props.length;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  let p = 0;
  const i32 = (x: number) => { v.setInt32(p, x); p += 4; };
  const i64 = (x: number) => { v.setBigInt64(p, BigInt(x)); p += 8; };
  const bytes = (x: Uint8Array) => { b.set(x, p); p += x.length; };
  i32(size); i32(0xdaa320a7 | 0); i32(0); i32(0); i32(0); i64(m.queueOffset); i64(m.commitLogOffset); i32(4);
  i64(Date.now()); bytes(Uint8Array.of(127, 0, 0, 1)); i32(40000); i64(Date.now()); bytes(Uint8Array.of(127, 0, 0, 1)); i32(10911);
  i32(0); i64(0); i32(body.length); bytes(body); v.setUint8(p++, topic.length); bytes(topic); v.setUint16(p, props.length); p += 2; bytes(props);
  return b;
}

function checkRequest(uniq: string, group = 'pg', extra: Record<string, string> = {}): Uint8Array {
  const body = storedRecord({ topic: 'T', body: 'order', properties: { UNIQ_KEY: uniq, PGROUP: group, TRAN_MSG: 'true', CLUSTER: 'DefaultCluster' }, queueOffset: 7, commitLogOffset: 4242 });
  const header = { tranStateTableOffset: '7', commitLogOffset: '4242', msgId: uniq, transactionId: uniq, offsetMsgId: '7F00000100002A9F0000000000001092', ...extra };
  return encodeCommand(createRequest(39, header, { oneway: true, body }));
}

test('check-back: checkLocalTransaction sees the stored message; END_TRANSACTION answers with fromTransactionCheck=true and the check header offsets', async () => {
  const asked: MessageExt[] = [];
  const { t, p, ends } = rig(listener('UNKNOW', (m) => (asked.push(m), 'COMMIT_MESSAGE')));
  await p.start();
  await p.sendMessageInTransaction({ topic: 'T', body: 'x' }); // opens the connection to A
  await until('first END_TRANSACTION', () => ends().length === 1);
  t.inject('A', checkRequest('ID1', 'pg', { bname: 'broker-a' }));
  const end = await until('check answer', () => ends()[1]);
  assert.equal(asked.length, 1);
  assert.equal(asked[0]!.topic, 'T');
  assert.equal(asked[0]!.transactionId, 'ID1');
  assert.equal(new TextDecoder().decode(asked[0]!.body), 'order');
  assert.deepEqual(Object.entries(end.extFields!), [
    ['producerGroup', 'pg'],
    ['bname', 'broker-a'],
    ['commitLogOffset', '4242'],
    ['msgId', 'ID1'],
    ['tranStateTableOffset', '7'],
    ['commitOrRollback', '8'],
    ['transactionId', 'ID1'],
    ['fromTransactionCheck', 'true'],
  ]);
  // A check-back is oneway: nothing is written back as a response.
  assert.equal(t.requests.filter((r) => r.cmd.flag & 1).length, 0);
  await p.shutdown();
});

test('check-back: a throwing listener answers UNKNOW with the exception, and the next check still works; another group is ignored', async () => {
  let n = 0;
  const errors: Error[] = [];
  const { t, p, ends } = rig(listener('UNKNOW', () => {
    if (n++ === 0) throw new Error('no idea');
    return 'ROLLBACK_MESSAGE';
  }));
  p.on('error', (e) => errors.push(e));
  await p.start();
  await p.sendMessageInTransaction({ topic: 'T', body: 'x' });
  await until('first END_TRANSACTION', () => ends().length === 1);
  t.inject('A', checkRequest('OTHER', 'another-group'));
  t.inject('A', checkRequest('ID1'));
  t.inject('A', checkRequest('ID2'));
  await until('two answers', () => ends().length === 3);
  const [a, b] = ends().slice(1);
  assert.equal(a!.extFields!.msgId, 'ID1');
  assert.equal(a!.extFields!.commitOrRollback, '0');
  assert.equal(a!.remark, 'checkLocalTransactionState Exception: Error: no idea');
  assert.equal(b!.extFields!.msgId, 'ID2');
  assert.equal(b!.extFields!.commitOrRollback, '12');
  await sleep(20);
  assert.equal(ends().length, 3, 'the other group was not answered');
  assert.equal(n, 2);
  await p.shutdown();
});

test('check-backs: one at a time by default, checkRequestHoldMax waiting, the rest dropped; sends go on meanwhile', async () => {
  const gates: (() => void)[] = [];
  let running = 0;
  let most = 0;
  const errors: Error[] = [];
  const { t, p, ends } = rig(listener('UNKNOW', () => new Promise<LocalTransactionState>((resolve) => {
    most = Math.max(most, ++running);
    gates.push(() => {
      running--;
      resolve('COMMIT_MESSAGE');
    });
  })), { checkRequestHoldMax: 2 });
  p.on('error', (e) => errors.push(e));
  await p.start();
  await p.sendMessageInTransaction({ topic: 'T', body: 'x' });
  for (const id of ['C1', 'C2', 'C3', 'C4']) t.inject('A', checkRequest(id));
  await until('the first check running', () => gates.length === 1);
  // The slow listener does not hold up sends.
  assert.equal((await p.send({ topic: 'T', body: 'meanwhile' })).sendStatus, 'SEND_OK');
  assert.match(errors.map(String).join('\n'), /check-back of C4 dropped/);
  while (ends().length < 4) {
    gates.shift()?.();
    await sleep(5);
  }
  assert.deepEqual(ends().slice(1).map((e) => e.extFields!.msgId), ['C1', 'C2', 'C3']);
  assert.equal(most, 1);
  await p.shutdown();
});

test('check-backs: a malformed one is an error event, never a crash', async () => {
  const errors: Error[] = [];
  const { t, p, ends } = rig(listener('UNKNOW'));
  p.on('error', (e) => errors.push(e));
  await p.start();
  await p.sendMessageInTransaction({ topic: 'T', body: 'x' });
  t.inject('A', encodeCommand(createRequest(39, { tranStateTableOffset: '1', commitLogOffset: '2' }, { oneway: true, body: Uint8Array.of(1, 2, 3) })));
  await until('error event', () => errors.length > 0);
  assert.match(String(errors[0]), /does not decode/);
  assert.equal((await p.sendMessageInTransaction({ topic: 'T', body: 'y' })).sendStatus, 'SEND_OK');
  assert.equal(ends().length, 2);
  await p.shutdown();
});
