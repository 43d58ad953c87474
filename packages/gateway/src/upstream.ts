// Pooled upstream TCP connections to name servers and brokers, shared by all clients.
// Each connection keeps upstream opaque → PendingEntry (client session + client opaque).
import { connect as netConnect, type Socket } from 'node:net';
import { peekFrame, tcpFrameWithOpaque, type FramePeek } from './fastframe.js';
import {
  FrameDecoder,
  decodeCommand,
  encodeCommand,
  isResponse,
  writeBatcher,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';

/** What an upstream connection hands answers and failures to (a client session). */
export interface PendingOwner {
  deliver(entry: PendingEntry, response: RemotingCommand): void;
  /** Fast path: the raw response frame and what peekFrame found in it. */
  deliverRaw?(entry: PendingEntry, frame: Uint8Array, peek: FramePeek): void;
  fail(entry: PendingEntry, remark: string): void;
}

export interface PendingEntry {
  owner: PendingOwner;
  clientOpaque: number;
  /** "namesrv" or the broker alias the client used. */
  target: string;
  code: number;
  request: RemotingCommand;
  startedAt: number;
  conn?: UpstreamConnection;
  upstreamOpaque?: number;
  /** Name servers tried so far (failover). */
  tries: number;
}

export interface UpstreamOptions {
  connectTimeoutMs?: number;
  maxFrameSize?: number;
  /** A pending request older than this is failed (the client gave up long before). */
  requestTimeoutMs?: number;
  onConnectionCount?: (n: number) => void;
  /**
   * After a broker connection fails to open, requests for that broker fail at once (so producers
   * retry another broker within their budget) until the next attempt: first after `minMs`,
   * doubling up to `maxMs` while attempts keep failing (default 250 ms .. 5 s).
   */
  brokerBackoff?: { minMs: number; maxMs: number };
  log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

type CloseListener = (conn: UpstreamConnection, reason: string, neverConnected: boolean, pending: PendingEntry[]) => void;

export class UpstreamConnection {
  readonly pending = new Map<number, PendingEntry>();
  connected = false;
  closed = false;
  private nextOpaque = 1;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly ready: Promise<boolean>;
  private readonly beforeWrite: () => void;

  constructor(readonly addr: string, private readonly opts: UpstreamOptions, private readonly onClose: CloseListener) {
    const i = addr.lastIndexOf(':');
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(addr.slice(i + 1));
    this.decoder = new FrameDecoder(opts.maxFrameSize);
    this.socket = netConnect({ host, port, noDelay: true, keepAlive: true });
    this.beforeWrite = writeBatcher(this.socket, process.nextTick);
    const timeoutMs = opts.connectTimeoutMs ?? 3000;
    const timer = setTimeout(() => this.destroy(`connect timeout after ${timeoutMs} ms`), timeoutMs);
    this.ready = new Promise<boolean>((resolve) => {
      this.socket.once('connect', () => {
        clearTimeout(timer);
        this.connected = true;
        resolve(true);
      });
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The reason reaches clients in remarks: name the failure, never the internal address.
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.destroy(e.code ? `${e.syscall ?? 'socket'} ${e.code}` : 'socket error'));
    this.socket.on('close', () => this.destroy('connection closed'));
  }

  whenReady(): Promise<boolean> {
    return this.ready;
  }

  /** Writes a request; for two-way requests registers `entry` under a fresh upstream opaque. */
  write(cmd: RemotingCommand, entry: PendingEntry | undefined, raw?: { frame: Uint8Array; peek: FramePeek }): void {
    if (this.closed) throw new Error('upstream connection closed');
    const opaque = this.nextOpaque;
    this.nextOpaque = this.nextOpaque >= 0x7fffffff ? 1 : this.nextOpaque + 1;
    cmd.opaque = opaque;
    if (entry) {
      entry.conn = this;
      entry.upstreamOpaque = opaque;
      this.pending.set(opaque, entry);
    }
    this.beforeWrite();
    if (raw) {
      this.socket.write(tcpFrameWithOpaque(raw.frame, raw.peek, opaque));
      return;
    }
    const inner = encodeCommand(cmd);
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32BE(inner.length, 0);
    this.socket.write(prefix);
    this.socket.write(inner);
  }

  /** Forgets a pending request (client gone): a late response is discarded. */
  drop(entry: PendingEntry): void {
    if (entry.upstreamOpaque !== undefined && this.pending.get(entry.upstreamOpaque) === entry) this.pending.delete(entry.upstreamOpaque);
  }

  close(): void {
    this.destroy('gateway closing');
  }

  /** Fails requests older than the deadline; returns how many. */
  sweep(olderThan: number): number {
    let n = 0;
    for (const [op, e] of this.pending) {
      if (e.startedAt > olderThan) continue;
      this.pending.delete(op);
      n++;
      e.owner.fail(e, `upstream ${e.target === 'namesrv' ? 'name server' : `broker ${e.target}`} did not answer in time`);
    }
    return n;
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.destroy(`bad frame from upstream: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) {
      const peek = peekFrame(f);
      if (peek && (peek.flag & 1) === 1) {
        const entry = this.pending.get(peek.opaque);
        if (!entry) continue;
        if (entry.owner.deliverRaw && entry.code !== 105) {
          this.pending.delete(peek.opaque);
          entry.owner.deliverRaw(entry, f, peek);
          continue;
        }
      }
      let cmd: RemotingCommand;
      try {
        cmd = decodeCommand(f, this.opts.maxFrameSize !== undefined ? { maxFrameSize: this.opts.maxFrameSize } : {});
      } catch (e) {
        this.destroy(`undecodable frame from upstream: ${(e as Error).message}`);
        return;
      }
      if (!isResponse(cmd)) {
        // Broker-initiated requests (transaction check-back, consumer notifications) are not relayed yet.
        this.opts.log?.debug({ upstream: this.addr, code: cmd.code }, 'ignoring upstream-initiated request');
        continue;
      }
      const entry = this.pending.get(cmd.opaque);
      if (!entry) continue; // late answer for a dropped / timed-out request
      this.pending.delete(cmd.opaque);
      entry.owner.deliver(entry, cmd);
    }
    if (this.decoder.error) this.destroy(`bad frame from upstream: ${this.decoder.error.message}`);
  }

  private destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    const list = [...this.pending.values()];
    this.pending.clear();
    this.onClose(this, reason, !this.connected, list);
  }
}


export class UpstreamPool {
  private readonly brokers = new Map<string, UpstreamConnection>();
  /** Brokers whose last connection attempt failed: no new attempt before `until`. */
  private readonly down = new Map<string, { until: number; delayMs: number; reason: string }>();
  private namesrv: UpstreamConnection | undefined;
  private namesrvIndex = 0;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(readonly namesrvAddrs: string[], private readonly opts: UpstreamOptions = {}) {
    if (namesrvAddrs.length === 0) throw new Error('no name server address configured (namesrvAddr "host:9876;host2:9876")');
    const timeout = opts.requestTimeoutMs ?? 60_000;
    this.sweeper = setInterval(() => {
      const cut = performance.now() - timeout;
      for (const c of this.brokers.values()) c.sweep(cut);
      this.namesrv?.sweep(cut);
    }, Math.min(5000, Math.max(100, timeout / 4)));
    this.sweeper.unref();
  }

  /** Requests awaiting an upstream answer, all connections. */
  get pendingCount(): number {
    let n = this.namesrv?.pending.size ?? 0;
    for (const c of this.brokers.values()) n += c.pending.size;
    return n;
  }

  get connectionCount(): number {
    return this.brokers.size + (this.namesrv ? 1 : 0);
  }

  sendBroker(addr: string, cmd: RemotingCommand, entry: PendingEntry | undefined, raw?: { frame: Uint8Array; peek: FramePeek }): void {
    let c = this.brokers.get(addr);
    if (!c || c.closed) {
      const down = this.down.get(addr);
      if (down && performance.now() < down.until) {
        // One dial per backoff window, not one per request: a dead broker host would otherwise
        // hold every request for a whole connect timeout.
        throw new Error(`${down.reason}; next connection attempt in ${Math.ceil(down.until - performance.now())} ms`);
      }
      c = new UpstreamConnection(addr, this.opts, (conn, reason, neverConnected, pending) => {
        if (this.brokers.get(addr) === conn) this.brokers.delete(addr);
        if (neverConnected && !this.closed) {
          const { minMs, maxMs } = this.opts.brokerBackoff ?? { minMs: 250, maxMs: 5000 };
          const delayMs = Math.min(maxMs, Math.max(minMs, (this.down.get(addr)?.delayMs ?? 0) * 2));
          this.down.set(addr, { until: performance.now() + delayMs, delayMs, reason: `could not connect: ${reason}` });
        }
        this.counted();
        if (pending.length) this.opts.log?.warn({ upstream: addr, reason, failed: pending.length }, 'upstream broker connection lost');
        for (const e of pending) e.owner.fail(e, `upstream broker ${e.target} unavailable (${reason}); retry another broker`);
      });
      this.brokers.set(addr, c);
      this.counted();
      const opened = c;
      void opened.whenReady().then((ok) => { if (ok) this.down.delete(addr); });
    }
    c.write(cmd, entry, raw);
  }

  sendNamesrv(cmd: RemotingCommand, entry: PendingEntry | undefined): void {
    const c = this.namesrvConnection();
    if (entry) entry.tries++;
    c.write(cmd, entry);
  }

  /** Forgets a pending request wherever it is. */
  dropPending(entry: PendingEntry): void {
    entry.conn?.drop(entry);
  }

  /** True when a name server connection is (or can be) established. */
  async namesrvReachable(): Promise<boolean> {
    if (this.closed) return false;
    for (let i = 0; i < this.namesrvAddrs.length; i++) {
      const c = this.namesrvConnection();
      if (await c.whenReady()) return true;
    }
    return false;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const c of this.brokers.values()) c.close();
    this.brokers.clear();
    this.namesrv?.close();
    this.namesrv = undefined;
  }

  private counted(): void {
    this.opts.onConnectionCount?.(this.connectionCount);
  }

  private namesrvConnection(): UpstreamConnection {
    if (this.namesrv && !this.namesrv.closed) return this.namesrv;
    const addr = this.namesrvAddrs[this.namesrvIndex % this.namesrvAddrs.length]!;
    const c = new UpstreamConnection(addr, this.opts, (conn, reason, neverConnected, pending) => {
      if (this.namesrv === conn) this.namesrv = undefined;
      this.namesrvIndex = (this.namesrvIndex + 1) % this.namesrvAddrs.length; // fail over
      this.counted();
      if (!this.closed) this.opts.log?.warn({ upstream: addr, reason }, 'name server connection lost; failing over');
      for (const e of pending) {
        if (!this.closed && neverConnected && e.tries < this.namesrvAddrs.length) {
          try {
            this.sendNamesrv(e.request, e);
            continue;
          } catch { /* fall through */ }
        }
        e.owner.fail(e, `upstream name server unavailable (${reason})`);
      }
    });
    this.namesrv = c;
    this.counted();
    return c;
  }
}
