// A broker in another process: the CLI registers with an in-process name server; kill -9 in the
// middle of SYNC_FLUSH sends loses no acknowledged message.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { RemotingClient, createRequest, decodeOffsetMsgId, decodeStoredMessages } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { maskedCrc32 } from './crc.js';
import { startNameServer } from './index.js';
import { readAll } from './testing.js';
import { RawConn, sleep, tempDir } from './test-support.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Child {
  proc: ChildProcess;
  ready: { brokerAddr: string; namesrvAddr: string | null; brokerName: string };
  exited: Promise<void>;
}

async function spawnCli(t: { after(fn: () => unknown): void }, args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const ready = await new Promise<Child['ready']>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    proc.once('exit', (code) => reject(new Error(`cli exited (${code}): ${err}`)));
  });
  return { proc, ready, exited };
}

const send = (topic: string, body: string, queueId: number) =>
  createRequest(
    310,
    { a: 'pg', b: topic, c: 'TBW102', d: '4', e: String(queueId), f: '0', g: String(Date.now()), h: '0', i: `UNIQ_KEY\u0001${body}\u0002WAIT\u0001true`, j: '0', k: 'false', m: 'false', n: 'broker-b' },
    { body: new TextEncoder().encode(body) },
  );

describe('broker process', () => {
  it('--help prints usage', async (t) => {
    const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, '--help'], { cwd: REPO });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    await new Promise((r) => proc.once('exit', r));
    void t;
    assert.match(out, /--namesrv-port/);
    assert.match(out, /--flush sync\|async/);
  });

  it('a CLI broker registers with an existing name server; kill -9 during SYNC sends keeps every acked message', async (t) => {
    const ns = await startNameServer();
    t.after(() => ns.close());
    const dir = await tempDir(t);
    const args = ['--namesrv', ns.addr, '--broker-port', '0', '--data', dir, '--name', 'broker-b', '--flush', 'sync'];
    let child = await spawnCli(t, args);
    assert.equal(child.ready.brokerName, 'broker-b');
    assert.equal(child.ready.namesrvAddr, ns.addr);
    const nsc = await RawConn.connect(ns.addr);
    t.after(() => nsc.close());
    const route = await nsc.call(createRequest(105, { topic: 'TBW102' }));
    assert.equal(route.code, 0);
    assert.match(new TextDecoder().decode(route.body), new RegExp(`"0":"${child.ready.brokerAddr}"`));

    // Pipelined sends on one connection; SIGKILL while they are in flight.
    const topic = 'CrashTopic';
    const addr = child.ready.brokerAddr;
    const transport = new TcpTransport();
    const client = new RemotingClient(transport);
    t.after(() => client.close().then(() => transport.close()));
    const acked = new Map<string, string>(); // body → offset msg id
    let stop = false;
    const pump = (async () => {
      let i = 0;
      const inflight = new Set<Promise<void>>();
      while (!stop) {
        const body = `crash-${i}`;
        const p = client
          .invoke(addr, send(topic, body, i % 4), 3000)
          .then((r) => {
            if (r.code === 0) acked.set(body, r.extFields!.msgId!);
          })
          .catch(() => {})
          .finally(() => inflight.delete(p));
        inflight.add(p);
        i++;
        if (inflight.size >= 32) await Promise.race(inflight);
      }
      await Promise.allSettled([...inflight]);
    })();
    while (acked.size < 300) await sleep(10);
    child.proc.kill('SIGKILL');
    await child.exited;
    stop = true;
    await pump;
    assert.ok(acked.size >= 300);

    child = await spawnCli(t, args);
    const stored = await readAll({ namesrvAddr: ns.addr, topic });
    const byBody = new Map(stored.map((m) => [new TextDecoder().decode(m.body), m]));
    for (const [body, msgId] of acked) {
      const m = byBody.get(body);
      assert.ok(m, `acknowledged ${body} is stored`);
      assert.equal(m.offsetMsgId, msgId);
      assert.equal(m.bodyCRC, maskedCrc32(m.body));
      assert.equal(decodeOffsetMsgId(msgId).offset, m.commitLogOffset);
    }
    // queue offsets are dense after recovery, and new sends continue after them
    const addr2 = child.ready.brokerAddr;
    const after = await client.invoke(addr2, send(topic, 'after-restart', 0), 3000);
    assert.equal(after.code, 0);
    const q0 = stored.filter((m) => m.queueId === 0).map((m) => m.queueOffset);
    assert.deepEqual(q0, q0.map((_, i) => i));
    assert.equal(Number(after.extFields!.queueOffset), q0.length);
    const view = await client.invoke(addr2, createRequest(33, { offset: String(decodeOffsetMsgId(after.extFields!.msgId!).offset) }), 3000);
    assert.equal(new TextDecoder().decode(decodeStoredMessages(view.body!)[0]!.body), 'after-restart');

    // SIGTERM: graceful close, the broker leaves the route
    child.proc.kill('SIGTERM');
    await child.exited;
    assert.equal(child.proc.exitCode, 0);
    assert.equal((await nsc.call(createRequest(105, { topic }))).code, 17);
  });
});
