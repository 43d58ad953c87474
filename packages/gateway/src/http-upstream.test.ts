// What HTTP publishes meet upstream: a broker going down (the gateway's producer retries on
// another; with none left a 502 naming no address), and the gateway's ACL credentials on every
// request its producer sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, startNameServer } from '@rocketmq-edge/broker';
import { RequestCode } from '@rocketmq-edge/core/internal';
import { aclSignature } from './acl.js';
import { httpFixture, text } from './http-test-support.js';
import { startFakeCluster } from './test-support.js';

test('a broker down mid-way: publishes are retried on the other broker; with every broker down, 502 naming no address', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-http-2b-'));
  const namesrv = await startNameServer({});
  const a = await startBroker({ namesrvAddr: namesrv.addr, dataDir: join(dir, 'a'), brokerName: 'broker-a' });
  const b = await startBroker({ namesrvAddr: namesrv.addr, dataDir: join(dir, 'b'), brokerName: 'broker-b' });
  const closed = new Set<unknown>();
  const close = async (x: { close(): Promise<void> }) => { if (!closed.has(x)) { closed.add(x); await x.close(); } };
  t.after(async () => { await close(a); await close(b); await namesrv.close(); await rm(dir, { recursive: true, force: true }); });
  const { call, stored } = await httpFixture(t, {}, namesrv.addr);
  const path = '/v1/topics/http-failover/messages';
  // Until both brokers serve the topic (auto-created on first send to each), publish.
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await call(path, { body: `warm ${i}` })).json.brokerName as string);
  assert.deepEqual([...seen].sort(), ['broker-a@0', 'broker-b@0']);

  await close(a);
  const after = [];
  for (let i = 0; i < 8; i++) {
    const r = await call(path, { headers: { 'Idempotency-Key': `after-${i}` }, body: `after ${i}` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.brokerName, 'broker-b@0');
    after.push(r.json.id);
  }
  const ids = new Set((await stored('http-failover')).map((m) => m.msgId));
  for (const id of after) assert.ok(ids.has(id as string), `${id} stored`);

  await close(b);
  const none = await call(path, { body: 'nowhere to go' });
  assert.equal(none.status, 502, JSON.stringify(none.json));
  assert.equal(none.json.code, 10001);
  assert.match(none.json.remark as string, /^broker unreachable: cannot reach broker-[ab]@0: connect ECONNREFUSED broker-[ab]@0; retry later$/);
  assert.doesNotMatch(JSON.stringify(none.json), /127\.0\.0\.1/);
  for (const brokerAddr of [a.addr, b.addr]) assert.ok(!JSON.stringify(none.json).includes(String(brokerAddr.split(':')[1])));
});

test('with ACL credentials, every request of the gateway\'s producer carries AccessKey and a valid Signature', async (t) => {
  const { namesrv, broker } = await startFakeCluster(t);
  const acl = { accessKey: 'gateway-ak', secretKey: 'gateway-sk-1234567890' };
  const { call } = await httpFixture(t, { acl }, namesrv.addr);
  const r = await call('/v1/topics/http-acl/messages', { body: 'signed' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const route = namesrv.received.find((c) => c.code === RequestCode.GET_ROUTEINFO_BY_TOPIC)!;
  const send = broker.received.find((c) => c.code === RequestCode.SEND_MESSAGE_V2)!;
  assert.equal(text(send.body!), 'signed');
  for (const cmd of [route, send]) {
    const ext = cmd.extFields!;
    assert.equal(ext.AccessKey, 'gateway-ak');
    assert.equal(ext.Signature, aclSignature(ext, cmd.body, acl.secretKey));
  }
});
