import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbortError, CodecError, RemotingConnectError, RemotingTimeoutError, RemotingTooMuchRequestError } from '../errors.js';
import { MemoryTransport, type MemoryHandler } from '../testing/memory-transport.js';
import { RemotingClient, type DebugEvent } from './client.js';
import { decodeCommand, encodeCommand } from './codec.js';
import { createRequest, createResponse, FLAG_ONEWAY, FLAG_RESPONSE, type RemotingCommand } from './command.js';
import { failOnUnhandledRejections } from '../../../../test/unhandled.js';

failOnUnhandledRejections();

const echo: MemoryHandler = (cmd) => createResponse(cmd, 0, `echo ${cmd.code}`);

async function withClient(handlers: Record<string, MemoryHandler>, fn: (c: RemotingClient, t: MemoryTransport) => Promise<void>): Promise<void> {
  const t = new MemoryTransport(handlers);
  const c = new RemotingClient(t);
  try {
    await fn(c, t);
  } finally {
    await c.close();
    assert.equal(c.pendingCount, 0, 'pending map empty after close');
  }
}

test('matches responses by opaque, unique opaques per client, lazy connect, one connection per target', async () => {
  await withClient({ A: echo, B: echo }, async (c, t) => {
    assert.equal(t.connects, 0);
    const res = await Promise.all([c.invoke('A', createRequest(1), 1000), c.invoke('A', createRequest(2), 1000), c.invoke('B', createRequest(3), 1000)]);
    assert.deepEqual(res.map((r) => r.remark), ['echo 1', 'echo 2', 'echo 3']);
    assert.equal(t.connects, 2);
    const opaques = t.requests.map((r) => r.cmd.opaque);
    assert.equal(new Set(opaques).size, 3);
    assert.ok(t.requests.every((r) => r.cmd.flag === 0));
    assert.equal(c.pendingCount, 0);
  });
});

test('opaque wraps around int32', async () => {
  await withClient({ A: echo }, async (c, t) => {
    (c as unknown as { nextOpaque: number }).nextOpaque = 0x7fffffff;
    await c.invoke('A', createRequest(1), 1000);
    await c.invoke('A', createRequest(1), 1000);
    assert.deepEqual(t.requests.map((r) => r.cmd.opaque), [0x7fffffff, -0x80000000]);
  });
});

test('timeout → RemotingTimeoutError, and the late reply is dropped and counted', async () => {
  let release!: () => void;
  const late = new Promise<void>((r) => (release = r));
  await withClient({ A: async (cmd) => (await late, createResponse(cmd, 0)) }, async (c) => {
    const events: DebugEvent[] = [];
    c.on('debug', (e) => events.push(e));
    await assert.rejects(c.invoke('A', createRequest(1), 20), (e: unknown) => e instanceof RemotingTimeoutError && e.addr === 'A' && e.timeoutMs === 20);
    assert.equal(c.pendingCount, 0);
    release();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.droppedResponses, 1);
    assert.equal(events[0]?.type, 'unknown-opaque');
  });
});

test('response for an unknown opaque is dropped, the connection stays usable', async () => {
  await withClient({ A: echo }, async (c, t) => {
    await c.invoke('A', createRequest(1), 1000);
    t.inject('A', encodeCommand({ ...createRequest(0), flag: FLAG_RESPONSE, opaque: 424242 }));
    assert.equal(c.droppedResponses, 1);
    assert.equal((await c.invoke('A', createRequest(2), 1000)).remark, 'echo 2');
    assert.equal(t.connects, 1);
  });
});

test('connection closed mid-request → every pending request fails at once with RemotingConnectError; reconnect on next use', async () => {
  await withClient({ A: () => 'drop' }, async (c, t) => {
    const started = Date.now();
    const p1 = c.invoke('A', createRequest(1), 10_000);
    const p2 = c.invoke('A', createRequest(2), 10_000);
    await new Promise((r) => setTimeout(r, 5));
    t.drop('A');
    await assert.rejects(p1, RemotingConnectError);
    await assert.rejects(p2, RemotingConnectError);
    assert.ok(Date.now() - started < 1000, 'prompt');
    assert.equal(c.pendingCount, 0);
    t.handle('A', echo);
    assert.equal((await c.invoke('A', createRequest(3), 1000)).remark, 'echo 3');
    assert.equal(t.connects, 2);
  });
});

test('peer answering "close" fails the request promptly', async () => {
  await withClient({ A: () => 'close' }, async (c) => {
    await assert.rejects(c.invoke('A', createRequest(1), 10_000), RemotingConnectError);
  });
});

test('malformed frame closes that connection and fails its pending requests', async () => {
  await withClient({ A: () => 'drop', B: () => 'drop' }, async (c, t) => {
    const events: DebugEvent[] = [];
    c.on('debug', (e) => events.push(e));
    const pa = c.invoke('A', createRequest(1), 10_000);
    const pb = c.invoke('B', createRequest(1), 300);
    await new Promise((r) => setTimeout(r, 5));
    t.inject('A', new Uint8Array([0, 0, 0, 200, 1, 2])); // header length beyond the frame
    await assert.rejects(pa, (e: unknown) => e instanceof RemotingConnectError && e.cause instanceof CodecError);
    assert.equal(t.connections('A').length, 0, 'connection closed');
    assert.equal(events[0]?.type, 'malformed-frame');
    await assert.rejects(pb, RemotingTimeoutError); // other targets unaffected
  });
});

test('connect failure → RemotingConnectError', async () => {
  await withClient({}, async (c) => {
    await assert.rejects(c.invoke('nowhere', createRequest(1), 1000), RemotingConnectError);
    await assert.rejects(c.invokeOneway('nowhere', createRequest(1)), RemotingConnectError);
  });
});

