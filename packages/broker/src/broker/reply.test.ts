// Request-reply and the producer registry behind it, over real TCP: SEND_REPLY_MESSAGE(_V2) pushes
// PUSH_REPLY_MESSAGE_TO_CLIENT to the connection registered for REPLY_TO_CLIENT (4.9.8 ProducerManager).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemotingClient, createRequest, createResponse, decodeProperties, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { startEmbedded, type BrokerOptions } from '../index.js';
import { readAll } from '../testing.js';
import { RawConn, sleep, tempDir } from '../test-support.js';

const utf8 = new TextEncoder();
type T = { after(fn: () => unknown): void };

async function setup(t: T, opts: Partial<BrokerOptions> = {}) {
  const dir = await tempDir(t);
  const e = await startEmbedded({ dataDir: dir, ...opts });
  t.after(() => e.close());
  return { addr: e.broker.addr, namesrvAddr: e.namesrvAddr };
}

function heartbeat(clientID: string, groups: string[]): RemotingCommand {
  const body = JSON.stringify({ clientID, consumerDataSet: [], producerDataSet: groups.map((groupName) => ({ groupName })) });
  return createRequest(34, undefined, { body: utf8.encode(body) });
}

/** A requester's connection: heartbeats as `clientId` and records every reply pushed to it. */
async function requester(t: T, addr: string, clientIds: string[], answer = 0) {
  const transport = new TcpTransport({});
  const c = new RemotingClient(transport);
  t.after(async () => {
    await c.close();
    await transport.close();
  });
  const pushed: RemotingCommand[] = [];
  c.onRequest((_target, req) => {
    if (req.code !== 326) return;
    pushed.push(req);
    return createResponse(req, answer, answer ? 'cannot take it' : undefined);
  });
  for (const id of clientIds) assert.equal((await c.invoke(addr, heartbeat(id, ['requesters']), 5000)).code, 0);
  return { c, pushed };
}

