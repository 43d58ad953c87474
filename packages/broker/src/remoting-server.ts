// A RocketMQ remoting server over node:net: framing, dispatch by request code, replies in the
// request's serialize type, per-connection limits. Shared by the name server and the broker.
import net from 'node:net';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FrameDecoder,
  FLAG_ONEWAY,
  FLAG_RESPONSE,
  ResponseCode,
  createResponse,
  decodeCommand,
  encodeFrame,
  isOneway,
  isResponse,
  writeBatcher,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import type { Logger } from './logger.js';
import { noopLogger } from './logger.js';

/** One accepted TCP connection. */
export interface Connection {
  readonly id: number;
  /** "ip:port" of the peer as seen by this server. */
  readonly remoteAddr: string;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly closed: boolean;
  /** Sends a command (a response or a server-initiated request); dropped when closed. */
  send(cmd: RemotingCommand): void;
  /** Sends a oneway request initiated by the server (opaque allocated here). */
  sendOnewayRequest(cmd: RemotingCommand): void;
  /**
   * Sends a two-way request initiated by the server (Broker2Client.callClient) and resolves with
   * the peer's response; rejects on timeout or when the connection closes first.
   */
  invoke(cmd: RemotingCommand, timeoutMs: number): Promise<RemotingCommand>;
  /** Called once when the connection closes (immediately if already closed). */
  onClose(cb: () => void): void;
  close(): void;
}

/** Returns the response, or undefined for "no reply" (the server never replies to oneway requests). */
export type Processor = (
  request: RemotingCommand,
  conn: Connection,
) => RemotingCommand | undefined | void | Promise<RemotingCommand | undefined | void>;

export interface RemotingServerOptions {
  host?: string;
  port?: number;
  maxFrameSize?: number;
  /** Two-way requests being processed per connection before reading pauses. */
  maxPendingPerConnection?: number;
  /** Bytes queued for writing on a socket before reading pauses (back-pressure). */
  writeHighWaterMark?: number;
  /**
   * What to do with an unknown request code. 'reply': REQUEST_CODE_NOT_SUPPORTED with remark
   * " request type <code> not supported" (two-way requests only).
   */
  unknownCode?: 'reply' | 'silent';
  logger?: Logger;
  name?: string;
}

/**
 * Runs before the processor of every request whose code has one (an RPCHook's doBeforeRequest);
 * a returned string refuses the request: SYSTEM_ERROR with it as remark (oneway: dropped).
 */
export type RequestGuard = (request: RemotingCommand, conn: Connection) => string | undefined;

export class RemotingServer {
  private readonly server: net.Server;
  private readonly processors = new Map<number, Processor>();
  private guard: RequestGuard | undefined;
  private readonly connections = new Set<ConnectionImpl>();
  private nextConnId = 1;
  private opaque = 0;
  readonly maxFrameSize: number;
  readonly maxPending: number;
  readonly highWater: number;
  readonly log: Logger;
  private closing = false;

