// Two brokers on one name server; broker-a stops in the middle of a stream of SYNC sends.
// Every send must still succeed within its timeout budget, and every acknowledged message must be
// readable afterwards from the broker that acknowledged it.
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { startBroker, startNameServer } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer, type SendResult } from '@rocketmq-edge/core';
import { MessageConst } from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';
import { cleanupStack, createTopic, tempDir } from './test-support.js';

const TOTAL = 300;
const STOP_AT = 100;
const SEND_TIMEOUT = 3000;

it('failover: broker-a stops mid-stream, every send succeeds on broker-b, every ack is stored', async (t) => {
  const defer = cleanupStack(t);
  const dirA = await tempDir(t);
  const dirB = await tempDir(t);
  const namesrv = await startNameServer({ host: '127.0.0.1', port: 0 });
  defer(() => namesrv.close());
  let brokerA = await startBroker({ namesrvAddr: namesrv.addr, dataDir: dirA, brokerName: 'broker-a' });
  defer(() => brokerA.close());
  const brokerB = await startBroker({ namesrvAddr: namesrv.addr, dataDir: dirB, brokerName: 'broker-b' });
  defer(() => brokerB.close());
  const addrA = brokerA.addr;
  const topic = `IT_failover_${process.pid}`;
  await createTopic(namesrv.addr, [brokerA.addr, brokerB.addr], topic);

  const transport = new TcpTransport({ namesrvAddr: namesrv.addr, connectTimeoutMs: 1000 });
  defer(() => transport.close());
  const producer = new Producer({ transport, producerGroup: 'it_failover', sendMsgTimeout: SEND_TIMEOUT, sendLatencyFaultEnable: true });
  await producer.start();
  defer(() => producer.shutdown());

  const results: SendResult[] = [];
  const bodies: string[] = [];
  let stopping: Promise<void> | undefined;
  let slowest = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (i === STOP_AT) stopping = brokerA.close(); // not awaited: sends go on while it goes down
    const body = `failover-${i}`;
    const t0 = Date.now();
    const r = await producer.send({ topic, body, keys: `f${i}` });
    slowest = Math.max(slowest, Date.now() - t0);
    assert.equal(r.sendStatus, 'SEND_OK', `send ${i}`);
    results.push(r);
    bodies.push(body);
  }
  await stopping;
  assert.ok(slowest <= SEND_TIMEOUT + 250, `slowest send took ${slowest} ms (budget ${SEND_TIMEOUT})`);
  const perBroker = results.reduce<Record<string, number>>((m, r) => ((m[r.messageQueue.brokerName] = (m[r.messageQueue.brokerName] ?? 0) + 1), m), {});
  t.diagnostic(`acks per broker ${JSON.stringify(perBroker)}, slowest send ${slowest} ms`);
  const brokers = new Set(results.map((r) => r.messageQueue.brokerName));
  assert.ok(brokers.has('broker-a') && brokers.has('broker-b'), `both brokers used: ${[...brokers]}`);
  assert.ok(
    results.slice(STOP_AT + 5).every((r) => r.messageQueue.brokerName === 'broker-b'),
    'after the stop only broker-b acknowledges',
  );

  // Bring broker-a back on its data dir and port, then read everything through the name server.
  const port = Number(addrA.slice(addrA.lastIndexOf(':') + 1));
  brokerA = await startBroker({ namesrvAddr: namesrv.addr, dataDir: dirA, brokerName: 'broker-a', port });
  const stored = await readAll({ namesrvAddr: namesrv.addr, topic });
  const index = new Map<string, (typeof stored)[number]>();
  for (const m of stored) index.set(`${m.storeHost}|${m.queueId}|${m.queueOffset}`, m);
  results.forEach((r, i) => {
    const m = index.get(`${r.brokerAddr}|${r.messageQueue.queueId}|${r.queueOffset}`);
    assert.ok(m, `ack ${i} (${r.messageQueue.brokerName} q${r.messageQueue.queueId} @${r.queueOffset}) is stored`);
    assert.equal(m.properties[MessageConst.UNIQ_KEY], r.msgId);
    assert.equal(new TextDecoder().decode(m.body), bodies[i]);
  });
});
