// Interoperability with an independent RocketMQ client: ali-ons (npm) produces to and consumes
// from the embedded broker, side by side with our Producer over TcpTransport.
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer } from '@rocketmq-edge/core';
import { MessageConst } from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';
import { cleanupStack, getRoute, queryConsumerOffset, sleep, tempDir, withClient } from './test-support.js';

const require = createRequire(import.meta.url);
const ons: any = require('ali-ons');
const httpclient: unknown = require('urllib');

interface Seen { body: string; tags: string | undefined; keys: string; msgId: string; topic: string }

it('ali-ons produces to and consumes from the embedded broker, together with our Producer', async (t) => {
  const defer = cleanupStack(t);
  const dir = await tempDir(t);
  const embedded = await startEmbedded({ dataDir: dir, host: '127.0.0.1', namesrvPort: 0, brokerPort: 0 });
  defer(() => embedded.close());
  const nameSrv = embedded.namesrv.addr;
  const topic = `IT_ons_${process.pid}`;
  let passed = false;
  const logs: string[] = [];
  const log = (level: string) => (...args: unknown[]) => logs.push(`${level} ${args.map(String).join(' ')}`);
  const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug() {} };
  defer(() => {
    if (!passed) console.error(`ali-ons log:\n${logs.join('\n')}`);
  });

  // 1. our Producer (creates the topic with its first send)
  const transport = new TcpTransport({ namesrvAddr: nameSrv });
  defer(() => transport.close());
  const producer = new Producer({ transport, producerGroup: 'it_ons_ours' });
  await producer.start();
  defer(() => producer.shutdown());
  const expected = new Map<string, { body: string; tags: string; keys: string }>();
  for (let i = 0; i < 5; i++) {
    const m = { body: `from rocketmq-edge #${i}`, tags: 'ours', keys: `our-${i}` };
    const r = await producer.send({ topic, body: m.body, tags: m.tags, keys: m.keys });
    expected.set(r.msgId, m);
  }

  // 2. ali-ons Producer. Its clients share one MQClient that stays up while any producer is
  // registered, including a static inner producer (Producer.defaultProducer) that close() leaves:
  // close that one last, or the process never exits.
  defer(async () => {
    const inner = ons.Producer.defaultProducer;
    ons.Producer.defaultProducer = null;
    await inner?.close();
  });
  // ali-ons' background loops `await sleep(interval)` and do not wake up on close(): short
  // intervals let the process exit promptly after the test.
  const base = {
    httpclient,
    nameSrv,
    logger,
    pollNameServerInteval: 1000,
    heartbeatBrokerInterval: 1000,
    persistConsumerOffsetInterval: 1000,
    rebalanceInterval: 1000,
    pullTimeDelayMillsWhenException: 500,
    pullTimeDelayMillsWhenFlowControl: 500,
    // short long-polls, for the same reason
    brokerSuspendMaxTimeMillis: 1000,
    consumerTimeoutMillisWhenSuspend: 2000,
  };
  const onsProducer = new ons.Producer({ ...base, producerGroup: 'it_ons_producer' });
  defer(() => onsProducer.close());
  await onsProducer.ready();
  // Background errors (e.g. the first route lookup of %RETRY%<group>, answered TOPIC_NOT_EXIST
  // before the consumer's heartbeat creates it, as a real broker does) go to the log, not stderr.
  onsProducer.on('error', log('error-event'));
  ons.Producer.defaultProducer?.on('error', log('error-event'));
  for (let i = 0; i < 5; i++) {
    const m = { body: `from ali-ons #${i}`, tags: 'ons', keys: `ons-${i}` };
    const msg = new ons.Message(topic, m.tags, m.body);
    msg.keys = [m.keys];
    const r = await onsProducer.send(msg);
    assert.equal(r.sendStatus, 'SEND_OK', `ali-ons send ${i}: ${JSON.stringify(r)}`);
    expected.set(r.msgId, m);
  }
  const stored = await readAll({ namesrvAddr: nameSrv, topic });
  assert.equal(stored.length, 10);
  for (const s of stored) {
    const e = expected.get(s.msgId);
    assert.ok(e, `stored ${s.msgId} was acknowledged`);
    assert.equal(new TextDecoder().decode(s.body), e.body);
    assert.equal(s.properties[MessageConst.TAGS], e.tags);
    assert.equal(s.properties[MessageConst.KEYS], e.keys);
  }

  // 3. ali-ons Consumer gets all ten
  const seen: Seen[] = [];
  const consumer = new ons.Consumer({
    ...base,
    consumerGroup: 'it_ons_consumer',
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  });
  const errors: unknown[] = [];
  consumer.on('error', (e: unknown) => errors.push(e));
  defer(() => consumer.close());
  type OnsMessageExt = { body: Buffer; tags: string; keys: string; msgId: string; topic: string; properties: Record<string, string> };
  consumer.subscribe(topic, '*', async (msg: OnsMessageExt) => {
    // ali-ons puts the offset id in msgId (unlike Java's MessageClientExt); UNIQ_KEY is the SendResult id.
    const id = msg.properties[MessageConst.UNIQ_KEY] ?? msg.msgId;
    seen.push({ body: msg.body.toString(), tags: msg.tags, keys: msg.keys, msgId: id, topic: msg.topic });
  });
  const deadline = Date.now() + 20_000;
  while (seen.length < 10 && Date.now() < deadline) await sleep(100);
  assert.equal(seen.length, 10, `consumed ${seen.length} of 10; errors: ${errors.map(String).join('; ')}`);
  for (const s of seen) {
    const e = expected.get(s.msgId);
    assert.ok(e, `consumed ${s.msgId} was acknowledged`);
    assert.equal(s.topic, topic);
    assert.equal(s.body, e.body);
    assert.equal(s.tags, e.tags);
    assert.equal(s.keys, e.keys);
  }
  assert.equal(new Set(seen.map((s) => s.msgId)).size, 10, 'each once');
  // A new group's QUERY_CONSUMER_OFFSET on these young queues is answered 0 (4.9.8), not "not found",
  // so ali-ons reports no readOffset failure (one per queue and rebalance before the broker did so).
  const readOffsetFailures = [...logs, ...errors.map(String)].filter((l) => /readOffset failed/.test(l));
  assert.deepEqual(readOffsetFailures, [], 'no readOffset failures');

  // 4. what a real broker does for this consumer: %RETRY%<group> created on its heartbeat and
  // published in the route; offsets committed by the consumer are stored (sum = 10 messages).
  await consumer.close();
  await withClient(nameSrv, async (client) => {
    const retry = await getRoute(client, '%RETRY%it_ons_consumer');
    assert.ok(retry?.queueDatas.length, 'route of %RETRY%it_ons_consumer published after the heartbeat');
    const route = await getRoute(client, topic);
    assert.ok(route);
    let committed = 0;
    const brokerAddr = route.brokerDatas[0]!.brokerAddrs['0']!;
    for (let q = 0; q < route.queueDatas[0]!.readQueueNums; q++) {
      committed += (await queryConsumerOffset(client, brokerAddr, 'it_ons_consumer', topic, q)) ?? 0;
    }
    assert.equal(committed, 10, 'committed consumer offsets cover the ten messages');
  });
  passed = true;
});
