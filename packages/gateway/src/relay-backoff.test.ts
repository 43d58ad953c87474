// The relay's shared upstream connections against a real broker on a real port.
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRequest, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startBroker } from '@rocketmq-edge/broker';
import { Relay, type RelayEntry, type RelayOwner } from './relay.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Sends one request through the pool; resolves with the response or the failure remark. */
function request(relay: Relay, addr: string): Promise<{ response?: RemotingCommand; failed?: string }> {
  return new Promise((resolve) => {
    const owner: RelayOwner = {
      deliver: (_e, response) => resolve({ response }),
      fail: (_e, failed) => resolve({ failed }),
    };
    const cmd = createRequest(26, {}); // GET_BROKER_RUNTIME_INFO: any request gets an answer
    const now = performance.now();
    const entry: RelayEntry = { owner, clientOpaque: 1, target: 'broker-a@0', code: cmd.code, startedAt: now, deadline: now + 5000 };
    try {
      relay.send(addr, cmd, entry);
    } catch (e) {
      resolve({ failed: (e as Error).message });
    }
  });
}

test('a broker that refuses connections is dialled once per backoff window, not once per request; it is used again once it is back', async (t) => {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let dials = 0;
  let last = 0;
  const pool = new Relay('127.0.0.1:9', {
    connectTimeoutMs: 3000, maxFrameSize: 1 << 24, maxQueuedBytes: 1 << 24,
    brokerBackoff: { minMs: 400, maxMs: 400 },
    onConnectionCount: (n) => { if (n > last) dials++; last = n; },
  });
  t.after(() => pool.close());

  const failures: string[] = [];
  for (let i = 0; i < 5; i++) failures.push((await request(pool, addr)).failed ?? 'answered?');
  assert.equal(dials, 1, 'one connection attempt for five requests');
  assert.match(failures[0]!, /connect ECONNREFUSED/);
  for (const f of failures.slice(1)) assert.match(f, /could not connect: connect ECONNREFUSED; next connection attempt in \d+ ms/);
  for (const f of failures) assert.doesNotMatch(f, new RegExp(String(port)), 'remarks never name the internal address');

  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-upstream-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const broker = await startBroker({ dataDir: dir, port });
  t.after(() => broker.close());
  await new Promise((r) => setTimeout(r, 450));
  const back = await request(pool, addr);
  assert.ok(back.response, `answered once the broker is back (${back.failed})`);
  assert.equal(dials, 2);
  assert.ok((await request(pool, addr)).response, 'and stays in use');
});