test('AbortSignal → AbortError at once, pending entry removed', async () => {
  await withClient({ A: () => 'drop' }, async (c) => {
    const ac = new AbortController();
    const p = c.invoke('A', createRequest(1), 10_000, ac.signal);
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(p, AbortError);
    assert.equal(c.pendingCount, 0);
    await assert.rejects(c.invoke('A', createRequest(1), 10_000, ac.signal), AbortError);
  });
});

test('oneway: flag bit 1 on the wire, resolves once written', async () => {
  await withClient({ A: echo }, async (c, t) => {
    await c.invokeOneway('A', createRequest(7));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(t.requests[0]!.cmd.flag, FLAG_ONEWAY);
    assert.equal(c.pendingCount, 0);
    assert.equal(c.droppedResponses, 0, 'peer does not answer oneway');
  });
});

test('server-initiated requests: REQUEST_CODE_NOT_SUPPORTED without handler, handler answers, oneway unanswered', async () => {
  await withClient({ A: echo }, async (c, t) => {
    await c.invoke('A', createRequest(1), 1000); // open the connection
    const responses = (): RemotingCommand[] => t.requests.map((r) => r.cmd).filter((x) => x.flag & FLAG_RESPONSE);
    t.inject('A', encodeCommand({ ...createRequest(39), opaque: 77 }));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(responses().length, 1);
    assert.equal(responses()[0]!.code, 3);
    assert.equal(responses()[0]!.opaque, 77);
    t.inject('A', encodeCommand({ ...createRequest(40, undefined, { oneway: true }), opaque: 78 }));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(responses().length, 1, 'no answer to oneway');
    c.onRequest((target, req) => createResponse(req, 0, `handled ${req.code} from ${target}`));
    t.inject('A', encodeCommand({ ...createRequest(326), opaque: 79 }));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(responses()[1]!.remark, 'handled 326 from A');
    c.onRequest(() => {
      throw new Error('boom');
    });
    t.inject('A', encodeCommand({ ...createRequest(326), opaque: 80 }));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(responses()[2]!.code, 1);
  });
});

test('close(): pending requests fail, later calls fail, connection events emitted', async () => {
  const t = new MemoryTransport({ A: () => 'drop' });
  const c = new RemotingClient(t);
  const seen: string[] = [];
  c.on('connection', (e) => seen.push(`${e.type}:${e.target}`));
  const p = c.invoke('A', createRequest(1), 10_000);
  await new Promise((r) => setTimeout(r, 5));
  await c.close();
  await assert.rejects(p, RemotingConnectError);
  await assert.rejects(c.invoke('A', createRequest(1), 10), RemotingConnectError);
  assert.equal(c.pendingCount, 0);
  assert.deepEqual(seen, ['connected:A', 'disconnected:A']);
  assert.equal(t.connections().length, 0);
});

test('a transport refusing a write keeps its error kind (back-pressure is not a connect failure)', async () => {
  const refusing = {
    async connect(target: string) {
      return { target, send() { throw new RemotingTooMuchRequestError(target, 'write queue full'); }, close() {} };
    },
    async close() {},
  };
  const c = new RemotingClient(refusing);
  try {
    await assert.rejects(c.invoke('A', createRequest(1), 1000), (e: unknown) => e instanceof RemotingTooMuchRequestError && /write queue full/.test(e.message));
    await assert.rejects(c.invokeOneway('A', createRequest(2)), RemotingTooMuchRequestError);
    assert.equal(c.pendingCount, 0);
  } finally {
    await c.close();
  }
});

test('invoke tells the transport what is left of its timeout when it writes (after connecting); oneway and responses carry no deadline', async () => {
  const sends: { cmd: RemotingCommand; timeoutMs: number | undefined }[] = [];
  let conn!: { onFrame(f: Uint8Array): void };
  const slowToConnect = {
    async connect(target: string, handlers: { onFrame(f: Uint8Array): void }) {
      await new Promise((r) => setTimeout(r, 200));
      conn = handlers;
      return {
        target,
        send(frame: Uint8Array, _headroom?: number, timeoutMs?: number) {
          const cmd = decodeCommand(frame);
          sends.push({ cmd, timeoutMs });
          if (!(cmd.flag & (FLAG_ONEWAY | FLAG_RESPONSE))) queueMicrotask(() => handlers.onFrame(encodeCommand(createResponse(cmd, 0))));
        },
        close() {},
      };
    },
    async close() {},
  };
  const c = new RemotingClient(slowToConnect);
  try {
    const t0 = Date.now();
    await c.invoke('A', createRequest(1), 1500);
    const spent = Date.now() - t0;
    const first = sends[0]!.timeoutMs!;
    assert.ok(first <= 1500 - 190 && first >= 1500 - spent - 5, `budget ${first} ms after ${spent} ms connecting`);
    await c.invoke('A', createRequest(2), 1500);
    assert.ok(sends[1]!.timeoutMs! > 1490 && sends[1]!.timeoutMs! <= 1500, `connected: budget ${sends[1]!.timeoutMs} ≈ the whole timeout`);
    await c.invokeOneway('A', createRequest(3));
    assert.equal(sends[2]!.timeoutMs, undefined, 'oneway: no deadline');
    conn.onFrame(encodeCommand({ ...createRequest(39), opaque: 77 })); // a broker-initiated request, answered
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(sends[3]!.cmd.flag & FLAG_RESPONSE, FLAG_RESPONSE);
    assert.equal(sends[3]!.timeoutMs, undefined, 'responses: no deadline');
  } finally {
    await c.close();
  }
});
