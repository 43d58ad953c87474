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
import { httpFixture } from './http-test-support.js';
import { startGateway } from './index.js';

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

async function wsProducer(t: import('node:test').TestContext, namesrvAddr: string, acl?: typeof account) {
  const gw = await startGateway({
    namesrvAddr,
    auth: { staticTokens: { [TOKEN]: { sub: 'tester', topics: ['acl-*'] } } },
    logLevel: 'silent',
    ...(acl ? { acl } : {}),
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

test('through a gateway holding ACL credentials, WebSocket sends and HTTP publishes reach an ACL broker', async (t) => {
  const emb = await aclBroker(t);
  const producer = await wsProducer(t, emb.namesrvAddr, account);
  for (let i = 0; i < 5; i++) assert.equal((await producer.send({ topic: 'acl-ws', body: `ws-${i}` })).sendStatus, 'SEND_OK');

  const { call } = await httpFixture(t, { acl: account }, emb.namesrvAddr);
  const r = await call('/v1/topics/http-acl/messages', { body: 'over-http' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
});

test('a gateway without credentials is refused by the ACL broker with its remark', async (t) => {
  const emb = await aclBroker(t);
  const producer = await wsProducer(t, emb.namesrvAddr);
  const e = await producer.send({ topic: 'acl-ws', body: 'unsigned' }).then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof Error, 'the send fails');
  assert.match(e.message, /answered code 1: org\.apache\.rocketmq\.acl\.common\.AclException: No accessKey is configured/);
});
