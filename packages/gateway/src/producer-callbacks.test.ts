// Producers with broker callbacks through the gateway, against a scripted broker that calls back
// the way a 4.9.8 broker does (on the connection a client id / group was registered on): producer
// heartbeats answered by the gateway until a client needs callbacks, own connections registered
// first, END_TRANSACTION tickets, check-backs and reply pushes to the right client only.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import {
  MessageConst,
  RequestCode,
  ResponseCode,
  createOffsetMsgId,
  createRequest,
  createResponse,
  decodeOffsetMsgId,
  encodeFrame,
  encodeProperties,
  isResponse,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { encodeRecord } from '@rocketmq-edge/broker/testing';
import { CloseCode, encodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import { startGateway, type Gateway } from './index.js';
import { MAX_PENDING_PUSHES } from './reply-routing.js';
import {
  clusterInfoBody, endTx, goodClient, jsonFrame, producerHeartbeat as heartbeat, push, rawClient, request, routeBody, sendWith as send, sleep,
  startFakeRemoting, waitFor,
} from './test-support.js';

const TOKEN = 'callbacks-token';
const OTHER = 'callbacks-other-token';
const BROKER = 'broker-a@0';
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

interface Seen { cmd: RemotingCommand; socket: Socket }

/** A broker that stores sends (offset ids of its own address) and remembers where each client id heartbeated. */
async function fixture(t: TestContext, opts: { brokerRequestTimeoutMs?: number; maxConsumerLinks?: number } = {}) {
  const seen: Seen[] = [];
  const registered = new Map<string, Socket>();
  let offset = 4000;
  let port = 0;
  const broker = await startFakeRemoting((cmd, socket) => {
    seen.push({ cmd, socket });
    if (isResponse(cmd)) return 'silent';
    if (cmd.code === RequestCode.HEART_BEAT) {
      registered.set((JSON.parse(utf8d.decode(cmd.body!)) as { clientID: string }).clientID, socket);
      return createResponse(cmd, ResponseCode.SUCCESS);
    }
    if (cmd.code === RequestCode.SEND_MESSAGE_V2 || cmd.code === RequestCode.SEND_REPLY_MESSAGE_V2) {
      offset += 100;
      return createResponse(cmd, ResponseCode.SUCCESS, undefined, {
        msgId: createOffsetMsgId('127.0.0.1', port, offset), queueId: '0', queueOffset: String(offset / 100),
      });
    }
    return createResponse(cmd, ResponseCode.SUCCESS);
  });
  port = broker.port;
  const list = [{ name: 'broker-a', addr: broker.addr }];
  const namesrv = await startFakeRemoting((cmd) => {
    if (cmd.code === RequestCode.GET_ROUTEINFO_BY_TOPIC) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, routeBody(list));
    if (cmd.code === RequestCode.GET_BROKER_CLUSTER_INFO) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, clusterInfoBody(list));
    return undefined;
  });
  const gw = await startGateway({
    namesrvAddr: namesrv.addr,
    auth: { staticTokens: {
      [TOKEN]: { sub: 'app', topics: ['orders-*', 'DefaultCluster_REPLY_TOPIC'] },
      [OTHER]: { sub: 'other', topics: ['payments-*'] },
    } },
    logLevel: 'silent',
    ...opts,
  });
  t.after(async () => { await gw.close(); await broker.close(); await namesrv.close(); });
  const client = async (token = TOKEN) => {
    const c = rawClient(gw.url, ['rocketmq-edge.v1', `bearer.${token}`]);
    t.after(() => c.ws.terminate());
    assert.equal(await c.opened, true);
    // A route lookup teaches the gateway the alias (as every producer's first request does).
    await c.request('namesrv', createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'orders-1' }));
    return c;
  };
  /** Writes a broker-initiated request on `socket` (the broker's side of a client's connection). */
  const call = (socket: Socket, cmd: RemotingCommand, opaque: number) => {
    cmd.opaque = opaque;
    socket.write(encodeFrame(cmd));
  };
  const answerTo = (opaque: number) => seen.find((s) => isResponse(s.cmd) && s.cmd.opaque === opaque)?.cmd;
  return { gw, broker, seen, registered, client, call, answerTo };
}

type Client = Awaited<ReturnType<Awaited<ReturnType<typeof fixture>>['client']>>;

const refusals = async (gw: Gateway, reason: string): Promise<number> => {
  const m = await gw.metrics.registry.getSingleMetricAsString('rocketmq_edge_refusals_total');
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(m)?.[1] ?? 0);
};
const codesAtBroker = (seen: Seen[], code: number) => seen.filter((s) => !isResponse(s.cmd) && s.cmd.code === code);

