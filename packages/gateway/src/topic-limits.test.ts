// Topics are RocketMQ topics before they are matched: at most 127 characters of [%|a-zA-Z0-9_-].
// A 4 MiB "topic" that a pattern like orders-* would match is refused, and the gateway keeps
// nothing of it (the match cache used to keep every topic string it saw).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { NAMESRV_TARGET, RequestCode, ResponseCode, TOPIC_MAX_LENGTH, createRequest } from '@rocketmq-edge/core/internal';
import { goodClient, rawClient, sendV2, spawnGatewayCli, startFakeCluster } from './test-support.js';

const SECRET = 'topic-limits-secret-that-is-long-enough-for-hs256';
const MiB = 1024 * 1024;

test('4 MiB and 128-character topics are refused with a remark, gateway memory stays flat, a good client keeps sending', async (t) => {
  const { namesrv, broker } = await startFakeCluster(t);
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-topics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // the gateway in a process of its own, so that its memory is measured alone
  const { ready } = await spawnGatewayCli(t, ['--namesrv', namesrv.addr, '--jwt-secret', SECRET, '--no-demo', '--data', dir]);
  const token = await new SignJWT({ topics: ['orders-*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
    .setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
  const rss = async () => {
    const text = await (await fetch(new URL('/metrics', ready.url))).text();
    return Number(/^rocketmq_edge_process_resident_memory_bytes (\d+)/m.exec(text)![1]);
  };
  const good = goodClient(t, ready.wsUrl, token, 'orders-eu');
  const attackers = [rawClient(ready.wsUrl, ['rocketmq-edge.v1', `bearer.${token}`]), rawClient(ready.wsUrl, ['rocketmq-edge.v1', `bearer.${token}`])];
  t.after(() => { for (const a of attackers) a.ws.terminate(); });
  for (const a of attackers) assert.equal(await a.opened, true);
  const [a] = attackers as [typeof attackers[0]];

  // the limit itself: 127 characters pass, 128 do not, on sends and route lookups alike
  const longest = 'orders-' + 'x'.repeat(TOPIC_MAX_LENGTH - 'orders-'.length);
  assert.equal((await a.request('broker-a@0', sendV2(longest))).code, ResponseCode.SUCCESS);
  for (const cmd of [sendV2(longest + 'x'), createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: longest + 'x' })]) {
    const r = await a.request(cmd.code === RequestCode.SEND_MESSAGE_V2 ? 'broker-a@0' : NAMESRV_TARGET, cmd);
    // Malformed before any policy looks at it: the schema refuses it and never echoes it back.
    assert.equal(r.code, ResponseCode.MESSAGE_ILLEGAL, r.remark);
    assert.match(r.remark ?? '', /header field "(b|topic)" is not a topic name \(1\.\.127 characters/);
  }
  // charset: a pattern's * must not carry characters RocketMQ does not allow into a topic
  for (const bad of ['orders-a.b', 'orders-a/b', 'orders-é', 'orders- ', 'orders-\u0000']) {
    assert.equal((await a.request('broker-a@0', sendV2(bad))).code, ResponseCode.MESSAGE_ILLEGAL, JSON.stringify(bad));
  }
  const huge = (i: number) => `orders-${i}-` + 'x'.repeat(4 * MiB);
  const first = await a.request('broker-a@0', sendV2(huge(-1)), 20_000);
  assert.equal(first.code, ResponseCode.MESSAGE_ILLEGAL, 'a 4 MiB topic matching orders-* is refused');
  assert.match(first.remark ?? '', /header field "b" is not a topic name/);
  assert.ok((first.remark ?? '').length < 200, 'the remark does not echo the topic');

  // Each refusal churns tens of MB (the frame, its decoded header, the answer): a warm-up lets the
  // heap reach its working size first, so that what follows measures what is kept, not what is churned.
  const flood = (n: number, from: number) => Promise.all(attackers.map(async (c, k) => {
    for (let i = 0; i < n; i++) {
      const r = await c.request('broker-a@0', sendV2(huge(from + k * 1000 + i)), 20_000);
      assert.equal(r.code, ResponseCode.MESSAGE_ILLEGAL);
    }
  }));
  await flood(10, 0);
  const before = await rss();
  await flood(50, 100);
  const after = await rss();
  assert.ok(after - before < 64 * MiB, `gateway RSS grew ${((after - before) / MiB).toFixed(1)} MiB over 100 requests with 4 MiB topics`);
  assert.equal(broker.received.filter((c) => (c.extFields?.b ?? '').length > TOPIC_MAX_LENGTH).length, 0, 'nothing over-long reached the broker');

  const { ok, failures } = await good.stop();
  assert.deepEqual(failures, []);
  assert.ok(ok > 0, `good client sent ${ok}`);
  for (const c of attackers) assert.equal(c.ws.readyState, 1, 'a refusal is an answer, not a disconnect');
});