function reply(replyTo: string | undefined, body: string, code = 325): RemotingCommand {
  const props = `${replyTo !== undefined ? `REPLY_TO_CLIENT\u0001${replyTo}\u0002` : ''}CORRELATION_ID\u0001corr-${body}\u0002MSG_TYPE\u0001reply\u0002TTL\u00013000\u0002CLUSTER\u0001DefaultCluster`;
  const fields: Record<string, string> = code === 325
    ? { a: 'replier', b: 'DefaultCluster_REPLY_TOPIC', c: 'TBW102', d: '4', e: '0', f: '0', g: '1700000000123', h: '0', i: props, j: '0', k: 'false', m: 'false' }
    : { producerGroup: 'replier', topic: 'DefaultCluster_REPLY_TOPIC', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0', bornTimestamp: '1700000000123', flag: '0', properties: props, reconsumeTimes: '0', unitMode: 'false', batch: 'false' };
  return createRequest(code, fields, { body: utf8.encode(body) });
}

describe('broker: request-reply', () => {
  it('pushes a reply only to the connection of its REPLY_TO_CLIENT, with the ReplyMessageRequestHeader, and stores it', async (t) => {
    const { addr, namesrvAddr } = await setup(t);
    const a = await requester(t, addr, ['10.0.0.1@A']);
    const b = await requester(t, addr, ['10.0.0.1@B']);
    const replier = await RawConn.connect(addr);
    t.after(() => replier.close());

    const r = await replier.call(reply('10.0.0.1@A', 'for-a'));
    assert.equal(r.code, 0, r.remark);
    assert.equal(r.extFields!.queueId, '0');
    assert.match(r.extFields!.msgId!, /^[0-9A-F]{32}$/, 'the offset id of the stored reply');
    assert.equal(r.extFields!.MSG_REGION, 'DefaultRegion');
    assert.equal(a.pushed.length, 1);
    assert.equal(b.pushed.length, 0, 'another requester never sees it');
    const push = a.pushed[0]!;
    const h = push.extFields!;
    assert.deepEqual(Object.keys(h).sort(), ['bornHost', 'bornTimestamp', 'defaultTopic', 'defaultTopicQueueNums', 'flag', 'producerGroup', 'properties',
      'queueId', 'reconsumeTimes', 'storeHost', 'storeTimestamp', 'sysFlag', 'topic', 'unitMode']);
    assert.equal(h.topic, 'DefaultCluster_REPLY_TOPIC');
    assert.equal(h.producerGroup, 'replier');
    assert.equal(h.bornTimestamp, '1700000000123');
    assert.equal(h.unitMode, 'false');
    assert.equal(h.bornHost, `127.0.0.1:${replier.socket.localPort}`);
    assert.equal(h.storeHost, addr);
    const props = decodeProperties(h.properties!);
    assert.equal(props.CORRELATION_ID, 'corr-for-a');
    assert.ok(Number(props.PUSH_REPLY_TIME) > 0, 'PUSH_REPLY_TIME added');
    assert.equal(new TextDecoder().decode(push.body), 'for-a');

    const r2 = await replier.call(reply('10.0.0.1@B', 'for-b', 324));
    assert.equal(r2.code, 0, r2.remark);
    assert.deepEqual(b.pushed.map((p) => new TextDecoder().decode(p.body)), ['for-b']);
    assert.equal(a.pushed.length, 1);

    const stored = await readAll({ namesrvAddr, topic: 'DefaultCluster_REPLY_TOPIC' });
    assert.deepEqual(stored.map((m) => new TextDecoder().decode(m.body)), ['for-a', 'for-b']);
    assert.equal(stored[0]!.properties.PUSH_REPLY_TIME, undefined, 'stored as the replier sent it');
  });

  it('answers SYSTEM_ERROR with 4.9.8 remarks: unknown client, missing REPLY_TO_CLIENT, requester refusing', async (t) => {
    const { addr } = await setup(t, { storeReplyMessageEnable: false });
    const refusing = await requester(t, addr, ['r@1'], 1);
    const replier = await RawConn.connect(addr);
    t.after(() => replier.close());
    const unknown = await replier.call(reply('nobody@1', 'x'));
    assert.deepEqual([unknown.code, unknown.remark], [1, 'push reply message fail, channel of <nobody@1> not found.']);
    const missing = await replier.call(reply(undefined, 'y'));
    assert.deepEqual([missing.code, missing.remark], [1, 'reply message properties[REPLY_TO_CLIENT] is null']);
    const refused = await replier.call(reply('r@1', 'z'));
    assert.deepEqual([refused.code, refused.remark], [1, 'push reply message to r@1fail.']);
    assert.equal(refusing.pushed.length, 1);
    const ok = await requester(t, addr, ['ok@1']);
    const fine = await replier.call(reply('ok@1', 'w'));
    assert.equal(fine.code, 0);
    assert.deepEqual([fine.extFields!.msgId, fine.extFields!.queueOffset], ['0', '0'], 'not stored: the header says 0');
    assert.equal(ok.pushed.length, 1);
  });
});

describe('broker: reply push and lost requesters', () => {
  it('fails the push at once when the requester connection closes before answering', async (t) => {
    const { addr } = await setup(t);
    const raw = await RawConn.connect(addr);
    t.after(() => raw.close());
    assert.equal((await raw.call(heartbeat('raw@1', ['requesters']))).code, 0);
    const replier = await RawConn.connect(addr);
    t.after(() => replier.close());
    const opaque = replier.send(reply('raw@1', 'lost'));
    const push = await raw.waitFor((f) => f.code === 326);
    assert.equal((push.flag & 2), 0, 'a two-way request');
    raw.close();
    const r = await replier.waitFor((f) => f.opaque === opaque && (f.flag & 1) === 1, 5000);
    assert.deepEqual([r.code, r.remark], [1, 'push reply message to raw@1fail.']);
  });
});

describe('broker: producer registry (4.9.8 ProducerManager)', () => {
  it('reaches only the first client id heartbeated on a connection for a group', async (t) => {
    const { addr } = await setup(t);
    const shared = await requester(t, addr, ['first@1', 'second@1']);
    const replier = await RawConn.connect(addr);
    t.after(() => replier.close());
    assert.equal((await replier.call(reply('first@1', 'one'))).code, 0);
    const second = await replier.call(reply('second@1', 'two'));
    assert.deepEqual([second.code, second.remark], [1, 'push reply message fail, channel of <second@1> not found.']);
    assert.equal(shared.pushed.length, 1);
  });

  it('forgets a client on UNREGISTER_CLIENT and when its connection closes; lists connections for mqadmin', async (t) => {
    const { addr } = await setup(t);
    const replier = await RawConn.connect(addr);
    t.after(() => replier.close());
    const p = await requester(t, addr, ['u@1']);
    const list = await replier.call(createRequest(204, { producerGroup: 'requesters' }));
    assert.equal(list.code, 0);
    const set = JSON.parse(new TextDecoder().decode(list.body)).connectionSet;
    assert.deepEqual(set.map((c: { clientId: string; language: string; version: number }) => [c.clientId, c.language, c.version]), [['u@1', 'JAVA', 409]]);
    assert.equal((await p.c.invoke(addr, createRequest(35, { clientID: 'u@1', producerGroup: 'requesters' }), 5000)).code, 0);
    const gone = await replier.call(reply('u@1', 'x'));
    assert.equal(gone.remark, 'push reply message fail, channel of <u@1> not found.');
    const none = await replier.call(createRequest(204, { producerGroup: 'requesters' }));
    assert.deepEqual([none.code, none.remark], [1, 'the producer group[requesters] not exist']);

    const raw = await RawConn.connect(addr);
    assert.equal((await raw.call(heartbeat('closing@1', ['requesters']))).code, 0);
    raw.close();
    await sleep(100);
    const closed = await replier.call(reply('closing@1', 'y'));
    assert.equal(closed.remark, 'push reply message fail, channel of <closing@1> not found.');
  });

  it('drops and closes a producer connection silent past the expiry; one that heartbeats stays', async (t) => {
    const { addr } = await setup(t, { clientExpireMs: 300, clientScanIntervalMs: 50 });
    const silent = await RawConn.connect(addr);
    t.after(() => silent.close());
    const alive = await RawConn.connect(addr);
    t.after(() => alive.close());
    assert.equal((await silent.call(heartbeat('silent@1', ['pg']))).code, 0);
    assert.equal((await alive.call(heartbeat('alive@1', ['pg']))).code, 0);
    const beats = setInterval(() => alive.send(heartbeat('alive@1', ['pg'])), 100);
    t.after(() => clearInterval(beats));
    await silent.waitClosed(5000);
    assert.equal(alive.closed, false);
    const list = await alive.call(createRequest(204, { producerGroup: 'pg' }));
    const ids = JSON.parse(new TextDecoder().decode(list.body)).connectionSet.map((c: { clientId: string }) => c.clientId);
    assert.deepEqual(ids, ['alive@1']);
  });
});
