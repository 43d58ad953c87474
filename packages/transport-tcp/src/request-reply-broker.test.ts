// Request-reply between Node clients over TcpTransport through the embedded broker's reply path
// (SEND_REPLY_MESSAGE_V2 → PUSH_REPLY_MESSAGE_TO_CLIENT), and namespaces end to end.
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { MQClientError, Producer } from '@rocketmq-edge/core';
import { RequestProducer, createReplyMessage } from '@rocketmq-edge/core/request';
import { TcpTransport } from './index.js';
import { sleep } from './test-support.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('request-reply and namespaces over TcpTransport → embedded broker', () => {
  let dir: string;
  let embedded: Awaited<ReturnType<typeof startEmbedded>>;
  const closers: (() => Promise<void>)[] = [];

  async function producerOf<P extends Producer>(make: (transport: TcpTransport) => P): Promise<P> {
    const transport = new TcpTransport({ namesrvAddr: embedded.namesrv.addr });
    const p = make(transport);
    await p.start();
    closers.push(async () => {
      await p.shutdown();
      await transport.close();
    });
    return p;
  }

  /**
   * A replier: reads the request topic, answers each request once with `re:<body>`
   * (createReplyMessage + a plain Producer). Resolves a stop function that waits for the loop.
   */
  async function replier(topic: string): Promise<() => Promise<void>> {
    const p = await producerOf((transport) => new Producer({ transport, producerGroup: 'it_replier' }));
    const answered = new Set<string>();
    let running = true;
    const loop = (async () => {
      while (running) {
        for (const m of await readAll({ namesrvAddr: embedded.namesrv.addr, topic })) {
          if (answered.has(m.msgId)) continue;
          answered.add(m.msgId);
          await p.send(createReplyMessage(m, `re:${text(m.body)}`));
        }
        await sleep(20);
      }
    })();
    return async () => {
      running = false;
      await loop;
    };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rmq-edge-rr-'));
    embedded = await startEmbedded({ dataDir: dir, host: '127.0.0.1', namesrvPort: 0, brokerPort: 0 });
  });

  after(async () => {
    for (const c of closers.reverse()) await c();
    await embedded?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two requesters each get the replies to their own requests, never the other\'s', async () => {
    const topic = `IT_RR_${process.pid}`;
    const a = await producerOf((transport) => new RequestProducer({ transport, producerGroup: 'it_requester_a' }));
    const b = await producerOf((transport) => new RequestProducer({ transport, producerGroup: 'it_requester_b' }));
    const stop = await replier(topic);
    try {
      const asks = [...Array(6).keys()].map((i) => (i % 2 ? b : a).request({ topic, body: `q${i}` }, { timeout: 10_000 }).then((r) => [i, r] as const));
      for (const [i, reply] of await Promise.all(asks)) {
        assert.equal(text(reply.body), `re:q${i}`);
        assert.equal(reply.properties.REPLY_TO_CLIENT, (i % 2 ? b : a).clientId);
        assert.equal(reply.properties.MSG_TYPE, 'reply');
        assert.ok(reply.properties.ARRIVE_TIME);
      }
      assert.equal(a.pendingRequests + b.pendingRequests, 0);
    } finally {
      await stop();
    }
  });

  it('no replier: the request is stored, and request() fails with 10006 after its timeout', async () => {
    const topic = `IT_RR_NOBODY_${process.pid}`;
    const a = await producerOf((transport) => new RequestProducer({ transport, producerGroup: 'it_requester_c' }));
    const e = await a.request({ topic, body: 'anyone?' }, { timeout: 800 }).catch((x: unknown) => x);
    assert.ok(e instanceof MQClientError);
    assert.equal(e.responseCode, 10006);
    const [stored] = await readAll({ namesrvAddr: embedded.namesrv.addr, topic });
    assert.equal(stored!.properties.REPLY_TO_CLIENT, a.clientId);
    assert.equal(stored!.properties.TTL, '800');
    assert.ok(stored!.properties.CORRELATION_ID);
  });

  it('namespace round trip: stored as <ns>%topic with INSTANCE_ID, results name the topic as given, request-reply works inside it', async () => {
    const topic = `IT_NS_${process.pid}`;
    const p = await producerOf((transport) => new RequestProducer({ transport, producerGroup: 'it_ns', namespace: 'teamA' }));
    const r = await p.send({ topic, body: 'hello' });
    assert.equal(r.messageQueue.topic, topic);
    const [stored] = await readAll({ namesrvAddr: embedded.namesrv.addr, topic: `teamA%${topic}` });
    assert.equal(stored!.msgId, r.msgId);
    assert.equal(stored!.properties.INSTANCE_ID, 'teamA');
    assert.deepEqual(await readAll({ namesrvAddr: embedded.namesrv.addr, topic }), []);

    const rrTopic = `IT_NS_RR_${process.pid}`;
    const stop = await replier(`teamA%${rrTopic}`);
    try {
      const reply = await p.request({ topic: rrTopic, body: 'ping' }, { timeout: 10_000 });
      assert.equal(text(reply.body), 're:ping');
    } finally {
      await stop();
    }
  });
});
