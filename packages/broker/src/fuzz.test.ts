// Random and mutated frames at the broker and name-server ports: the servers stay up and keep
// serving a well-behaved client on another connection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, encodeFrame, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startEmbedded } from './index.js';
import { RawConn, sleep, tempDir } from './test-support.js';

// Deterministic PRNG so a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const sendReq = (i: number, st: 'JSON' | 'ROCKETMQ') =>
  createRequest(
    310,
    { a: 'pg', b: 'FuzzTopic', c: 'TBW102', d: '4', e: String(i % 4), f: '0', g: '1', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'false' },
    { body: new TextEncoder().encode(`fuzz-${i}`), serializeType: st },
  );

const seeds: RemotingCommand[] = [
  sendReq(0, 'JSON'),
  sendReq(1, 'ROCKETMQ'),
  createRequest(320, { b: 'FuzzTopic', e: '0', m: 'true' }, { body: new Uint8Array([0, 0, 0, 30, 0, 0, 0, 0]) }),
  createRequest(11, { consumerGroup: 'g', topic: 'FuzzTopic', queueId: '0', queueOffset: '0', maxMsgNums: '32', sysFlag: '0' }),
  createRequest(34, undefined, { body: new TextEncoder().encode('{"clientID":"x","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"FuzzTopic"}]}]}') }),
  createRequest(36, { offset: '0', group: 'g', delayLevel: '1' }),
  createRequest(41, undefined, { body: new TextEncoder().encode('{"mqSet":[{}]}') }),
  createRequest(105, { topic: 'FuzzTopic' }),
  createRequest(103, { brokerName: 'x', brokerAddr: 'y', clusterName: 'z', compressed: 'true' }, { body: new Uint8Array([1, 2, 3]) }),
];

describe('fuzz', () => {
  it('random and mutated frames never take the servers down', async (t) => {
    const dir = await tempDir(t);
    const e = await startEmbedded({ dataDir: dir });
    t.after(() => e.close());
    const good = await RawConn.connect(e.broker.addr);
    t.after(() => good.close());
    const rand = rng(20240611);
    const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
    const deadline = Date.now() + 6000;
    let rounds = 0;
    while (Date.now() < deadline && rounds < 300) {
      rounds++;
      const target = rand() < 0.8 ? e.broker.addr : e.namesrvAddr;
      const c = await RawConn.connect(target);
      for (let k = 0; k < 5; k++) {
        let bytes: Uint8Array;
        const mode = rand();
        if (mode < 0.2) {
          bytes = new Uint8Array(Math.floor(rand() * 200));
          for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
        } else {
          bytes = Uint8Array.from(encodeFrame({ ...pick(seeds), opaque: k }));
          const flips = 1 + Math.floor(rand() * 6);
          for (let f = 0; f < flips; f++) {
            const i = Math.floor(rand() * bytes.length);
            // Keep the length prefix sane half of the time so the body parsers get exercised.
            if (i < 4 && rand() < 0.5) continue;
            bytes[i] = Math.floor(rand() * 256);
          }
          if (rand() < 0.1) bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
        }
        c.writeRaw(bytes);
      }
      await sleep(2);
      c.close();
      if (rounds % 25 === 0) {
        const r = await good.call(sendReq(rounds, rounds % 50 === 0 ? 'ROCKETMQ' : 'JSON'));
        assert.equal(r.code, 0, `round ${rounds}: ${r.remark}`);
      }
    }
    const ns = await RawConn.connect(e.namesrvAddr);
    t.after(() => ns.close());
    assert.equal((await ns.call(createRequest(105, { topic: 'TBW102' }))).code, 0);
    assert.equal((await good.call(sendReq(9999, 'JSON'))).code, 0);
    assert.ok(rounds > 20);
  });
});
