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
import { spawn } from 'node:child_process';
import { startGateway } from './index.js';
import { REPO_ROOT } from './test-support.js';

const TOKEN = 'acl-broker-token';
const BIN = join(REPO_ROOT, 'packages/gateway/bin/rocketmq-edge.mjs');
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
  const child = spawn(process.execPath, [
    BIN, '--port', '0', '--namesrv', emb.namesrvAddr, '--no-demo', '--log-level', 'warn', '--static-token', `${TOKEN}=acl-*`,
    '--acl-access-key', account.accessKey, '--acl-secret-key', account.secretKey,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ready = await new Promise<{ url: string; wsUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready:\n${out}\n${err}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'));
      if (line) { clearTimeout(timer); resolve(JSON.parse(line)); }
    });
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`exited:\n${out}\n${err}`)); });
  });
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
