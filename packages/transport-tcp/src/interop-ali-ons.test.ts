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
// eslint-disable-next-line @typescript-eslint/no-explicit-any
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

  // 2. ali-ons Producer
  const onsProducer = new ons.Producer({ httpclient, nameSrv, producerGroup: 'it_ons_producer', logger });
  defer(() => onsProducer.close());
  await onsProducer.ready();
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
    httpclient,
    nameSrv,
    consumerGroup: 'it_ons_consumer',
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    rebalanceInterval: 1000,
    logger,
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
