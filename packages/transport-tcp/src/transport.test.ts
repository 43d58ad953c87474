import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import {
  AbortError,
  ClientErrorCode,
  CodecError,
  MQClientError,
  NAMESRV_TARGET,
  RemotingConnectError,
  RemotingTooMuchRequestError,
  type ConnectionHandlers,
} from '@rocketmq-edge/core/internal';
import { TcpTransport, parseHostPort, parseNamesrvAddr } from './index.js';

// ---------- helpers ----------

interface Peer {
  server: Server;
  port: number;
  addr: string;
  sockets: Socket[];
  next(): Promise<Socket>;
  close(): Promise<void>;
}

async function startPeer(t: TestContext, onSocket?: (s: Socket) => void, host = '127.0.0.1'): Promise<Peer> {
  const sockets: Socket[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket?.(s);
    waiting.shift()?.(s);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const peer: Peer = {
    server,
    port,
    addr: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    sockets,
    next: () => new Promise((r) => (sockets.length > waiting.length ? r(sockets[waiting.length]!) : waiting.push(r))),
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
  t.after(() => peer.close());
  return peer;
}

/** A port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function prefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

class Recorder implements ConnectionHandlers {
  frames: Uint8Array[] = [];
  closes: (Error | undefined)[] = [];
  private frameWaiters: { n: number; r: () => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  onFrame(frame: Uint8Array): void {
    this.frames.push(frame);
    this.frameWaiters = this.frameWaiters.filter((w) => (this.frames.length >= w.n ? (w.r(), false) : true));
  }
  onClose(error?: Error): void {
    this.closes.push(error);
    for (const w of this.closeWaiters.splice(0)) w();
  }
  waitFrames(n: number): Promise<void> {
    return this.frames.length >= n ? Promise.resolve() : new Promise((r) => this.frameWaiters.push({ n, r }));
  }
  waitClose(): Promise<Error | undefined> {
    return this.closes.length ? Promise.resolve(this.closes[0]) : new Promise((r) => this.closeWaiters.push(() => r(this.closes[0])));
  }
}

/** Collects what a peer socket receives. */
function collect(s: Socket): { data: () => Uint8Array; waitBytes: (n: number) => Promise<void> } {
  const chunks: Buffer[] = [];
  let total = 0;
  let waiters: { n: number; r: () => void }[] = [];
  s.on('data', (c: Buffer) => {
    chunks.push(c);
    total += c.length;
    waiters = waiters.filter((w) => (total >= w.n ? (w.r(), false) : true));
  });
  return {
    data: () => new Uint8Array(Buffer.concat(chunks)),
    waitBytes: (n) => (total >= n ? Promise.resolve() : new Promise((r) => waiters.push({ n, r }))),
  };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A loopback listener that never accepts (python: listen(0), no accept()). Once its accept queue
 * is full the kernel drops further SYNs, so a dial hangs: a real connect timeout without leaving 127/8.
 */
async function blackholeAddr(t: TestContext): Promise<string> {
  const code = [
    'import socket,sys,time',
    's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  // python3 is part of the Debian machines this runs on; without it the test fails rather than skips.
  const child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.after(() => child.kill('SIGKILL'));
  child.on('error', () => {});
  const port = await new Promise<number | undefined>((resolve) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', () => resolve(undefined));
  });
  assert.ok(port, 'python3 is needed to emulate a listener that never accepts');
  // Fill the accept queue (backlog 0 still queues one or two connections).
  const fillers: Socket[] = [];
  t.after(() => fillers.forEach((f) => f.destroy()));
  for (let i = 0; i < 4; i++) {
    const f = netConnect(port, '127.0.0.1');
    f.on('error', () => {});
    fillers.push(f);
  }
  await tick(100);
  return `127.0.0.1:${port}`;
}

// ---------- tests ----------

describe('parseHostPort / parseNamesrvAddr', () => {
  it('accepts host:port, [v6]:port and bare v6 with the port after the last colon', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:10911'), { host: '127.0.0.1', port: 10911 });
    assert.deepEqual(parseHostPort('broker-a.local:9876'), { host: 'broker-a.local', port: 9876 });
    assert.deepEqual(parseHostPort('[::1]:9876'), { host: '::1', port: 9876 });
    assert.deepEqual(parseHostPort('::1:9876'), { host: '::1', port: 9876 });
  });
  it('rejects malformed addresses', () => {
    for (const bad of ['', '127.0.0.1', ':9876', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:65536', 'h:p', '[::1]9876', '[nothost]:1', 'a b:1', 'namesrv', 'alias-1']) {
      assert.equal(parseHostPort(bad), undefined, bad);
    }
  });
  it('splits ;-lists and rejects bad entries with MQClientError', () => {
    assert.deepEqual(parseNamesrvAddr(' 127.0.0.1:1; 127.0.0.2:2 ;'), ['127.0.0.1:1', '127.0.0.2:2']);
    assert.deepEqual(parseNamesrvAddr(undefined), []);
    assert.throws(() => new TcpTransport({ namesrvAddr: '127.0.0.1:1;oops' }), MQClientError);
  });
});

describe('TcpTransport framing', () => {
  it('adds the length prefix on send and hands frames without it to onFrame', async (t) => {
    const peer = await startPeer(t);
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const rec = new Recorder();
    const conn = await transport.connect(peer.addr, rec);
    assert.equal(conn.target, peer.addr);
    const s = await peer.next();
    const got = collect(s);
    const f1 = bytes(10, 1);
    const f2 = bytes(100_000, 2); // above the coalescing limit: prefix and frame written separately
    conn.send(f1);
    conn.send(f2);
    await got.waitBytes(4 + 10 + 4 + 100_000);
    const expected = new Uint8Array([...prefixed(f1), ...prefixed(f2)]);
    assert.deepEqual(got.data(), expected);
    // and back: echo what we received
    s.write(got.data());
    await rec.waitFrames(2);
    assert.deepEqual(rec.frames, [f1, f2]);
    assert.equal(Object.getPrototypeOf(rec.frames[0]), Uint8Array.prototype, 'frames are plain Uint8Arrays, not Buffers');
  });

  it('reassembles frames split across chunks, byte by byte, and several frames in one chunk', async (t) => {
    const frames = [bytes(4, 3), bytes(300, 4), bytes(70_000, 5), bytes(8, 6)];
    const stream = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0));
    let p = 0;
    for (const f of frames) {
      stream.set(prefixed(f), p);
      p += 4 + f.length;
    }
    const peer = await startPeer(t, async (s) => {
      // first 3 frames: one byte per write for the first 320 bytes, then the rest in odd-sized chunks
      for (let i = 0; i < 320; i++) {
        s.write(stream.subarray(i, i + 1));
        if (i % 16 === 0) await tick(1);
      }
      for (let i = 320; i < stream.length; i += 4099) {
        s.write(stream.subarray(i, Math.min(stream.length, i + 4099)));
        await tick(0);
      }
      // then all four again in a single write
      s.write(stream);
    });
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const rec = new Recorder();
    await transport.connect(peer.addr, rec);
    await rec.waitFrames(8);
    assert.deepEqual(rec.frames, [...frames, ...frames]);
    assert.equal(rec.closes.length, 0);
  });
});

describe('TcpTransport connect', () => {
  it('connection refused → RemotingConnectError quickly', async (t) => {
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const addr = `127.0.0.1:${await closedPort()}`;
    const t0 = Date.now();
    await assert.rejects(transport.connect(addr, new Recorder()), (e) => e instanceof RemotingConnectError && e.addr === addr && /ECONNREFUSED/.test(e.message));
    assert.ok(Date.now() - t0 < 1000);
  });

  it('rejects targets that are not host:port', async (t) => {
    const transport = new TcpTransport();
    t.after(() => transport.close());
    await assert.rejects(transport.connect('broker-a', new Recorder()), RemotingConnectError);
    await assert.rejects(transport.connect('127.0.0.1:99999', new Recorder()), RemotingConnectError);
  });

  it('connects to [::1]:port over IPv6 loopback', async (t) => {
    const peer = await startPeer(t, undefined, '::1');
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const conn = await transport.connect(peer.addr, new Recorder());
    assert.equal(conn.target, `[::1]:${peer.port}`);
  });

  it('connect timeout → RemotingConnectError after connectTimeoutMs', async (t) => {
    const addr = await blackholeAddr(t);
    const transport = new TcpTransport({ connectTimeoutMs: 300 });
    t.after(() => transport.close());
    const t0 = Date.now();
    await assert.rejects(transport.connect(addr, new Recorder()), (e) => e instanceof RemotingConnectError && /timed out after 300 ms/.test(e.message));
    const took = Date.now() - t0;
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
  });

  it('abort signal: already aborted, and aborted while dialling', async (t) => {
    const transport = new TcpTransport({ connectTimeoutMs: 10_000 });
    t.after(() => transport.close());
    await assert.rejects(transport.connect('127.0.0.1:1', new Recorder(), AbortSignal.abort()), AbortError);
    const addr = await blackholeAddr(t);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    await assert.rejects(transport.connect(addr, new Recorder(), ac.signal), AbortError);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('close() during a dial rejects it', async (t) => {
    const addr = await blackholeAddr(t);
    const transport = new TcpTransport({ connectTimeoutMs: 10_000 });
    const p = transport.connect(addr, new Recorder());
    await tick(50);
    await transport.close();
    await assert.rejects(p, RemotingConnectError);
  });
});

describe('TcpTransport connection lifecycle', () => {
  it('peer reset mid-frame → onClose(RemotingConnectError) exactly once, no partial frame, send then throws', async (t) => {
    const peer = await startPeer(t, (s) => {
      const whole = prefixed(bytes(1000));
      s.write(prefixed(bytes(5)));
      s.write(whole.subarray(0, 500), () => setTimeout(() => s.resetAndDestroy(), 20));
    });
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const rec = new Recorder();
    const conn = await transport.connect(peer.addr, rec);
    const err = await rec.waitClose();
    assert.ok(err instanceof RemotingConnectError, String(err));
    assert.match(err.message, /ECONNRESET|closed/);
    assert.equal(rec.frames.length, 1);
    await tick(20);
    assert.equal(rec.closes.length, 1);
    assert.throws(() => conn.send(bytes(8)), RemotingConnectError);
    assert.equal(transport.connectionCount, 0);
  });

  it('orderly peer close → onClose(RemotingConnectError) once; a new connect() opens a fresh socket', async (t) => {
    let n = 0;
    const peer = await startPeer(t, (s) => {
      if (n++ === 0) s.end();
    });
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const rec = new Recorder();
    await transport.connect(peer.addr, rec);
    assert.ok((await rec.waitClose()) instanceof RemotingConnectError);
    const rec2 = new Recorder();
    const conn2 = await transport.connect(peer.addr, rec2);
    const s2 = await peer.next().then(() => peer.sockets[1]!);
    const got = collect(s2);
    conn2.send(bytes(3));
    await got.waitBytes(7);
    assert.equal(rec2.closes.length, 0);
    assert.equal(rec.closes.length, 1);
  });

  it('oversize inbound frame → onClose(CodecError OVERSIZE) and the socket is closed', async (t) => {
    const peer = await startPeer(t, (s) => {
      s.write(prefixed(bytes(100)), () => setTimeout(() => s.write(prefixed(bytes(2048))), 20));
    });
    const transport = new TcpTransport({ maxFrameSize: 1024 });
    t.after(() => transport.close());
    const rec = new Recorder();
    const conn = await transport.connect(peer.addr, rec);
    const s = await peer.next();
    const peerClosed = once(s, 'close');
    const err = await rec.waitClose();
    assert.ok(err instanceof CodecError && err.reason === 'OVERSIZE', String(err));
    assert.equal(rec.frames.length, 1);
    await peerClosed;
    assert.throws(() => conn.send(bytes(1)), RemotingConnectError);
    assert.equal(rec.closes.length, 1);
  });

  it('bad length prefix (< 4) → onClose(CodecError BAD_LENGTH)', async (t) => {
    const peer = await startPeer(t, (s) => s.write(new Uint8Array([0, 0, 0, 2, 9, 9])));
    const transport = new TcpTransport();
    t.after(() => transport.close());
    const rec = new Recorder();
    await transport.connect(peer.addr, rec);
    const err = await rec.waitClose();
    assert.ok(err instanceof CodecError && err.reason === 'BAD_LENGTH');
  });

  it('oversize outbound frame → send throws CodecError, connection stays open', async (t) => {
    const peer = await startPeer(t);
    const transport = new TcpTransport({ maxFrameSize: 1024 });
    t.after(() => transport.close());
    const rec = new Recorder();
    const conn = await transport.connect(peer.addr, rec);
    assert.throws(() => conn.send(bytes(1025)), (e) => e instanceof CodecError && e.reason === 'OVERSIZE');
    conn.send(bytes(1024));
    assert.equal(rec.closes.length, 0);
  });

  it('close() → onClose() without error, once; transport.close() closes every connection', async (t) => {
    const peer = await startPeer(t);
    const transport = new TcpTransport();
    const a = new Recorder();
    const b = new Recorder();
    const c = new Recorder();
    const ca = await transport.connect(peer.addr, a);
    await transport.connect(peer.addr, b);
    await transport.connect(peer.addr, c);
    const first = await peer.next();
    const firstClosed = once(first, 'close');
    ca.send(bytes(10)); // flushed before FIN
    const got = collect(first);
    ca.close();
    ca.close();
    assert.deepEqual(a.closes, [undefined]);
    await firstClosed;
    await ca.closed;
    assert.equal(got.data().length, 14);
    assert.equal(transport.connectionCount, 2);
    await transport.close();
    assert.deepEqual(b.closes, [undefined]);
    assert.deepEqual(c.closes, [undefined]);
    assert.equal(transport.connectionCount, 0);
    for (const s of peer.sockets) if (!s.destroyed) await once(s, 'close');
  });

  it('write back-pressure: queues while the peer does not read, throws RemotingTooMuchRequestError beyond the cap, delivers everything accepted in order', async (t) => {
    const peer = await startPeer(t, (s) => s.pause());
    const transport = new TcpTransport({ maxQueuedBytes: 1 << 20 });
    t.after(() => transport.close());
    const rec = new Recorder();
    const conn = await transport.connect(peer.addr, rec);
    const s = await peer.next();
    const frame = (i: number) => {
      const f = bytes(32 * 1024, i);
      new DataView(f.buffer).setUint32(0, i);
      return f;
    };
    let accepted = 0;
    let refused: unknown;
    // Kernel buffers absorb a few MB first; keep writing (yielding so the socket can flush) until the cap bites.
    for (let round = 0; round < 2000 && !refused; round++) {
      try {
        conn.send(frame(accepted));
        accepted++;
      } catch (e) {
        refused = e;
      }
      if (round % 32 === 31) await tick(1);
    }
    assert.ok(refused instanceof RemotingTooMuchRequestError, `refused: ${String(refused)} after ${accepted}`);
    assert.ok(conn.bufferedBytes <= 1 << 20, `buffered ${conn.bufferedBytes}`);
    assert.equal(rec.closes.length, 0, 'the connection survives a refusal');
    const total = accepted * (4 + 32 * 1024);
    const got = collect(s);
    s.resume();
    await got.waitBytes(total);
    const data = got.data();
    assert.equal(data.length, total);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < accepted; i++) {
      assert.equal(view.getUint32(i * (4 + 32 * 1024)), 32 * 1024);
      assert.equal(view.getUint32(i * (4 + 32 * 1024) + 4), i, `frame ${i} in order`);
    }
    conn.send(frame(accepted)); // accepted again once drained
  });
});

describe('TcpTransport name servers', () => {
  it('no name server configured → noNameServerError', async () => {
    const transport = new TcpTransport();
    await assert.rejects(
      transport.connect(NAMESRV_TARGET, new Recorder()),
      (e) => e instanceof MQClientError && e.responseCode === ClientErrorCode.NO_NAME_SERVER_EXCEPTION,
    );
  });

  it('fails over from a closed first name server to the second and keeps it', async (t) => {
    const down = `127.0.0.1:${await closedPort()}`;
    const peer = await startPeer(t);
    const transport = new TcpTransport({ namesrvAddr: `${down};${peer.addr}` });
    t.after(() => transport.close());
    assert.equal(transport.currentNamesrv, down);
    const rec = new Recorder();
    const conn = await transport.connect(NAMESRV_TARGET, rec);
    assert.equal(conn.target, NAMESRV_TARGET);
    assert.equal(conn.addr, peer.addr);
    assert.equal(transport.currentNamesrv, peer.addr);
    const s = await peer.next();
    const got = collect(s);
    conn.send(bytes(6));
    await got.waitBytes(10);
    // the chosen one stays chosen across reconnects
    conn.close();
    const again = await transport.connect(NAMESRV_TARGET, new Recorder());
    assert.equal(again.addr, peer.addr);
  });

  it('round-robin: when the chosen one goes away, moves to the next (wrapping around)', async (t) => {
    const a = await startPeer(t);
    const b = await startPeer(t);
    const transport = new TcpTransport({ namesrvAddr: `${a.addr};${b.addr}` });
    t.after(() => transport.close());
    assert.equal((await transport.connect(NAMESRV_TARGET, new Recorder())).addr, a.addr);
    await a.close();
    assert.equal((await transport.connect(NAMESRV_TARGET, new Recorder())).addr, b.addr);
  });

  it('all name servers down → RemotingConnectError naming each', async (t) => {
    const p1 = await closedPort();
    const p2 = await closedPort();
    const transport = new TcpTransport({ namesrvAddr: `127.0.0.1:${p1};127.0.0.1:${p2}` });
    t.after(() => transport.close());
    await assert.rejects(
      transport.connect(NAMESRV_TARGET, new Recorder()),
      (e) => e instanceof RemotingConnectError && e.message.includes(String(p1)) && e.message.includes(String(p2)),
    );
  });
});
