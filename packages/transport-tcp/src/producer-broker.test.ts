// The core Producer over TcpTransport against the embedded name server + broker: what readAll
// returns is exactly what was acknowledged.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer, type SendResult } from '@rocketmq-edge/core';
import { MessageConst, MessageSysFlag, crc32, decompressZlib, type MessageExt } from '@rocketmq-edge/core/internal';
import { TcpTransport } from './index.js';
import { sleep, u8 } from './test-support.js';

const utf8 = new TextEncoder();

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b;
}

/** Polls readAll until `n` messages are there (or the deadline passes); returns what is there. */
async function readAtLeast(namesrvAddr: string, topic: string, n: number, timeoutMs = 5000): Promise<MessageExt[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const msgs = await readAll({ namesrvAddr, topic });
    if (msgs.length >= n || Date.now() > deadline) return msgs;
    await sleep(50);
  }
}

function byUniqKey(msgs: MessageExt[]): Map<string, MessageExt> {
  const m = new Map<string, MessageExt>();
  for (const x of msgs) {
    const k = x.properties[MessageConst.UNIQ_KEY];
    assert.ok(k, 'every stored message carries UNIQ_KEY');
    assert.ok(!m.has(k), `UNIQ_KEY ${k} stored once`);
    m.set(k, x);
  }
  return m;
}

interface Sent {
  body: Uint8Array;
  tags?: string;
  keys?: string;
  props: Record<string, string>;
  result: SendResult;
}

function assertStoredAsAcknowledged(stored: MessageExt[], sent: Sent[], topic: string): void {
  assert.equal(stored.length, sent.length, 'as many stored as acknowledged');
  const map = byUniqKey(stored);
  for (const s of sent) {
    const m = map.get(s.result.msgId);
    assert.ok(m, `message ${s.result.msgId} stored`);
    assert.equal(m.topic, topic);
    assert.equal(m.msgId, s.result.msgId);
    assert.equal(m.queueId, s.result.messageQueue.queueId);
    assert.equal(m.queueOffset, s.result.queueOffset);
    assert.equal(m.offsetMsgId, s.result.offsetMsgId);
    assert.deepEqual(u8(m.body), s.body);
    assert.equal(m.bodyCRC, crc32(m.body) & 0x7fffffff);
    assert.equal(m.properties[MessageConst.TAGS], s.tags);
    assert.equal(m.properties[MessageConst.KEYS], s.keys);
    for (const [k, v] of Object.entries(s.props)) assert.equal(m.properties[k], v, `property ${k}`);
  }
}

