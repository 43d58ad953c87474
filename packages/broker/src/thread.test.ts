// The embedded servers on their own worker thread (what `rocketmq-edge` runs): reachable over
// TCP like any broker, acknowledged messages survive close + restart, start failures reject with
// the server's reason, and the thread's log lines reach the caller's logger.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createRequest } from '@rocketmq-edge/core/internal';
import { startEmbeddedThread, type LogLevel } from './index.js';
import { readAll } from './testing.js';
import { RawConn, sleep, tempDir } from './test-support.js';

const utf8 = new TextEncoder();
const send = (topic: string, body: string) =>
  createRequest(310, {
    a: 'pg', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0',
    i: `UNIQ_KEY\u0001T-${body}\u0002WAIT\u0001true`, j: '0', k: 'false', m: 'false',
  }, { body: utf8.encode(body) });

describe('embedded broker thread', () => {
  it('serves TCP clients from its own thread; acknowledged messages survive close and restart', async (t) => {
    const dir = await tempDir(t);
    const first = await startEmbeddedThread({ dataDir: dir });
    try {
      const c = await RawConn.connect(first.brokerAddr);
      for (const body of ['one', 'two', 'three']) assert.equal((await c.call(send('ThreadTopic', body))).code, 0);
      c.close();
    } finally {
      await first.close();
    }
    // closed: the ports are free and nothing answers there any more
    await assert.rejects(RawConn.connect(first.brokerAddr));
    const second = await startEmbeddedThread({ dataDir: dir });
    t.after(() => second.close());
    await sleep(50);
    const all = await readAll({ namesrvAddr: second.namesrvAddr, topic: 'ThreadTopic' });
    assert.deepEqual(all.map((m) => new TextDecoder().decode(m.body)), ['one', 'two', 'three']);
  });

  it('a start failure rejects with the server error and leaves no thread behind', async (t) => {
    const dir = await tempDir(t);
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    t.after(() => new Promise((r) => busy.close(r)));
    const port = (busy.address() as net.AddressInfo).port;
    await assert.rejects(startEmbeddedThread({ dataDir: dir, brokerPort: port }), /EADDRINUSE/);
  });

  it("forwards the servers' log lines at or above logLevel", async (t) => {
    const dir = await tempDir(t);
    const lines: [LogLevel, string][] = [];
    const emb = await startEmbeddedThread({ dataDir: dir, logger: (level, msg) => lines.push([level, msg]), logLevel: 'warn' });
    t.after(() => emb.close());
    const c = await RawConn.connect(emb.brokerAddr);
    c.writeRaw(new Uint8Array([0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff])); // a frame whose header length lies
    for (let i = 0; i < 100 && lines.length === 0; i++) await sleep(20);
    assert.ok(lines.some(([level, msg]) => level === 'warn' && msg.includes('closing')), JSON.stringify(lines));
    assert.ok(lines.every(([level]) => level === 'warn' || level === 'error'));
  });
});