  constructor(private readonly opts: RemotingServerOptions = {}) {
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxPending = opts.maxPendingPerConnection ?? 1024;
    this.highWater = opts.writeHighWaterMark ?? 8 * 1024 * 1024;
    this.log = opts.logger ?? noopLogger;
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (e) => this.log('error', `${opts.name ?? 'server'}: ${e.message}`));
  }

  register(code: number, processor: Processor): void {
    this.processors.set(code, processor);
  }

  /** Sets the check every request with a processor passes first (ACL). */
  setGuard(guard: RequestGuard): void {
    this.guard = guard;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.opts.port ?? 0, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const a = this.server.address() as net.AddressInfo;
    return { host, port: a.port };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  nextOpaque(): number {
    this.opaque = (this.opaque + 1) | 0;
    return this.opaque;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.close();
    await done;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new ConnectionImpl(this, socket, this.nextConnId++);
    this.connections.add(conn);
    conn.onClose(() => this.connections.delete(conn));
  }

  /** Runs one decoded request; returns a promise when processing is asynchronous. */
  dispatch(conn: ConnectionImpl, cmd: RemotingCommand): void | Promise<void> {
    if (isResponse(cmd)) return conn.responseArrived(cmd); // answers to invoke(); strays are ignored
    const oneway = isOneway(cmd);
    const processor = this.processors.get(cmd.code);
    if (!processor) {
      if (!oneway && this.opts.unknownCode !== 'silent') {
        conn.send(createResponse(cmd, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${cmd.code} not supported`));
      }
      return;
    }
    let result: ReturnType<Processor>;
    try {
      const refused = this.guard?.(cmd, conn);
      if (refused !== undefined) {
        if (!oneway) conn.send(createResponse(cmd, ResponseCode.SYSTEM_ERROR, refused));
        return;
      }
      result = processor(cmd, conn);
    } catch (e) {
      this.failed(conn, cmd, oneway, e);
      return;
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<RemotingCommand | undefined | void>).then(
        (resp) => { if (resp && !oneway) conn.send(resp); },
        (e: unknown) => this.failed(conn, cmd, oneway, e),
      );
    }
    if (result && !oneway) conn.send(result as RemotingCommand);
  }

  private failed(conn: ConnectionImpl, cmd: RemotingCommand, oneway: boolean, e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.log('warn', `${this.opts.name ?? 'server'}: request ${cmd.code} from ${conn.remoteAddr} failed: ${msg}`);
    if (!oneway) conn.send(createResponse(cmd, ResponseCode.SYSTEM_ERROR, msg || 'internal error'));
  }
}

class ConnectionImpl implements Connection {
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly remoteAddr: string;
  private readonly decoder: FrameDecoder;
  private readonly decodeOpts: { maxFrameSize: number };
  /** Replies of a tick leave in few writev calls (see writeBatcher). */
  private readonly beforeWrite: () => void;
  private readonly settled = () => this.requestDone();
  private closeCbs: (() => void)[] = [];
  /** Server-initiated two-way requests awaiting their response, by opaque. */
  private readonly waiting = new Map<number, { settle: (r: RemotingCommand | Error) => void }>();
  private pending = 0;
  private pausedForPending = false;
  private pausedForWrite = false;
  closed = false;

  constructor(private readonly server: RemotingServer, private readonly socket: net.Socket, readonly id: number) {
    this.beforeWrite = writeBatcher(socket, process.nextTick);
    let host = socket.remoteAddress ?? '0.0.0.0';
    if (host.startsWith('::ffff:')) host = host.slice(7);
    this.remoteHost = host;
    this.remotePort = socket.remotePort ?? 0;
    this.remoteAddr = host.includes(':') ? `[${host}]:${this.remotePort}` : `${host}:${this.remotePort}`;
    this.decoder = new FrameDecoder(server.maxFrameSize);
    this.decodeOpts = { maxFrameSize: server.maxFrameSize };
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.pausedForWrite) {
        this.pausedForWrite = false;
        this.maybeResume();
      }
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.server.log('warn', `closing ${this.remoteAddr}: ${(e as Error).message}`);
      this.close();
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      let cmd: RemotingCommand;
      try {
        cmd = decodeCommand(frame, this.decodeOpts);
      } catch (e) {
        // The Java servers close the channel on an undecodable frame, without answering.
        this.server.log('warn', `closing ${this.remoteAddr}: ${(e as Error).message}`);
        this.close();
        return;
      }
      const p = this.server.dispatch(this, cmd);
      if (p) {
        this.pending++;
        if (this.pending >= this.server.maxPending && !this.pausedForPending) {
          this.pausedForPending = true;
          this.socket.pause();
        }
        void p.then(this.settled, this.settled);
      }
    }
    if (this.decoder.error) {
      this.server.log('warn', `closing ${this.remoteAddr}: ${this.decoder.error.message}`);
      this.close();
    }
  }

  private requestDone(): void {
    this.pending--;
    if (this.pausedForPending && this.pending < this.server.maxPending / 2) {
      this.pausedForPending = false;
      this.maybeResume();
    }
  }

  private maybeResume(): void {
    if (!this.closed && !this.pausedForPending && !this.pausedForWrite) this.socket.resume();
  }

  send(cmd: RemotingCommand): void {
    if (this.closed) return;
    let frame: Uint8Array;
    try {
      frame = encodeFrame(cmd, Buffer.allocUnsafe); // length prefix included: one buffer, no copy
    } catch (e) {
      this.server.log('error', `cannot encode reply to ${this.remoteAddr}: ${(e as Error).message}`);
      return;
    }
    this.beforeWrite();
    this.socket.write(frame);
    if (this.socket.writableLength > this.server.highWater && !this.pausedForWrite) {
      // The peer does not read its responses: stop reading its requests until it catches up.
      this.pausedForWrite = true;
      this.socket.pause();
    }
  }

  sendOnewayRequest(cmd: RemotingCommand): void {
    this.send({ ...cmd, opaque: this.server.nextOpaque(), flag: cmd.flag | FLAG_ONEWAY });
  }

  invoke(cmd: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closed) return Promise.reject(new Error(`connection to ${this.remoteAddr} is closed`));
    const opaque = this.server.nextOpaque();
    return new Promise<RemotingCommand>((resolve, reject) => {
      const timer = setTimeout(() => settle(new Error(`wait response on the channel <${this.remoteAddr}> timeout, ${timeoutMs}(ms)`)), timeoutMs);
      const settle = (r: RemotingCommand | Error) => {
        if (!this.waiting.delete(opaque)) return;
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.waiting.set(opaque, { settle });
      this.send({ ...cmd, opaque, flag: cmd.flag & ~(FLAG_ONEWAY | FLAG_RESPONSE) });
    });
  }

  responseArrived(cmd: RemotingCommand): void {
    this.waiting.get(cmd.opaque)?.settle(cmd);
  }

  onClose(cb: () => void): void {
    if (this.closed) cb();
    else this.closeCbs.push(cb);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const w of [...this.waiting.values()]) w.settle(new Error(`connection to ${this.remoteAddr} closed`));
    const cbs = this.closeCbs;
    this.closeCbs = [];
    for (const cb of cbs) {
      try {
        cb();
      } catch {
        /* a close callback must not break the others */
      }
    }
  }
}
