// Disk full and back, on a real 2 MiB tmpfs (mounting it needs root, or CAP_SYS_ADMIN): the send
// that hits ENOSPC is refused, later sends are refused at once, the broker's routes lose write
// permission, and once space returns the broker takes sends again with write permission. Every
// acknowledged message reads back, also after a restart, and nothing refused was stored.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createRequest, decodeOffsetMsgId, encodeBatchBody, parseLenientJson, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startBroker, startNameServer, type Broker, type FlushMode, type NameServer } from '../index.js';
import { readAll } from '../testing.js';
import { RawConn, sleep } from '../test-support.js';

const utf8 = new TextEncoder();
const TOPIC = 'DiskFull';

const send = (body: string | Uint8Array, o: { oneway?: boolean } = {}): RemotingCommand =>
  createRequest(310, { a: 'pg', b: TOPIC, c: 'TBW102', d: '4', e: '0', f: '0', g: '1700000000000', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'false', n: 'broker-a' },
    { body: typeof body === 'string' ? utf8.encode(body) : body, oneway: o.oneway });

const batch = (tag: string): RemotingCommand =>
  createRequest(320, { a: 'pg', b: TOPIC, c: 'TBW102', d: '4', e: '0', f: '0', g: '1700000000000', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'true', n: 'broker-a' },
    { body: encodeBatchBody([0, 1].map((i) => ({ topic: TOPIC, body: utf8.encode(`${tag}-${i}`), flag: 0, properties: {} }))) });

async function mountTmpfs(dir: string): Promise<void> {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`this test mounts a 2 MiB tmpfs on ${dir} to fill a real disk, which needs root (or CAP_SYS_ADMIN): ${String((e as { stderr?: unknown }).stderr ?? e)}`);
  }
}

/** Writes a file until the filesystem is full (ENOSPC), down to single pages. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [64 * 1024, 4096, 512, 1]) {
      const buf = new Uint8Array(size).fill(0x5a);
      for (;;) {
        try {
          if (fs.writeSync(fd, buf) < size) break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The perm of this broker's queue data in the route of `topic`. */
