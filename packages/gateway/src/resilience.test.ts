// Failures through the gateway: a broker (another process) stopped mid-stream; the gateway itself
// restarted mid-stream on the same port. No acknowledged message may be lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NAMESRV_TARGET,
  Producer,
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  parseLenientJson,
} from '@rocketmq-edge/core/internal';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { startGateway } from './index.js';
import { sleep, spawnBroker } from './test-support.js';

const TOKEN = 'resilience-token';
const auth = { staticTokens: { [TOKEN]: { sub: 'tester', topics: ['res-*'] } } };
const utf8 = new TextDecoder();

/** Creates the topic on each broker (admin request over direct TCP) and waits for the route. */
async function createTopic(namesrvAddr: string, brokerAddrs: string[], topic: string): Promise<void> {
  const transport = new TcpTransport({ namesrvAddr });
  const client = new RemotingClient(transport);
  try {
    for (const addr of brokerAddrs) {
      const r = await client.invoke(addr, createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
        topic, defaultTopic: 'TBW102', readQueueNums: '4', writeQueueNums: '4', perm: '6',
        topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false',
      }), 3000);
      assert.equal(r.code, ResponseCode.SUCCESS, r.remark);
    }
    for (let i = 0; ; i++) {
      const r = await client.invoke(NAMESRV_TARGET, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 3000);
      const route = r.body ? (parseLenientJson(utf8.decode(r.body)) as { queueDatas?: unknown[] }) : {};
      if ((route.queueDatas?.length ?? 0) >= brokerAddrs.length) return;
      if (i > 100) throw new Error('route never listed every broker');
      await sleep(100);
    }
  } finally {
    await client.close();
    await transport.close();
  }
}

test('failover through the gateway: two brokers, one stopped mid-stream; every send still succeeds', async (t) => {
  const dirA = await mkdtemp(join(tmpdir(), 'rmq-edge-fo-a-'));
  const dirB = await mkdtemp(join(tmpdir(), 'rmq-edge-fo-b-'));
  t.after(async () => { await rm(dirA, { recursive: true, force: true }); await rm(dirB, { recursive: true, force: true }); });
  const a = await spawnBroker(t, { dataDir: dirA, name: 'broker-a' });
  const b = await spawnBroker(t, { dataDir: dirB, name: 'broker-b', namesrv: a.namesrvAddr });
  const topic = 'res-failover';
  await createTopic(a.namesrvAddr, [a.brokerAddr, b.brokerAddr], topic);
  const gw = await startGateway({ namesrvAddr: a.namesrvAddr, auth, logLevel: 'silent' });
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN });
  const producer = new Producer({ transport, producerGroup: 'res-fo' });
  t.after(async () => { await producer.shutdown().catch(() => {}); await transport.close(); await gw.close(); });
  await producer.start();
  const acked: string[] = [];
  const brokersUsed = new Set<string>();
  for (let i = 0; i < 60; i++) {
    if (i === 20) await b.kill(); // mid-stream, no goodbye
    const r = await producer.send({ topic, body: `m-${i}` });
    assert.equal(r.sendStatus, 'SEND_OK');
    brokersUsed.add(r.messageQueue.brokerName);
    acked.push(`m-${i}`);
  }
  assert.deepEqual([...brokersUsed].sort(), ['broker-a', 'broker-b']);
  // bring B back on its data to read everything that was acknowledged
  const b2 = await spawnBroker(t, { dataDir: dirB, name: 'broker-b', namesrv: a.namesrvAddr });
  void b2;
  let stored: string[] = [];
  for (let k = 0; k < 50; k++) {
    stored = (await readAll({ namesrvAddr: a.namesrvAddr, topic }).catch(() => [])).map((m) => utf8.decode(m.body));
    if (stored.length >= acked.length) break;
    await sleep(100);
  }
  assert.deepEqual(stored.sort(), [...acked].sort());
});

test('gateway restart mid-stream on the same port: clients reconnect by themselves; no acknowledged message lost', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-rs-'));
  const emb = await startEmbedded({ dataDir: dir });
  t.after(async () => { await emb.close(); await rm(dir, { recursive: true, force: true }); });
  let gw = await startGateway({ namesrvAddr: emb.namesrvAddr, auth, logLevel: 'silent' });
  const port = gw.port;
  const transport = new WebSocketTransport({ url: gw.url, token: TOKEN, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  const states: string[] = [];
  transport.on('state', (s) => states.push(s.type));
  const producer = new Producer({ transport, producerGroup: 'res-rs' });
  t.after(async () => { await producer.shutdown().catch(() => {}); await transport.close(); await gw.close(); });
  await producer.start();
  const topic = 'res-restart';
  const acked: string[] = [];
  let failed = 0;
  let stop = false;
  const loops = [0, 1, 2, 3].map(async (w) => {
    for (let i = 0; !stop; i++) {
      const body = `w${w}-${i}`;
      try {
        const r = await (w % 2 ? producer.sendAsync({ topic, body }) : producer.send({ topic, body }));
        assert.equal(r.sendStatus, 'SEND_OK');
        acked.push(body);
      } catch {
        failed++;
      }
    }
  });
  await sleep(400);
  const before = acked.length;
  await gw.close();
  gw = await startGateway({ namesrvAddr: emb.namesrvAddr, auth, logLevel: 'silent', port });
  await sleep(800);
  stop = true;
  await Promise.all(loops);
  const afterRestart = acked.length - before;
  assert.ok(before > 10 && afterRestart > 10, `sends before (${before}) and after (${afterRestart}) the restart`);
  assert.ok(states.includes('reconnecting') && states.at(-1) === 'connected', states.join(','));
  const stored = new Set((await readAll({ namesrvAddr: emb.namesrvAddr, topic })).map((m) => utf8.decode(m.body)));
  const lost = acked.filter((m) => !stored.has(m));
  assert.deepEqual(lost, [], `acknowledged but lost (failed sends: ${failed})`);
});