async function ok(c: Client, cmd: RemotingCommand): Promise<RemotingCommand> {
  const r = await c.request(BROKER, cmd);
  assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
  return r;
}

test('producer heartbeats are answered by the gateway until the client sends a request; then its own connection carries them, registered before the request', async (t) => {
  const { seen, registered, client } = await fixture(t);
  const a = await client();
  await ok(a, heartbeat('a@1', ['pg', 'CLIENT_INNER_PRODUCER']));
  await ok(a, send({}));
  assert.equal(codesAtBroker(seen, RequestCode.HEART_BEAT).length, 0, 'a producer-only heartbeat never reaches the shared connection');
  const shared = codesAtBroker(seen, RequestCode.SEND_MESSAGE_V2)[0]!.socket;

  await ok(a, request('a@1', 'corr-1'));
  const hbs = codesAtBroker(seen, RequestCode.HEART_BEAT);
  assert.equal(hbs.length, 1);
  const own = hbs[0]!.socket;
  assert.notEqual(own, shared, 'the registration goes over a connection of its own');
  assert.equal(registered.get('a@1'), own);
  assert.deepEqual(JSON.parse(utf8d.decode(hbs[0]!.cmd.body!)), {
    clientID: 'a@1', consumerDataSet: [], producerDataSet: [{ groupName: 'pg' }, { groupName: 'CLIENT_INNER_PRODUCER' }],
  });
  const req = codesAtBroker(seen, RequestCode.SEND_MESSAGE_V2)[1]!;
  assert.equal(req.socket, shared, 'sends stay on the shared connection');
  assert.ok(seen.indexOf(hbs[0]!) < seen.indexOf(req), 'the broker knows the requester before the request is stored');

  // From now on heartbeats and unregisters go over the client's own connection.
  await ok(a, heartbeat('a@1', ['pg', 'CLIENT_INNER_PRODUCER']));
  await ok(a, createRequest(RequestCode.UNREGISTER_CLIENT, { producerGroup: 'pg', clientID: 'a@1' }));
  assert.equal(codesAtBroker(seen, RequestCode.HEART_BEAT)[1]!.socket, own);
  assert.equal(codesAtBroker(seen, RequestCode.UNREGISTER_CLIENT)[0]!.socket, own);

  // The client leaves without a word: the broker sees its connection close at once.
  a.ws.terminate();
  await waitFor(() => own.destroyed || own.readyState === 'closed', 5000, 'own connection closed');
  assert.ok(!shared.destroyed, 'the shared connection stays');
});

