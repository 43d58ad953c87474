import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, createResponse, encodeFrame } from '@rocketmq-edge/core/internal';
import { RemotingServer } from './remoting-server.js';
import { RawConn, sleep } from './test-support.js';

describe('remoting server', () => {
  it('turns processor exceptions into SYSTEM_ERROR and stays up; oneway failures get no reply', async (t) => {
    const s = new RemotingServer({ unknownCode: 'reply' });
    s.register(1, () => {
      throw new Error('boom');
    });
    s.register(2, async () => {
      throw new Error('async boom');
    });
    s.register(3, (req) => createResponse(req, 0, 'ok'));
    const { port } = await s.listen();
    t.after(() => s.close());
    const c = await RawConn.connect(`127.0.0.1:${port}`);
    t.after(() => c.close());
    const a = await c.call(createRequest(1));
    assert.deepEqual([a.code, a.remark], [1, 'boom']);
    const b = await c.call(createRequest(2, undefined, { serializeType: 'ROCKETMQ' }));
    assert.deepEqual([b.code, b.remark, b.serializeType], [1, 'async boom', 'ROCKETMQ']);
    c.send(createRequest(1, undefined, { oneway: true }));
    const ok = await c.call(createRequest(3));
    assert.equal(ok.remark, 'ok');
    await sleep(30);
    assert.equal(c.frames.length, 0);
  });

  it('a peer that does not read its responses is paused, then fully served when it reads again', async (t) => {
    const s = new RemotingServer({ writeHighWaterMark: 64 * 1024, maxPendingPerConnection: 8 });
    const body = new Uint8Array(16 * 1024);
    s.register(5, (req) => createResponse(req, 0, undefined, undefined, body));
    s.register(6, async (req) => {
      await sleep(1);
      return createResponse(req, 0);
    });
    const { port } = await s.listen();
    t.after(() => s.close());
    const c = await RawConn.connect(`127.0.0.1:${port}`);
    t.after(() => c.close());
    c.socket.pause();
    const N = 2000;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < N; i++) frames.push(encodeFrame({ ...createRequest(i % 2 ? 6 : 5), opaque: i + 1 }));
    c.writeRaw(Buffer.concat(frames));
    await sleep(300);
    c.socket.resume();
    for (let i = 1; i <= N; i++) await c.waitFor((f) => f.opaque === i, 10_000);
  });
});
