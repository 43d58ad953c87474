// Producers with broker callbacks through the gateway against the embedded broker (4.9.8's
// ProducerManager, transactions and reply path, over real TCP): what the broker registers, a
// commit and a check-back that end a half message, a reply pushed to its requester only.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll, withClient } from '@rocketmq-edge/broker/testing';
import { MessageConst, RequestCode, ResponseCode, createRequest, createResponse, decodeOffsetMsgId, parseLenientJson, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startGateway } from './index.js';
import { endTx, producerHeartbeat, rawClient, sendWith, sleep, waitFor } from './test-support.js';

const TOKEN = 'callbacks-broker-token';
const BROKER = 'broker-a@0';
const utf8d = new TextDecoder();

const ACCOUNT = { accessKey: 'gateway-ak', secretKey: 'gateway-secret' };

async function fixture(t: TestContext, opts: { acl?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-callbacks-'));
  // Half messages are checked back 300 ms after they are stored, every 300 ms (4.9.8: 6 s, 60 s).
  const emb = await startEmbedded({
    dataDir: dir, transactionTimeoutMs: 300, transactionCheckIntervalMs: 300, ...(opts.acl ? { aclAccounts: [ACCOUNT] } : {}),
  });
  const gw = await startGateway({
    namesrvAddr: emb.namesrvAddr,
    ...(opts.acl ? { acl: ACCOUNT } : {}),
    auth: { staticTokens: { [TOKEN]: { sub: 'app', topics: ['orders-*', 'DefaultCluster_REPLY_TOPIC'] } } },
    logLevel: 'silent',
  });
  t.after(async () => { await gw.close(); await emb.close(); await rm(dir, { recursive: true, force: true }); });
  const client = async () => {
    const c = rawClient(gw.url, ['rocketmq-edge.v1', `bearer.${TOKEN}`]);
    t.after(() => c.ws.terminate());
    assert.equal(await c.opened, true);
    return c;
  };
  /** The broker's answer to `mqadmin producerConnection -g <group>`: the client ids registered. */
  const producers = (group: string) => withClient(emb.namesrvAddr, async (rc) => {
    const r = await rc.invoke(emb.broker.addr, createRequest(204, { producerGroup: group }), 3000);
    if (r.code !== ResponseCode.SUCCESS) return [];
    return (parseLenientJson(utf8d.decode(r.body!)) as { connectionSet: { clientId: string }[] }).connectionSet.map((c) => c.clientId);
  });
  const stored = async (topic: string) => (await readAll({ namesrvAddr: emb.namesrvAddr, topic })).map((m) => utf8d.decode(m.body));
  return { client, producers, stored };
}

async function ok(c: Awaited<ReturnType<Awaited<ReturnType<typeof fixture>>['client']>>, cmd: RemotingCommand): Promise<RemotingCommand> {
  const r = await c.request(BROKER, cmd);
  assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
  return r;
}

const half = (topic: string, body: string) => {
  const cmd = sendWith({ [MessageConst.TRAN_MSG]: 'true', [MessageConst.PGROUP]: 'pg' }, { topic });
  cmd.body = new TextEncoder().encode(body);
  return cmd;
};
/** END_TRANSACTION fields for a half message's send result, as Java computes them. */
const ticketOf = (cmd: RemotingCommand, r: RemotingCommand) => ({
  commitLogOffset: String(decodeOffsetMsgId(r.extFields!.msgId!).offset),
  tranStateTableOffset: r.extFields!.queueOffset!,
  msgId: /UNIQ_KEY\u0001([^\u0002]+)/.exec(cmd.extFields!.i!)![1]!,
});

test('the broker registers only clients that need callbacks, on their own connection, and forgets them when they leave; a commit needs the client\'s own half message', async (t) => {
  const { client, producers, stored } = await fixture(t);
  const a = await client();
  await ok(a, producerHeartbeat('a@1', ['pg']));
  await ok(a, sendWith({}, { topic: 'orders-plain' }));
  assert.deepEqual(await producers('pg'), [], 'a heartbeat answered by the gateway registers nothing at the broker');

  const msg = half('orders-tx', 'committed');
  const sent = await ok(a, msg);
  assert.deepEqual(await producers('pg'), ['a@1'], 'registered before the half message was stored');
  const mine = ticketOf(msg, sent);
  a.send(BROKER, endTx({ ...mine, commitLogOffset: String(Number(mine.commitLogOffset) + 1) })); // guessed: never relayed
  a.send(BROKER, endTx(mine));
  for (let i = 0; i < 250 && (await stored('orders-tx')).length === 0; i++) await sleep(20);
  assert.deepEqual(await stored('orders-tx'), ['committed']);

  a.ws.close();
  await a.closed;
  for (let i = 0; i < 250 && (await producers('pg')).length > 0; i++) await sleep(20);
  assert.deepEqual(await producers('pg'), [], 'its connection closed with it');
});

test('the broker\'s check-back reaches the client through the gateway, and the END_TRANSACTION answering it commits', async (t) => {
  const { client, stored } = await fixture(t);
  const a = await client();
  await ok(a, producerHeartbeat('a@1', ['pg']));
  const msg = half('orders-checked', 'decided on check');
  await ok(a, msg);
  a.send(BROKER, endTx({ ...ticketOf(msg, await ok(a, half('orders-checked', 'never committed'))), commitOrRollback: '12' }));
  await waitFor(() => a.requests.some((r) => r.cmd.code === RequestCode.CHECK_TRANSACTION_STATE), 10_000, 'check-back');
  const check = a.requests.find((r) => r.cmd.code === RequestCode.CHECK_TRANSACTION_STATE)!;
  assert.equal(check.target, BROKER);
  const h = check.cmd.extFields!;
  a.send(BROKER, endTx({ commitLogOffset: h.commitLogOffset!, tranStateTableOffset: h.tranStateTableOffset!, msgId: h.msgId!, transactionId: h.transactionId!, fromTransactionCheck: 'true' }));
  for (let i = 0; i < 250 && (await stored('orders-checked')).length === 0; i++) await sleep(20);
  await sleep(700); // more check rounds: nothing else becomes visible
  assert.deepEqual(await stored('orders-checked'), ['decided on check']);
});

test('a reply reaches its requester only: the broker pushes it through the gateway, the requester\'s answer decides what the replier hears', async (t) => {
  const { client } = await fixture(t);
  const requester = await client();
  const bystander = await client();
  const replier = await client();
  await ok(requester, producerHeartbeat('req@1', ['pg']));
  await ok(bystander, producerHeartbeat('by@1', ['pg']));
  const ask = (c: typeof requester, id: string, corr: string) => ok(c, sendWith({
    [MessageConst.REPLY_TO_CLIENT]: id, [MessageConst.CORRELATION_ID]: corr, [MessageConst.TTL]: '30000',
  }, { topic: 'orders-req' }));
  await ask(requester, 'req@1', 'c-1');
  await ask(bystander, 'by@1', 'c-2');
  const reply = (to: string, corr: string) => replier.request(BROKER, sendWith({
    [MessageConst.MSG_TYPE]: 'reply', [MessageConst.REPLY_TO_CLIENT]: to, [MessageConst.CORRELATION_ID]: corr, [MessageConst.CLUSTER]: 'DefaultCluster',
  }, { topic: 'DefaultCluster_REPLY_TOPIC', code: RequestCode.SEND_REPLY_MESSAGE_V2, group: 'rg' }));

  const answered = reply('req@1', 'c-1');
  await waitFor(() => requester.requests.length === 1, 10_000, 'reply pushed');
  const pushed = requester.requests[0]!;
  assert.equal(pushed.cmd.code, RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT);
  requester.send(BROKER, createResponse(pushed.cmd, ResponseCode.SUCCESS));
  assert.equal((await answered).code, ResponseCode.SUCCESS);

  // A reply naming the bystander with the requester's correlation id: pushed to the bystander's
  // connection by the broker, not relayed by the gateway; the replier hears the push failed.
  const misdirected = await reply('by@1', 'c-1');
  assert.notEqual(misdirected.code, ResponseCode.SUCCESS);
  assert.equal(bystander.requests.length, 0);
  assert.equal(requester.requests.length, 1);
});

test('on an ACL-enabled cluster the registration the gateway writes itself is signed: the check-back arrives', async (t) => {
  const { client } = await fixture(t, { acl: true });
  const a = await client();
  await ok(a, producerHeartbeat('a@1', ['pg']));
  await ok(a, half('orders-acl', 'signed'));
  await waitFor(() => a.requests.some((r) => r.cmd.code === RequestCode.CHECK_TRANSACTION_STATE), 10_000, 'check-back');
});