async function routePerm(ns: RawConn, topic: string): Promise<number> {
  const r = await ns.call(createRequest(105, { topic }));
  assert.equal(r.code, 0, `route of ${topic}: ${r.remark}`);
  const route = parseLenientJson(new TextDecoder().decode(r.body)) as { queueDatas: { perm: number }[] };
  return route.queueDatas[0]!.perm;
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('disk full', () => {
  for (const flushDiskType of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as FlushMode[]) {
    it(`${flushDiskType}: the ENOSPC send and later ones are refused with 14, routes lose write permission; after freeing space sends succeed and all acknowledged messages read back, also after a restart`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'rmq-edge-diskfull-'));
      await mountTmpfs(dir);
      let ns: NameServer | undefined;
      let broker: Broker | undefined;
      const conns: RawConn[] = [];
      try {
        ns = await startNameServer();
        const warnings: string[] = [];
        const start = () => startBroker({ dataDir: dir, namesrvAddr: ns!.addr, flushDiskType, diskProbeIntervalMs: 50, logger: (l, m) => l !== 'debug' && l !== 'info' && warnings.push(m) });
        broker = await start();
        const c = await RawConn.connect(broker.addr);
        const nsc = await RawConn.connect(ns.addr);
        conns.push(c, nsc);

        const acked: string[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await c.call(send(`before-${i}`));
          assert.equal(r.code, 0, r.remark);
          acked.push(`before-${i}`);
        }
        await until('the topic is routed writable', async () => (await nsc.call(createRequest(105, { topic: TOPIC }))).code === 0);
        assert.equal(await routePerm(nsc, TOPIC), 6);

        fill(path.join(dir, 'filler'));
        // More than the page the commit log's tail may still have room in: this write hits ENOSPC.
        const full = await c.call(send(new Uint8Array(16 * 1024).fill(0x41)));
        assert.equal(full.code, 14, full.remark);
        assert.match(full.remark!, /^service not available now, maybe disk full/);
        assert.match(full.remark!, /ENOSPC/);
        assert.equal(full.extFields?.MSG_REGION, 'DefaultRegion');
        // From now on refused at once, whatever the size; a oneway send and a batch are not stored either.
        const small = await c.call(send('refused-small'));
        assert.equal(small.code, 14);
        c.send(send('refused-oneway', { oneway: true }));
        assert.equal((await c.call(batch('refused-batch'))).code, 14);

        await until('the route shows the broker without write permission', async () => (await routePerm(nsc, TOPIC)) === 4);
        assert.equal(await routePerm(nsc, 'TBW102'), 5, 'TBW102 keeps read + inherit, loses write');

        fs.unlinkSync(path.join(dir, 'filler'));
        await until('the route shows the broker writable again', async () => (await routePerm(nsc, TOPIC)) === 6);
        for (let i = 0; i < 5; i++) {
          const r = await c.call(send(`after-${i}`));
          assert.equal(r.code, 0, r.remark);
          acked.push(`after-${i}`);
        }
        const r = await c.call(batch('after-batch'));
        assert.equal(r.code, 0, r.remark);
        acked.push('after-batch-0', 'after-batch-1');

        const bodies = async () => (await readAll({ namesrvAddr: ns!.addr, topic: TOPIC })).map((m) => new TextDecoder().decode(m.body));
        assert.deepEqual(await bodies(), acked, 'exactly the acknowledged messages, in order');
        assert.ok(warnings.some((w) => /ENOSPC/.test(w)), 'the write error was logged');
        // The runtime info (mqadmin clusterList) counts what was stored; the taken-back append is a failed put.
        const info = await c.call(createRequest(28, undefined));
        const table = (JSON.parse(new TextDecoder().decode(info.body)) as { table: Record<string, string> }).table;
        assert.equal(table.msgPutTotalTodayNow, String(acked.length));
        assert.equal(table.putMessageFailedTimes, '1');

        // A restart recovers the log without cutting anything: no torn record was left behind.
        c.close();
        await broker.close();
        warnings.length = 0;
        broker = await start();
        assert.deepEqual(warnings.filter((w) => /dropping|cut/.test(w)), []);
        await until('the restarted broker is routed', async () => (await routePerm(nsc, TOPIC)) === 6);
        assert.deepEqual(await bodies(), acked);
      } finally {
        for (const c of conns) c.close();
        await broker?.close();
        await ns?.close();
        execFileSync('umount', [dir]);
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('a delayed message due while the disk is full is delivered once space returns, exactly once; send-back is refused with 14 meanwhile', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rmq-edge-diskfull-'));
    await mountTmpfs(dir);
    let ns: NameServer | undefined;
    let broker: Broker | undefined;
    const conns: RawConn[] = [];
    try {
      ns = await startNameServer();
      broker = await startBroker({ dataDir: dir, namesrvAddr: ns.addr, diskProbeIntervalMs: 50, messageDelayLevel: '300ms', scheduleTickMs: 20 });
      const c = await RawConn.connect(broker.addr);
      const nsc = await RawConn.connect(ns.addr);
      conns.push(c, nsc);
      const plain = await c.call(send('plain'));
      assert.equal(plain.code, 0);
      // Big enough that its delivery cannot fit in the slack of the log's last page.
      const body = new Uint8Array(16 * 1024).fill(0x44);
      const delayed = createRequest(310, { ...send('').extFields!, i: 'DELAY\u00011\u0002UNIQ_KEY\u0001DELAYED' }, { body });
      assert.equal((await c.call(delayed)).code, 0);
      fill(path.join(dir, 'filler'));
      // The delivery round at ~300 ms fails and is taken back; the broker stops taking writes.
      await until('the route shows the broker without write permission', async () => (await routePerm(nsc, TOPIC)) === 4);
      const { offset } = decodeOffsetMsgId(plain.extFields!.msgId!);
      const back = await c.call(createRequest(36, { offset: String(offset), group: 'cg', delayLevel: '1', originMsgId: 'x', maxReconsumeTimes: '16' }));
      assert.equal(back.code, 14, back.remark);
      const inTopic = async () => (await readAll({ namesrvAddr: ns!.addr, topic: TOPIC })).filter((m) => m.properties.UNIQ_KEY === 'DELAYED').length;
      assert.equal(await inTopic(), 0);

      fs.unlinkSync(path.join(dir, 'filler'));
      await until('the delayed message is delivered', async () => (await inTopic()) > 0);
      await sleep(200);
      assert.equal(await inTopic(), 1, 'delivered exactly once');
    } finally {
      for (const c of conns) c.close();
      await broker?.close();
      await ns?.close();
      execFileSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