test('a client id belongs to one connection: another token\'s connection heartbeating it is refused, a newer one of the same token takes it over; a good client is unaffected; ids per connection are bounded', async (t) => {
  const { gw, seen, client } = await fixture(t);
  const a = await client();
  await ok(a, heartbeat('a@1', ['pg']));
  await ok(a, request('a@1', 'corr-a')); // registered at the broker
  const good = goodClient(t, gw.url, TOKEN, 'orders-good');
  const thief = await client(OTHER);
  const r = await thief.request(BROKER, heartbeat('a@1', ['pg']));
  assert.equal(r.code, ResponseCode.NO_PERMISSION);
  assert.match(r.remark ?? '', /client id "a@1" is in use by a connection of another token/);
  // Nor may it ask for replies to go to that id.
  const stolen = await thief.request(BROKER, send({ [MessageConst.REPLY_TO_CLIENT]: 'a@1', [MessageConst.CORRELATION_ID]: 'x' }, { topic: 'payments-1' }));
  assert.equal(stolen.code, ResponseCode.NO_PERMISSION);
  assert.match(stolen.remark ?? '', /REPLY_TO_CLIENT must be the client id this connection registered/);
  assert.equal(codesAtBroker(seen, RequestCode.HEART_BEAT).filter((s) => utf8d.decode(s.cmd.body!).includes('a@1')).length, 1);

  for (let i = 0; i < 8; i++) await ok(thief, heartbeat(`t@${i}`, ['pg']));
  const ninth = await thief.request(BROKER, heartbeat('t@8', ['pg']));
  assert.equal(ninth.code, ResponseCode.SYSTEM_BUSY);
  assert.match(ninth.remark ?? '', /at most 8 client ids/);

  // The same client reconnecting before the gateway noticed its old connection die.
  const again = await client();
  await ok(again, heartbeat('a@1', ['pg']));
  const closed = await a.closed;
  assert.equal(closed.code, 1001);
  assert.match(closed.reason, /taken over by a newer connection/);
  await ok(again, request('a@1', 'corr-again'));
  const { ok: sent, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(sent > 0);
});

test('reply pushes reach the requester only; its answer goes back to the broker; wrong, repeated and unanswered pushes get SYSTEM_ERROR', async (t) => {
  const { gw, registered, client, call, answerTo } = await fixture(t, { brokerRequestTimeoutMs: 300 });
  const a = await client();
  const b = await client();
  await ok(a, heartbeat('a@1', ['pg']));
  await ok(b, heartbeat('b@1', ['pg']));
  await ok(a, request('a@1', 'corr-a'));
  await ok(b, request('b@1', 'corr-b'));
  const sa = registered.get('a@1')!;
  const sb = registered.get('b@1')!;

  call(sa, push('a@1', 'corr-a'), 9001);
  await waitFor(() => a.requests.length === 1, 5000, 'push relayed');
  const relayed = a.requests[0]!;
  assert.equal(relayed.target, BROKER);
  assert.equal(relayed.cmd.code, RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT);
  assert.equal(utf8d.decode(relayed.cmd.body!), 'reply to corr-a');
  assert.notEqual(relayed.cmd.opaque, 9001, 'the client sees an opaque of the gateway');
  a.send(BROKER, createResponse(relayed.cmd, ResponseCode.SUCCESS));
  await waitFor(() => answerTo(9001) !== undefined, 5000, 'answer at the broker');
  assert.equal(answerTo(9001)!.code, ResponseCode.SUCCESS);

  // Pushed on b's connection, or naming b with a's correlation id, or a second time: never relayed.
  call(sb, push('a@1', 'corr-b'), 9002);
  call(sb, push('b@1', 'corr-a'), 9003);
  call(sa, push('a@1', 'corr-a'), 9004);
  await waitFor(() => [9002, 9003, 9004].every((o) => answerTo(o)), 5000, 'refusals answered');
  for (const o of [9002, 9003, 9004]) {
    assert.equal(answerTo(o)!.code, ResponseCode.SYSTEM_ERROR);
    assert.match(answerTo(o)!.remark ?? '', /reply not delivered by the gateway/);
  }
  // b still gets its own reply.
  call(sb, push('b@1', 'corr-b'), 9005);
  await waitFor(() => b.requests.length === 1, 5000, 'b gets its reply');
  assert.equal(a.requests.length, 1);

  // A client that never answers: the broker hears SYSTEM_ERROR; the late answer is dropped.
  await ok(a, request('a@1', 'corr-slow'));
  call(sa, push('a@1', 'corr-slow'), 9006);
  await waitFor(() => answerTo(9006) !== undefined, 5000, 'timeout answer');
  assert.equal(answerTo(9006)!.code, ResponseCode.SYSTEM_ERROR);
  assert.match(answerTo(9006)!.remark ?? '', /did not answer/);
  a.send(BROKER, createResponse(a.requests[1]!.cmd, ResponseCode.SUCCESS));
  await ok(a, send({}));
  assert.equal(await refusals(gw, 'late_response'), 1);
});

test('reply pushes waiting for one client are bounded; answers to opaques never given close the connection; a good client is unaffected', async (t) => {
  const { gw, registered, client, call, answerTo } = await fixture(t);
  const good = goodClient(t, gw.url, TOKEN, 'orders-good');
  const a = await client();
  await ok(a, heartbeat('a@1', ['pg']));
  for (let i = 0; i <= MAX_PENDING_PUSHES; i++) await ok(a, request('a@1', `c${i}`));
  const sa = registered.get('a@1')!;
  for (let i = 0; i <= MAX_PENDING_PUSHES; i++) call(sa, push('a@1', `c${i}`), 100 + i);
  await waitFor(() => a.requests.length === MAX_PENDING_PUSHES && answerTo(100 + MAX_PENDING_PUSHES) !== undefined, 5000, 'pushes');
  assert.match(answerTo(100 + MAX_PENDING_PUSHES)!.remark ?? '', /64 reply pushes already wait/);

  // A flood of answers to opaques the gateway never gave this client.
  const flood = createResponse(a.requests[0]!.cmd, ResponseCode.SUCCESS);
  flood.opaque = 1_000_000;
  for (let i = 0; i < 100; i++) a.send(BROKER, flood);
  assert.equal((await a.closed).code, CloseCode.PROTOCOL_VIOLATION);
  // Its pushes still waiting are answered at once (the client is gone).
  await waitFor(() => answerTo(100) !== undefined, 5000, 'pending pushes answered');
  assert.equal(answerTo(100)!.code, ResponseCode.SYSTEM_ERROR);
  const { ok: sent, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(sent > 0);
});

test('END_TRANSACTION is relayed over the client\'s own connection for its own half messages only: guessed offsets, other groups, other connections, extra fields and reuse are refused', async (t) => {
  const { gw, seen, registered, client } = await fixture(t);
  const good = goodClient(t, gw.url, TOKEN, 'orders-good');
  const a = await client();
  await ok(a, heartbeat('a@1', ['pg']));
  const tran = (group: string, pgroup = group) => send({ [MessageConst.TRAN_MSG]: 'true', [MessageConst.PGROUP]: pgroup }, { group });
  for (const [group, pgroup] of [['pg', 'other'], ['pg2', 'pg']] as const) {
    const r = await a.request(BROKER, tran(group, pgroup));
    assert.equal(r.code, ResponseCode.NO_PERMISSION);
    assert.match(r.remark ?? '', /PGROUP equal to its producer group/);
  }
  const half = tran('pg');
  const uniq = /UNIQ_KEY\u0001([^\u0002]+)/.exec(half.extFields!.i!)![1]!;
  const sent = await ok(a, half);
  const own = registered.get('a@1')!;
  const mine = { commitLogOffset: String(decodeOffsetMsgId(sent.extFields!.msgId!).offset), tranStateTableOffset: sent.extFields!.queueOffset!, msgId: uniq };

  const b = await client();
  await ok(b, heartbeat('b@1', ['pg']));
  b.send(BROKER, endTx(mine)); // another connection, same group, exact offsets
  a.send(BROKER, endTx({ ...mine, commitLogOffset: String(Number(mine.commitLogOffset) + 100) })); // guessed
  a.send(BROKER, endTx({ ...mine, producerGroup: 'pg-x' })); // a group it never registered
  a.send(BROKER, endTx({ ...mine, msgId: 'other' }));
  a.send(BROKER, endTx({ ...mine, commitOrRollback: '4' }));
  a.send(BROKER, createRequest(RequestCode.END_TRANSACTION, { ...endTx(mine).extFields!, extra: 'x' }, { oneway: true }));
  // Duplicate keys: the last value is the one checked, and the one forwarded.
  const fields = Object.entries(endTx(mine).extFields!);
  a.ws.send(encodeEnvelope(BROKER, jsonFrame(RequestCode.END_TRANSACTION, [...fields, ['commitLogOffset', '1']], 0, new Uint8Array(0), 2)));
  for (let i = 0; i < 250 && (await refusals(gw, 'transaction_refused')) + (await refusals(gw, 'unknown_field')) < 7; i++) await sleep(20);

  a.send(BROKER, endTx({ ...mine, commitOrRollback: '0' })); // UNKNOW keeps the ticket
  a.send(BROKER, endTx(mine)); // commit uses it up
  a.send(BROKER, endTx(mine));
  await waitFor(() => codesAtBroker(seen, RequestCode.END_TRANSACTION).length === 2, 5000, 'END_TRANSACTION relayed');
  await sleep(100);
  const ends = codesAtBroker(seen, RequestCode.END_TRANSACTION);
  assert.deepEqual(ends.map((e) => e.cmd.extFields!.commitOrRollback), ['0', '8']);
  for (const e of ends) {
    assert.equal(e.socket, own, 'over the connection the group was registered on');
    assert.equal(e.cmd.extFields!.commitLogOffset, mine.commitLogOffset);
  }
  assert.equal(await refusals(gw, 'transaction_refused'), 7);
  const { ok: n, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(n > 0);
});

test('a check-back reaches the client when its group and topic are the client\'s, and lets it end that transaction; other checks are dropped', async (t) => {
  const { gw, seen, registered, client, call } = await fixture(t);
  const a = await client();
  await ok(a, heartbeat('a@1', ['pg']));
  await ok(a, send({ [MessageConst.TRAN_MSG]: 'true', [MessageConst.PGROUP]: 'pg' }));
  const own = registered.get('a@1')!;
  const check = (topic: string, group: string, commitLogOffset: number) => createRequest(RequestCode.CHECK_TRANSACTION_STATE, {
    tranStateTableOffset: '7', commitLogOffset: String(commitLogOffset), msgId: `UNIQ${commitLogOffset}`, transactionId: `UNIQ${commitLogOffset}`,
    offsetMsgId: createOffsetMsgId('127.0.0.1', 1, commitLogOffset),
  }, {
    oneway: true,
    body: encodeRecord({
      topic, queueId: 1, flag: 0, queueOffset: 7, commitLogOffset, sysFlag: 4, bornTimestamp: 1, bornHost: '127.0.0.1:1',
      storeTimestamp: 2, storeHost: '127.0.0.1:2', reconsumeTimes: 0, preparedTransactionOffset: 0, body: utf8.encode('half'),
      propertiesString: encodeProperties({ [MessageConst.PGROUP]: group, [MessageConst.UNIQ_KEY]: `UNIQ${commitLogOffset}`, [MessageConst.TRAN_MSG]: 'true' }),
    }),
  });
  call(own, check('payments-1', 'pg', 1000), 0); // the token may not publish there
  call(own, check('orders-1', 'pg-x', 2000), 0); // a group this client did not register
  // Nothing else a broker sends there reaches the client (CONSUME_MESSAGE_DIRECTLY, GET_CONSUMER_RUNNING_INFO).
  call(own, createRequest(309, { consumerGroup: 'pg', clientId: 'a@1', msgId: 'X' }), 7001);
  call(own, createRequest(307, { consumerGroup: 'pg', clientId: 'a@1' }), 7002);
  call(own, check('orders-1', 'pg', 3000), 0);
  await waitFor(() => a.requests.length === 1, 5000, 'check relayed');
  await sleep(50);
  assert.equal(a.requests.length, 1);
  const relayed = a.requests[0]!;
  assert.equal(relayed.target, BROKER);
  assert.equal(relayed.cmd.code, RequestCode.CHECK_TRANSACTION_STATE);
  assert.equal(relayed.cmd.extFields!.commitLogOffset, '3000');
  assert.equal(await refusals(gw, 'callback_dropped'), 2);

  // The dropped checks give no ticket; the relayed one does (Java answers with the check's offsets).
  a.send(BROKER, endTx({ commitLogOffset: '1000', tranStateTableOffset: '7', msgId: 'UNIQ1000', fromTransactionCheck: 'true' }));
  a.send(BROKER, endTx({ commitLogOffset: '3000', tranStateTableOffset: '7', msgId: 'UNIQ3000', transactionId: 'UNIQ3000', fromTransactionCheck: 'true' }));
  await waitFor(() => codesAtBroker(seen, RequestCode.END_TRANSACTION).length === 1, 5000, 'END_TRANSACTION relayed');
  await sleep(50);
  const ends = codesAtBroker(seen, RequestCode.END_TRANSACTION);
  assert.equal(ends.length, 1);
  assert.equal(ends[0]!.cmd.extFields!.commitLogOffset, '3000');
  assert.equal(ends[0]!.socket, own);
});

test('replies need MSG_TYPE=reply and a token that may publish to the reply topic', async (t) => {
  const { seen, client } = await fixture(t);
  const a = await client();
  const reply = (props: Record<string, string>, topic = 'DefaultCluster_REPLY_TOPIC') =>
    send({ [MessageConst.CORRELATION_ID]: 'c', [MessageConst.REPLY_TO_CLIENT]: 'x@1', ...props }, { topic, code: RequestCode.SEND_REPLY_MESSAGE_V2 });
  await ok(a, reply({ [MessageConst.MSG_TYPE]: 'reply' }));
  const notReply = await a.request(BROKER, reply({}));
  assert.equal(notReply.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.match(notReply.remark ?? '', /MSG_TYPE=reply/);
  const other = await client(OTHER);
  const denied = await other.request(BROKER, reply({ [MessageConst.MSG_TYPE]: 'reply' }));
  assert.equal(denied.code, ResponseCode.NO_PERMISSION);
  assert.match(denied.remark ?? '', /DefaultCluster_REPLY_TOPIC/);
  assert.equal(codesAtBroker(seen, RequestCode.SEND_REPLY_MESSAGE_V2).length, 1);
});

test('own connections for callbacks count under maxConsumerLinks: a request beyond it is refused clearly, and gets through once one closes', async (t) => {
  const { client } = await fixture(t, { maxConsumerLinks: 1 });
  const a = await client();
  const b = await client();
  await ok(a, heartbeat('a@1', ['pg']));
  await ok(b, heartbeat('b@1', ['pg']));
  await ok(a, request('a@1', 'ca'));
  const busy = await b.request(BROKER, request('b@1', 'cb'));
  assert.equal(busy.code, ResponseCode.SYSTEM_BUSY);
  assert.match(busy.remark ?? '', /maxConsumerLinks/);
  a.ws.close();
  await a.closed;
  let r = busy;
  for (let i = 0; i < 100 && r.code !== ResponseCode.SUCCESS; i++) {
    await sleep(20);
    r = await b.request(BROKER, request('b@1', `cb${i}`));
  }
  assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
});
