// The gateway with ACL credentials (--acl-access-key / --acl-secret-key) in front of an ACL-enabled
// embedded broker: relayed WebSocket sends (signed synchronously by the relay) and HTTP publishes
// (signed by core's AclTransport) are accepted; the same gateway without credentials is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@rocketmq-edge/core/internal';
import { startEmbedded } from '@rocketmq-edge/broker';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGateway } from './index.js';
import { spawnGatewayCli } from './test-support.js';

const TOKEN = 'acl-broker-token';
const account = { accessKey: 'gateway-ak', secretKey: 'gateway-secret' };

async function aclBroker(t: import('node:test').TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-gw-acl-'));
  const emb = await startEmbedded({ dataDir: dir, aclAccounts: [account] });
  t.after(async () => {
    await emb.close();
    await rm(dir, { recursive: true, force: true });
  });
  return emb;
}

async function wsProducer(t: import('node:test').TestContext, namesrvAddr: string) {
  const gw = await startGateway({
    namesrvAddr,
    auth: { staticTokens: { [TOKEN]: { sub: 'tester', topics: ['acl-*'] } } },
    logLevel: 'silent',
  });
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN });
  const producer = new Producer({ transport, producerGroup: 'acl-gw', retryTimesWhenSendFailed: 0, sendMsgTimeout: 5000 });
  t.after(async () => {
    await producer.shutdown().catch(() => {});
    await transport.close();
    await gw.close();
  });
  await producer.start();
  return producer;
}

test('rocketmq-edge --acl-access-key/--acl-secret-key: WebSocket sends and HTTP publishes reach an ACL broker', async (t) => {
  const emb = await aclBroker(t);
  const { ready } = await spawnGatewayCli(t, [
    '--namesrv', emb.namesrvAddr, '--no-demo', '--static-token', `${TOKEN}=acl-*`,
    '--acl-access-key', account.accessKey, '--acl-secret-key', account.secretKey,
  ]);
  const transport = new WebSocketTransport({ url: ready.wsUrl, token: TOKEN });
  const producer = new Producer({ transport, producerGroup: 'acl-gw', retryTimesWhenSendFailed: 0, sendMsgTimeout: 5000 });
  t.after(async () => {
    await producer.shutdown().catch(() => {});
    await transport.close();
  });
  await producer.start();
  for (let i = 0; i < 5; i++) assert.equal((await producer.send({ topic: 'acl-ws', body: `ws-${i}` })).sendStatus, 'SEND_OK');
  const r = await fetch(new URL('/v1/topics/acl-http/messages', ready.url), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: 'over-http' });
  assert.equal(r.status, 200, await r.text());
});

test('a gateway without credentials is refused by the ACL broker with its remark', async (t) => {
  const emb = await aclBroker(t);
  const producer = await wsProducer(t, emb.namesrvAddr);
  const e = await producer.send({ topic: 'acl-ws', body: 'unsigned' }).then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof Error, 'the send fails');
  assert.match(e.message, /answered code 1: org\.apache\.rocketmq\.acl\.common\.AclException: No accessKey is configured/);
});
