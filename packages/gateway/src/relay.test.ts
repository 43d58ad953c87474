// Relay behaviour against scripted fake upstreams: aliases, opaque remapping, oneway, failover,
// upstream loss, ACL signing, disconnect clean-up.
import { test } from 'node:test';
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  NAMESRV_TARGET,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  createResponse,
  parseLenientJson,
} from '@rocketmq-edge/core/internal';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGateway } from './index.js';
import { aclSignature } from './acl.js';
import { clusterInfoBody, routeBody, startFakeRemoting, waitFor, type FakeServer } from './test-support.js';

const TOKEN = 'dev-token-relay';
const utf8d = new TextDecoder();

async function fixture(t: import('node:test').TestContext, opts: { acl?: boolean; namesrvFirstDead?: boolean } = {}) {
  const brokers: FakeServer[] = [];
  const sendHandler = (name: string) => (cmd: import('@rocketmq-edge/core/internal').RemotingCommand) => {
    if (cmd.extFields?.h === '777') return 'silent' as const;
    if (cmd.code === RequestCode.SEND_MESSAGE_V2 || cmd.code === RequestCode.SEND_BATCH_MESSAGE) {
      return createResponse(cmd, ResponseCode.SUCCESS, undefined, { msgId: 'X', queueId: cmd.extFields?.e ?? '0', queueOffset: '0', broker: name });
    }
    if (cmd.code === RequestCode.HEART_BEAT) return createResponse(cmd, ResponseCode.SUCCESS);
    return undefined;
  };
  brokers.push(await startFakeRemoting(sendHandler('broker-a')));
  brokers.push(await startFakeRemoting(sendHandler('broker-b')));
  const list = [{ name: 'broker-a', addr: brokers[0]!.addr }, { name: 'broker-b', addr: brokers[1]!.addr }];
  const namesrv = await startFakeRemoting((cmd) => {
    if (cmd.code === RequestCode.GET_ROUTEINFO_BY_TOPIC) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, routeBody(list, true));
    if (cmd.code === RequestCode.GET_BROKER_CLUSTER_INFO) return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, clusterInfoBody(list));
    return undefined;
  });
  let namesrvAddr = namesrv.addr;
  if (opts.namesrvFirstDead) {
    const dead = await startFakeRemoting(() => undefined);
    await dead.close();
    namesrvAddr = `${dead.addr};${namesrv.addr}`;
  }
  const gw = await startGateway({
    namesrvAddr,
    auth: { staticTokens: { [TOKEN]: { sub: 'tester', topics: ['demo-*', 'orders-?'] } } },
    ...(opts.acl ? { acl: { accessKey: 'AK', secretKey: 'SK', securityToken: 'ST' } } : {}),
    logLevel: 'silent',
  });
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN, heartbeatIntervalMs: 0 });
  const client = new RemotingClient(transport);
  t.after(async () => {
    await client.close();
    await transport.close();
    await gw.close();
    for (const b of brokers) await b.close();
    await namesrv.close();
  });
  return { gw, transport, client, brokers, namesrv, list };
}

const send = (topic: string, extra: Record<string, string> = {}) =>
  createRequest(RequestCode.SEND_MESSAGE_V2, { a: 'g', b: topic, c: 'TBW102', d: '4', e: '1', f: '0', g: '1', h: '0', i: '', j: '0', k: 'false', m: 'false', n: 'broker-a', ...extra }, { body: new Uint8Array(16) });

test('route responses carry aliases only; sends go through aliases; opaques are remapped', async (t) => {
  const { client, brokers } = await fixture(t);
  const r = await client.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-1' }), 3000);
  assert.equal(r.code, ResponseCode.SUCCESS);
  const text = utf8d.decode(r.body!);
  assert.doesNotMatch(text, /127\.0\.0\.1|10\.0\.0\.9/, 'no network address reaches the client');
  const route = parseLenientJson(text) as { brokerDatas: { brokerName: string; brokerAddrs: Record<string, string> }[] };
  assert.deepEqual(route.brokerDatas.map((b) => b.brokerAddrs['0']), ['broker-a@0', 'broker-b@0']);
  // many concurrent sends, both brokers
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    client.invoke(i % 2 ? 'broker-b@0' : 'broker-a@0', send('demo-1'), 3000)));
  for (const [i, res] of results.entries()) {
    assert.equal(res.code, ResponseCode.SUCCESS);
    assert.equal(res.extFields?.broker, i % 2 ? 'broker-b' : 'broker-a');
  }
  // upstream saw gateway opaques, unique per upstream connection
  const ops = brokers[0]!.received.map((c) => c.opaque);
  assert.equal(new Set(ops).size, ops.length);
  // oneway: relayed, no response
  await client.invokeOneway('broker-a@0', send('demo-1', { h: '7' }));
  await waitFor(() => brokers[0]!.received.some((c) => c.extFields?.h === '7' && (c.flag & 2) === 2), 3000, 'oneway relayed');
});