describe('Producer over TcpTransport → embedded broker', () => {
  let dir: string;
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  let transport: TcpTransport;
  let producer: Producer;
  let namesrvAddr: string;
  let n = 0;
  const topic = (name: string) => `IT_${name}_${process.pid}_${n++}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rmq-edge-tcp-pb-'));
    embedded = await startEmbedded({ dataDir: dir, host: '127.0.0.1', namesrvPort: 0, brokerPort: 0 });
    namesrvAddr = embedded.namesrv.addr;
    transport = new TcpTransport({ namesrvAddr });
    producer = new Producer({ transport, producerGroup: 'it_tcp_producer' });
    await producer.start();
  });

  after(async () => {
    await producer?.shutdown();
    await transport?.close();
    await embedded?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SYNC sends: body, tags, keys, user properties, UNIQ_KEY = msgId, queue and offset', async () => {
    const t = topic('sync');
    const sent: Sent[] = [];
    for (let i = 0; i < 20; i++) {
      const body = i % 2 ? randomBytes(1 + i * 37) : utf8.encode(`hello ${i} ✓`);
      const keys = i % 3 ? [`k${i}`, `order-${i}`] : `k${i}`;
      const props = { app: 'it', seq: String(i), 'x-unicode': 'é中' };
      const result = await producer.send({ topic: t, body: i % 2 ? body : `hello ${i} ✓`, tags: `Tag${i % 4}`, keys, properties: props });
      assert.equal(result.sendStatus, 'SEND_OK');
      assert.equal(result.messageQueue.topic, t);
      sent.push({ body, tags: `Tag${i % 4}`, keys: typeof keys === 'string' ? keys : keys.join(' '), props, result });
    }
    assertStoredAsAcknowledged(await readAll({ namesrvAddr, topic: t }), sent, t);
  });

  it('ASYNC sends (50 in flight)', async () => {
    const t = topic('async');
    await producer.send({ topic: t, body: 'create' }).then((r) => assert.equal(r.sendStatus, 'SEND_OK'));
    const bodies = Array.from({ length: 50 }, (_, i) => randomBytes(100 + i));
    const results = await Promise.all(bodies.map((body, i) => producer.sendAsync({ topic: t, body, tags: 'A', keys: `a${i}` })));
    const sent: Sent[] = results.map((result, i) => ({ body: bodies[i]!, tags: 'A', keys: `a${i}`, props: {}, result }));
    const stored = (await readAll({ namesrvAddr, topic: t })).filter((m) => m.properties[MessageConst.TAGS] === 'A');
    assertStoredAsAcknowledged(stored, sent, t);
  });

  it('ONEWAY sends arrive', async () => {
    const t = topic('oneway');
    await producer.send({ topic: t, body: 'create' });
    const bodies = Array.from({ length: 10 }, (_, i) => utf8.encode(`oneway-${i}`));
    for (const body of bodies) await producer.sendOneway({ topic: t, body, tags: 'O' });
    const stored = (await readAtLeast(namesrvAddr, t, 11)).filter((m) => m.properties[MessageConst.TAGS] === 'O');
    assert.equal(stored.length, 10);
    assert.deepEqual(
      stored.map((m) => new TextDecoder().decode(m.body)).sort(),
      bodies.map((b) => new TextDecoder().decode(b)).sort(),
    );
  });

  it('batch send: one queue, consecutive offsets, msgId lists each UNIQ_KEY', async () => {
    const t = topic('batch');
    const bodies = Array.from({ length: 10 }, (_, i) => randomBytes(50 + i));
    const result = await producer.sendBatch(bodies.map((body, i) => ({ topic: t, body, tags: 'B', keys: `b${i}`, properties: { i: String(i) } })));
    assert.equal(result.sendStatus, 'SEND_OK');
    const ids = result.msgId.split(',');
    assert.equal(ids.length, 10);
    const stored = await readAll({ namesrvAddr, topic: t });
    assert.equal(stored.length, 10);
    const map = byUniqKey(stored);
    ids.forEach((id, i) => {
      const m = map.get(id);
      assert.ok(m, `batch member ${i} stored`);
      assert.equal(m.queueId, result.messageQueue.queueId);
      assert.equal(m.queueOffset, result.queueOffset + i);
      assert.deepEqual(u8(m.body), bodies[i]);
      assert.equal(m.properties[MessageConst.KEYS], `b${i}`);
      assert.equal(m.properties.i, String(i));
    });
  });

  it('ordered sends (selector by key): each key in one queue, in send order', async () => {
    const t = topic('ordered');
    const keys = ['order-A', 'order-B', 'order-C', 'order-D', 'order-E'];
    const hash = (s: string) => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 0);
    const results: SendResult[] = [];
    for (let seq = 0; seq < 12; seq++) {
      for (const key of keys) {
        results.push(
          await producer.send(
            { topic: t, body: `${key}:${seq}`, keys: key },
            { selector: (mqs, _msg, arg) => mqs[Math.abs(hash(arg as string)) % mqs.length]!, arg: key },
          ),
        );
      }
    }
    const stored = await readAll({ namesrvAddr, topic: t });
    assert.equal(stored.length, keys.length * 12);
    for (const key of keys) {
      const mine = stored.filter((m) => m.properties[MessageConst.KEYS] === key);
      assert.equal(new Set(mine.map((m) => m.queueId)).size, 1, `${key} in one queue`);
      mine.sort((a, b) => a.queueOffset - b.queueOffset);
      assert.deepEqual(mine.map((m) => new TextDecoder().decode(m.body)), Array.from({ length: 12 }, (_, s) => `${key}:${s}`));
    }
    assertStoredAsAcknowledged(
      stored,
      results.map((result, i) => ({
        body: utf8.encode(`${keys[i % keys.length]}:${Math.floor(i / keys.length)}`),
        keys: keys[i % keys.length],
        props: {},
        result,
      })),
      t,
    );
  });

  it('a body of ≥ 4 KiB is stored compressed and inflates to the original', async () => {
    const t = topic('zip');
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}: the quick brown fox\n`).join('');
    const body = utf8.encode(text);
    assert.ok(body.length >= 4096);
    const result = await producer.send({ topic: t, body, tags: 'Z' });
    const [m] = await readAll({ namesrvAddr, topic: t });
    assert.ok(m);
    assert.equal(m.msgId, result.msgId);
    assert.ok(m.sysFlag & MessageSysFlag.COMPRESSED_FLAG, 'COMPRESSED_FLAG set');
    assert.ok(m.body.length < body.length, 'stored smaller than sent');
    assert.deepEqual(u8(await decompressZlib(m.body)), body);
  });

  it('a delayed message (level 1 = 1 s) arrives after its delay', async () => {
    const t = topic('delay');
    await producer.send({ topic: t, body: 'create' });
    const sentAt = Date.now();
    const result = await producer.send({ topic: t, body: 'later', tags: 'D', delayLevel: 1 });
    assert.equal(result.sendStatus, 'SEND_OK');
    const early = (await readAll({ namesrvAddr, topic: t })).filter((m) => m.properties[MessageConst.TAGS] === 'D');
    assert.equal(early.length, 0, 'not visible before its delay');
    let arrived: MessageExt | undefined;
    while (!arrived && Date.now() - sentAt < 6000) {
      await sleep(100);
      arrived = (await readAll({ namesrvAddr, topic: t })).find((m) => m.properties[MessageConst.TAGS] === 'D');
    }
    assert.ok(arrived, 'delivered within 6 s');
    assert.ok(Date.now() - sentAt >= 900, 'not before ~1 s');
    assert.equal(arrived.properties[MessageConst.UNIQ_KEY], result.msgId);
    assert.equal(new TextDecoder().decode(arrived.body), 'later');
  });
});
