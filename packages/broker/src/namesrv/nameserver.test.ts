import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { createRequest, encodeFrame, parseLenientJson, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { maskedCrc32 } from '../crc.js';
import { encodeRegisterBrokerBody } from '../register-body.js';
import { RawConn, sleep } from '../test-support.js';
import { startNameServer, topicNotExistRemark } from './nameserver.js';
import { capture } from '../../../../test/vectors.js';

const vector = capture;
const hex = (h: string) => Buffer.from(h, 'hex');
const text = (b?: Uint8Array) => new TextDecoder().decode(b);

function register(brokerName: string, brokerAddr: string, topics: string[], opts: { oneway?: boolean; crc?: number } = {}): RemotingCommand {
  const body = encodeRegisterBrokerBody(
    topics.map((t) => ({ topicName: t, readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG' as const, topicSysFlag: 0, order: false })),
    { counter: 1, timestamp: 1 },
  );
  return createRequest(
    103,
    { brokerId: '0', bodyCrc32: String(opts.crc ?? maskedCrc32(body)), clusterName: 'DefaultCluster', brokerAddr, haServerAddr: '', compressed: 'false', brokerName },
    { body, oneway: opts.oneway },
  );
}

describe('name server', () => {
  it('replays captured 4.9.8 frames and answers byte for byte', async (t) => {
    const ns = await startNameServer();
    t.after(() => ns.close());
    const c = await RawConn.connect(ns.addr);
    t.after(() => c.close());
    const exchange = async (rel: string) => {
      const v = vector(rel);
      c.writeRaw(hex(v.request.frameHex));
      if (!v.response) return undefined;
      const got = await c.waitFor((f) => f.opaque === v.request.opaque && (f.flag & 1) === 1);
      assert.equal(Buffer.from(encodeFrame(got)).toString('hex'), v.response.frameHex, rel);
      return got;
    };
    await exchange('00-startup/0001-namesrv-REGISTER_BROKER-103-SUCCESS.json');
    await exchange('01-producer-json/0002-namesrv-GET_ROUTEINFO_BY_TOPIC-105-SUCCESS.json'); // TBW102
    await exchange('01-producer-json/0003-namesrv-GET_ROUTEINFO_BY_TOPIC-105-TOPIC_NOT_EXIST.json');
    await exchange('04-producer-rocketmq/0104-namesrv-GET_ROUTEINFO_BY_TOPIC-105-TOPIC_NOT_EXIST-ROCKETMQ.json');
    await exchange('03-consumer-json/0055-namesrv-REGISTER_BROKER-103-SUCCESS.json'); // now with TopicTest
    await exchange('02-extra-json/0024-namesrv-GET_ROUTEINFO_BY_TOPIC-105-SUCCESS.json');
    await exchange('04-producer-rocketmq/0089-namesrv-GET_ROUTEINFO_BY_TOPIC-105-SUCCESS-ROCKETMQ.json');
    await exchange('99-shutdown/0168-namesrv-REGISTER_BROKER-103-ONEWAY.json');
    await exchange('99-shutdown/0169-namesrv-UNREGISTER_BROKER-104-SUCCESS.json');
    const gone = await c.call(createRequest(105, { topic: 'TopicTest' }));
    assert.equal(gone.code, 17);
  });

  it('quotes broker ids for version >= 401 or acceptStandardJsonOnly, not for older clients', async (t) => {
    const ns = await startNameServer();
    t.after(() => ns.close());
    const c = await RawConn.connect(ns.addr);
    t.after(() => c.close());
    assert.equal((await c.call(register('broker-a', '127.0.0.1:10911', ['T']))).code, 0);
    const std = await c.call(createRequest(105, { topic: 'T' }, { version: 401 }));
    assert.equal(
      text(std.body),
      '{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}',
    );
    const old = await c.call(createRequest(105, { topic: 'T' }, { version: 399 }));
    assert.match(text(old.body), /"brokerAddrs":\{0:"127\.0\.0\.1:10911"\}/);
    assert.equal(text(old.body).length, text(std.body).length - 2);
    const forced = await c.call(createRequest(105, { topic: 'T', acceptStandardJsonOnly: 'true' }, { version: 0 }));
    assert.equal(text(forced.body), text(std.body));
    const bin = await c.call(createRequest(105, { topic: 'T' }, { serializeType: 'ROCKETMQ' }));
    assert.equal(bin.serializeType, 'ROCKETMQ');
    assert.equal(text(bin.body), text(std.body));
    const cluster = await c.call(createRequest(106));
    assert.equal(
      text(cluster.body),
      '{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}',
    );
    const list = await c.call(createRequest(206));
    assert.deepEqual(JSON.parse(text(list.body)), { topicList: ['T'] });
  });

  it('answers TOPIC_NOT_EXIST with the exact remark, unknown codes with 3, and rejects a bad body CRC', async (t) => {
    const ns = await startNameServer();
    t.after(() => ns.close());
    const c = await RawConn.connect(ns.addr);
    t.after(() => c.close());
    const r = await c.call(createRequest(105, { topic: 'Nope' }));
    assert.equal(r.code, 17);
    assert.equal(r.remark, 'No topic route info in name server for the topic: Nope\nSee http://rocketmq.apache.org/docs/faq/ for further details.');
    assert.equal(r.remark, topicNotExistRemark('Nope'));
    assert.equal(r.extFields, undefined);
    const u = await c.call(createRequest(9999));
    assert.equal(u.code, 3);
    assert.equal(u.remark, ' request type 9999 not supported');
    const bad = await c.call(register('broker-x', '127.0.0.1:1', ['X'], { crc: 12345 }));
    assert.equal(bad.code, 1);
    assert.equal((await c.call(createRequest(105, { topic: 'X' }))).code, 17);
  });

  it('merges several brokers, accepts oneway and compressed registrations, unregisters', async (t) => {
    const ns = await startNameServer();
    t.after(() => ns.close());
    const a = await RawConn.connect(ns.addr);
    t.after(() => a.close());
    const b = await RawConn.connect(ns.addr);
    t.after(() => b.close());
    await a.call(register('broker-b', '127.0.0.1:2', ['T', 'OnlyB']));
    a.send(register('broker-a', '127.0.0.1:1', ['T'], { oneway: true }));
    // compressed form: int len + DataVersion JSON, int count, (int len + "name r w perm filter")*, int len + filter list
    const parts: Buffer[] = [];
    const int = (n: number) => { const x = Buffer.alloc(4); x.writeInt32BE(n); return x; };
    const dv = Buffer.from('{"counter":1,"timestamp":1}');
    const tc = Buffer.from('T 2 2 6 SINGLE_TAG');
    parts.push(int(dv.length), dv, int(1), int(tc.length), tc, int(2), Buffer.from('[]'));
    const body = deflateSync(Buffer.concat(parts));
    const comp = createRequest(103, { brokerId: '0', bodyCrc32: String(maskedCrc32(body)), clusterName: 'C2', brokerAddr: '127.0.0.1:3', compressed: 'true', brokerName: 'broker-c' }, { body });
    assert.equal((await b.call(comp)).code, 0);
    await sleep(50);
    const route = parseLenientJson(text((await a.call(createRequest(105, { topic: 'T' }))).body)) as {
      brokerDatas: { brokerName: string }[];
      queueDatas: { brokerName: string; writeQueueNums: number }[];
    };
    assert.deepEqual(route.queueDatas.map((q) => q.brokerName), ['broker-a', 'broker-b', 'broker-c']);
    assert.deepEqual(route.brokerDatas.map((q) => q.brokerName), ['broker-a', 'broker-b', 'broker-c']);
    assert.equal(route.queueDatas[2]!.writeQueueNums, 2);
    // The registering connection closes: its brokers go (as the Java name server does).
    b.close();
    await sleep(100);
    const after = parseLenientJson(text((await a.call(createRequest(105, { topic: 'T' }))).body)) as { queueDatas: { brokerName: string }[] };
    assert.deepEqual(after.queueDatas.map((q) => q.brokerName), ['broker-a', 'broker-b']);
    const un = await a.call(createRequest(104, { brokerId: '0', clusterName: 'DefaultCluster', brokerAddr: '127.0.0.1:2', brokerName: 'broker-b' }));
    assert.equal(un.code, 0);
    assert.equal((await a.call(createRequest(105, { topic: 'OnlyB' }))).code, 17);
  });

  it('expires brokers that stop registering', async (t) => {
    const ns = await startNameServer({ brokerExpireMs: 200, scanIntervalMs: 50 });
    t.after(() => ns.close());
    const c = await RawConn.connect(ns.addr);
    t.after(() => c.close());
    await c.call(register('broker-a', '127.0.0.1:1', ['T']));
    assert.equal((await c.call(createRequest(105, { topic: 'T' }))).code, 0);
    await sleep(400);
    assert.equal((await c.call(createRequest(105, { topic: 'T' }))).code, 17);
  });
});
