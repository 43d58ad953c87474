// Broker callbacks through the gateway, in real Chromium against the embedded broker over TCP:
// a browser TransactionProducer answers the broker's check-back and commits; request-reply between
// browser requesters / repliers (WebSocket, through the gateway) and Node ones (TCP, direct); two
// browser requesters never get each other's replies; a broker restart between half and commit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBroker, startNameServer, type Broker, type NameServer } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { Producer } from '@rocketmq-edge/core';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import { RequestProducer, createReplyMessage } from '@rocketmq-edge/core/request';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { servePageLibrary } from './page-library.js';
import { CHROMIUM, CHROMIUM_ARGS, GatewayProcess, freePort, hs256, sleep, tempDir, until } from './support.js';

const SECRET = 'e2e-callbacks-secret-of-32-bytes!!';
// Replies go to <cluster>_REPLY_TOPIC: a token that replies names it among its topics.
const TOKEN = hs256(SECRET, { sub: 'e2e', exp: Math.floor(Date.now() / 1000) + 3600, topics: ['e2e-*', 'DefaultCluster_REPLY_TOPIC'], subscribe: ['e2e-*'], consumerGroups: ['e2e-*'] });
interface Params { wsUrl: string; token: string; topic: string }

describe('transactions and request-reply through the gateway', { timeout: 180_000 }, () => {
  let namesrv: NameServer;
  let broker: Broker;
  let brokerPort: number;
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let site: Server;
  let params: Omit<Params, 'topic'>;
  // Half messages are checked back 1 s after they are stored, every second (4.9.8: 6 s, 60 s).
  const startTheBroker = () => startBroker({
    namesrvAddr: namesrv.addr, port: brokerPort, dataDir: data.path, transactionTimeoutMs: 1000, transactionCheckIntervalMs: 1000,
  });

  before(async () => {
    site = await servePageLibrary(
      "export { TransactionProducer, RequestProducer, createReplyMessage } from '@rocketmq-edge/core/transaction';\n" +
          "export { Producer } from '@rocketmq-edge/core';\nexport { LitePullConsumer } from '@rocketmq-edge/core/consumer';\n" +
          "export { WebSocketTransport } from '@rocketmq-edge/transport-ws';",
    );
    data = await tempDir();
    namesrv = await startNameServer({ port: 0 });
    brokerPort = await freePort();
    broker = await startTheBroker();
    [gateway, browser] = await Promise.all([
      GatewayProcess.start({
        port: await freePort(), dataDir: data.path, jwtSecret: SECRET,
        extraArgs: ['--namesrv', namesrv.addr, '--enable-consumer', '--allowed-origins', `http://127.0.0.1:${(site.address() as AddressInfo).port}`],
      }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    params = { wsUrl: gateway.ready.wsUrl, token: TOKEN };
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await broker?.close();
    await namesrv?.close();
    await new Promise((r) => site?.close(r));
    await data?.remove();
  });

  const openPage = async (): Promise<Page> => {
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('[page error]', err));
    // The test runner keeps function names (esbuild keepNames: __name(fn, "…")) in the code handed
    // to page.evaluate, which the page lacks: listeners are functions in object literals.
    await page.addInitScript('window.__name = (f) => f;');
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'rmq' in window);
    return page;
  };
  const stored = async (topic: string) => (await readAll({ namesrvAddr: namesrv.addr, topic })).map((m) => m.properties.UNIQ_KEY);

  /** A Node replier over TCP: answers every request on `topic` with "re: <body>" until stopped. */
  const nodeReplier = async (topic: string) => {
    const transport = new TcpTransport({ namesrvAddr: namesrv.addr });
    const producer = new Producer({ transport, producerGroup: 'e2e-replier-pg' });
    const consumer = new LitePullConsumer({ transport: new TcpTransport({ namesrvAddr: namesrv.addr }), consumerGroup: `e2e-replier-${topic}`, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
    await producer.start();
    await producer.send({ topic, body: 'creates the topic' });
    consumer.subscribe(topic);
    await consumer.start();
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        for (const m of await consumer.poll(200)) {
          if (!m.properties.CORRELATION_ID) continue;
          await producer.send(createReplyMessage(m, `re: ${new TextDecoder().decode(m.body)}`));
        }
      }
    })();
    return async () => { stopped = true; await loop; await consumer.shutdown(); await producer.shutdown(); };
  };

  test('a browser TransactionProducer answers UNKNOW; the broker checks back through the gateway; it commits, and the message is seen exactly once; a rollback never', async () => {
    const page = await openPage();
    const topic = 'e2e-tx';
    const r = await page.evaluate(async ({ wsUrl, token, topic }: Params) => {
      const { TransactionProducer, WebSocketTransport } = (window as any).rmq;
      const w = window as any;
      w.checks = [];
      const producer = new TransactionProducer({
        transport: new WebSocketTransport({ url: wsUrl, token }), producerGroup: 'e2e-tx-pg',
        transactionListener: {
          executeLocalTransaction: (msg: any) => (msg.body === 'roll back' ? 'ROLLBACK_MESSAGE' : 'UNKNOW'),
          checkLocalTransaction: (msg: any) => { w.checks.push(msg.transactionId); return 'COMMIT_MESSAGE'; },
        },
      });
      await producer.start();
      w.producer = producer;
      const unknown = await producer.sendMessageInTransaction({ topic, body: 'decided later' });
      const rolledBack = await producer.sendMessageInTransaction({ topic, body: 'roll back' });
      return { id: unknown.msgId, state: unknown.localTransactionState, rolledBack: rolledBack.msgId };
    }, { ...params, topic });
    assert.equal(r.state, 'UNKNOW');
    await page.waitForFunction((id) => (window as any).checks.includes(id), r.id, { timeout: 30_000 });
    await until(async () => (await stored(topic)).includes(r.id), 20_000, 'the committed message');
    await sleep(2500); // two more check cycles: nothing more appears
    assert.deepEqual(await stored(topic), [r.id]);
    await page.evaluate(() => (window as any).producer.shutdown());
    await page.close();
  });

  test('a Node replier over TCP answers a browser requester, and a browser replier answers a Node requester; two browser requesters never get each other\'s replies', async () => {
    const stop = await nodeReplier('e2e-req');
    const [a, b] = [await openPage(), await openPage()];
    const ask = (p: Page, who: string) => p.evaluate(async ({ wsUrl, token, topic, who }: Params & { who: string }) => {
      const { RequestProducer, WebSocketTransport } = (window as any).rmq;
      const producer = new RequestProducer({ transport: new WebSocketTransport({ url: wsUrl, token }), producerGroup: 'e2e-requester-pg' });
      await producer.start();
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        producer.request({ topic, body: `${who}-${i}` }, { timeout: 15_000 }).then((m: any) => new TextDecoder().decode(m.body))));
      await producer.shutdown();
      return replies as string[];
    }, { ...params, topic: 'e2e-req', who });
    const [fromA, fromB] = await Promise.all([ask(a, 'a'), ask(b, 'b')]);
    assert.deepEqual(fromA, Array.from({ length: 10 }, (_, i) => `re: a-${i}`));
    assert.deepEqual(fromB, Array.from({ length: 10 }, (_, i) => `re: b-${i}`));
    await stop();

    // The reverse: the page replies, a Node requester over TCP asks.
    await a.evaluate(async ({ wsUrl, token, topic }: Params) => {
      const { Producer, LitePullConsumer, WebSocketTransport, createReplyMessage } = (window as any).rmq;
      const w = window as any;
      const producer = new Producer({ transport: new WebSocketTransport({ url: wsUrl, token }), producerGroup: 'e2e-browser-replier' });
      await producer.start();
      await producer.send({ topic, body: 'creates the topic' });
      const consumer = new LitePullConsumer({ transport: new WebSocketTransport({ url: wsUrl, token }), consumerGroup: 'e2e-browser-replier', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
      consumer.subscribe(topic);
      await consumer.start();
      w.replying = true;
      void (async () => {
        while (w.replying) {
          for (const m of await consumer.poll(200)) {
            if (m.properties.CORRELATION_ID) await producer.send(createReplyMessage(m, `browser says: ${new TextDecoder().decode(m.body)}`));
          }
        }
      })();
    }, { ...params, topic: 'e2e-req-browser' });
    const requester = new RequestProducer({ transport: new TcpTransport({ namesrvAddr: namesrv.addr }), producerGroup: 'e2e-node-requester' });
    await requester.start();
    try {
      const reply = await requester.request({ topic: 'e2e-req-browser', body: 'hello' }, { timeout: 15_000 });
      assert.equal(new TextDecoder().decode(reply.body), 'browser says: hello');
    } finally {
      await requester.shutdown();
      await a.evaluate(() => { (window as any).replying = false; });
      await a.close();
      await b.close();
    }
  });

  test('the broker restarts between a half message and its commit: the commit reaches it, the message is seen once', async () => {
    const page = await openPage();
    const topic = 'e2e-tx-restart';
    await page.evaluate(async ({ wsUrl, token, topic }: Params) => {
      const { TransactionProducer, WebSocketTransport } = (window as any).rmq;
      const w = window as any;
      let proceed!: () => void;
      w.proceed = () => proceed();
      const go = new Promise<void>((r) => { proceed = r; });
      w.producer = new TransactionProducer({
        transport: new WebSocketTransport({ url: wsUrl, token }), producerGroup: 'e2e-tx-restart-pg',
        transactionListener: {
          executeLocalTransaction: async () => { w.inLocal = true; await go; return 'COMMIT_MESSAGE'; },
          checkLocalTransaction: () => 'UNKNOW', // only the commit decides
        },
      });
      await w.producer.start();
      w.result = w.producer.sendMessageInTransaction({ topic, body: 'survives a restart' });
    }, { ...params, topic });
    await page.waitForFunction(() => (window as any).inLocal === true, undefined, { timeout: 20_000 });
    await broker.close();
    broker = await startTheBroker();
    const r = await page.evaluate(async () => { const w = window as any; w.proceed(); return (await w.result).msgId as string; });
    await until(async () => (await stored(topic)).includes(r), 20_000, 'the committed message');
    await sleep(2500);
    assert.deepEqual(await stored(topic), [r]);
    await page.evaluate(() => (window as any).producer.shutdown());
    await page.close();
  });
});