test('non-alias target, broker codes to the name server and unknown aliases are refused with NO_PERMISSION', async (t) => {
  const { client, brokers } = await fixture(t);
  const raw = await client.invoke(brokers[0]!.addr, send('demo-1'), 3000);
  assert.equal(raw.code, ResponseCode.NO_PERMISSION);
  assert.match(raw.remark ?? '', /unknown broker alias/);
  const wrong = await client.invoke(NAMESRV_TARGET, send('demo-1'), 3000);
  assert.equal(wrong.code, ResponseCode.NO_PERMISSION);
  const routeToBroker = await client.invoke('broker-a@0', createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-1' }), 3000);
  assert.equal(routeToBroker.code, ResponseCode.NO_PERMISSION);
  assert.equal(brokers[0]!.received.length, 0, 'nothing reached the broker');
});

test('aliases survive a gateway restart: unknown alias is learned from cluster info', async (t) => {
  const { client } = await fixture(t);
  // no route lookup first: the alias comes from an earlier gateway's route
  const r = await client.invoke('broker-b@0', send('demo-x'), 3000);
  assert.equal(r.code, ResponseCode.SUCCESS);
  assert.equal(r.extFields?.broker, 'broker-b');
});

test('upstream broker loss fails in-flight requests promptly with SYSTEM_ERROR', async (t) => {
  const { client, brokers } = await fixture(t);
  await client.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-1' }), 3000);
  const inflight = client.invoke('broker-b@0', send('demo-1', { h: '777' }), 10_000);
  await waitFor(() => brokers[1]!.received.length > 0, 3000, 'request upstream');
  const t0 = Date.now();
  await brokers[1]!.close();
  const res = await inflight;
  assert.equal(res.code, ResponseCode.SYSTEM_ERROR);
  assert.match(res.remark ?? '', /upstream broker broker-b@0 unavailable/);
  assert.doesNotMatch(res.remark ?? '', /127\.0\.0\.1/);
  assert.ok(Date.now() - t0 < 2000, 'prompt');
  const after = await client.invoke('broker-b@0', send('demo-1'), 5000);
  assert.equal(after.code, ResponseCode.SYSTEM_ERROR);
  // the other broker is unaffected
  assert.equal((await client.invoke('broker-a@0', send('demo-1'), 3000)).code, ResponseCode.SUCCESS);
});

test('name server failover: first name server down, second answers', async (t) => {
  const { client } = await fixture(t, { namesrvFirstDead: true });
  const r = await client.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'demo-1' }), 5000);
  assert.equal(r.code, ResponseCode.SUCCESS);
});

test('upstream requests are signed with the gateway ACL credentials; client ACL fields are refused', async (t) => {
  const { client, brokers } = await fixture(t, { acl: true });
  const forged = await client.invoke('broker-a@0', send('demo-1', { AccessKey: 'evil', Signature: 'forged' }), 3000);
  assert.equal(forged.code, ResponseCode.MESSAGE_ILLEGAL);
  assert.match(forged.remark ?? '', /header field "AccessKey" is not part of request code 310/);
  assert.equal(brokers[0]!.received.length, 0, 'nothing relayed');
  const resp = await client.invoke('broker-a@0', send('demo-1'), 3000);
  assert.equal(resp.code, ResponseCode.SUCCESS, resp.remark);
  const got = brokers[0]!.received.at(-1)!;
  assert.equal(got.extFields?.AccessKey, 'AK');
  assert.equal(got.extFields?.SecurityToken, 'ST');
  const { Signature, ...rest } = got.extFields!;
  assert.equal(Signature, aclSignature(rest, got.body, 'SK'));
});

test('a client that disconnects leaves nothing pending upstream; late answers are discarded', async (t) => {
  const { gw, brokers } = await fixture(t);
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN, heartbeatIntervalMs: 0 });
  const client = new RemotingClient(transport);
  const p = client.invoke('broker-a@0', send('demo-1', { h: '777' }), 2000).catch((e: Error) => e);
  await waitFor(() => brokers[0]!.received.length > 0, 3000, 'request upstream');
  await transport.close();
  await p;
  await client.close();
  await waitFor(() => gw.connections === 0, 2000, 'session closed');
  const pending = gw.pendingUpstream();
  assert.equal(pending, 0, 'no mapping left upstream');
});

test('ACL signature matches the reference algorithm (sorted keys, values then body)', () => {
  const sig = aclSignature({ b: '2', AccessKey: 'ak', a: '1', Signature: 'old' }, new TextEncoder().encode('body'), 'secret');
  assert.equal(sig, createHmac('sha1', 'secret').update('ak12body').digest('base64'));
});
