// RemotingClient: request/response matching over any Transport. Opaques, timeouts, abort and
// connection-loss handling live here once, so every transport gets them for free (1.5).
import { EventEmitter } from 'eventemitter3';
import { AbortError, CodecError, RemotingConnectError, RemotingTimeoutError } from '../errors.js';
import type { Transport, TransportConnection } from '../transport.js';
import { ResponseCode } from './codes.js';
import { DEFAULT_MAX_FRAME_SIZE, decodeCommand, encodeCommand } from './codec.js';
import { FLAG_ONEWAY, FLAG_RESPONSE, createResponse, isOneway, isResponse, type RemotingCommand } from './command.js';

export type ConnectionEvent = { target: string; type: 'connected' } | { target: string; type: 'disconnected'; error?: Error };
export type DebugEvent =
  | { type: 'unknown-opaque'; target: string; opaque: number; code: number }
  | { type: 'malformed-frame'; target: string; error: CodecError }
  | { type: 'request-handler-failed'; target: string; code: number; error: unknown };

export interface RemotingClientEvents {
  connection: [ConnectionEvent];
  debug: [DebugEvent];
}

/** Answers a server-initiated request (broker → client); return nothing for oneway requests. */
export type RequestHandler = (target: string, cmd: RemotingCommand) => RemotingCommand | void | Promise<RemotingCommand | void>;

export interface RemotingClientOptions { maxFrameSize?: number }

interface Pending {
  target: string;
  conn?: Conn;
  resolve(cmd: RemotingCommand): void;
  reject(err: Error): void;
}

interface Conn {
  target: string;
  ready: Promise<TransportConnection>;
  transport?: TransportConnection;
  closed: boolean;
  pending: Set<number>;
}

export class RemotingClient extends EventEmitter<RemotingClientEvents> {
  private readonly conns = new Map<string, Conn>();
  private readonly pending = new Map<number, Pending>();
  private readonly closing = new AbortController();
  private readonly maxFrameSize: number;
  private nextOpaque = 0;
  private handler?: RequestHandler;
  private closed = false;
  /** Responses whose opaque matched no pending request (late replies after a timeout). */
  droppedResponses = 0;

  constructor(private readonly transport: Transport, opts: RemotingClientOptions = {}) {
    super();
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** Requests awaiting a response (for diagnostics and tests). */
  get pendingCount(): number {
    return this.pending.size;
  }

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  /** Sends a two-way request and resolves with its response. The command's opaque is overwritten. */
  invoke(target: string, cmd: RemotingCommand, timeoutMs: number, signal?: AbortSignal): Promise<RemotingCommand> {
    return new Promise<RemotingCommand>((resolve, reject) => {
      if (this.closed) return reject(new RemotingConnectError(target, 'the client is closed'));
      if (signal?.aborted) return reject(new AbortError());
      const opaque = this.allocateOpaque();
      const req: RemotingCommand = { ...cmd, opaque, flag: cmd.flag & ~(FLAG_RESPONSE | FLAG_ONEWAY) };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => settle(new AbortError());
      const settle = (result: RemotingCommand | Error): void => {
        const p = this.pending.get(opaque);
        if (!p) return;
        this.pending.delete(opaque);
        p.conn?.pending.delete(opaque);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      this.pending.set(opaque, { target, resolve: settle, reject: settle });
      timer = setTimeout(() => settle(new RemotingTimeoutError(target, timeoutMs)), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.connection(target).then(
        (conn) => {
          const p = this.pending.get(opaque);
          if (!p) return; // timed out or aborted while connecting
          if (conn.closed) return settle(new RemotingConnectError(target, 'connection closed'));
          p.conn = conn;
          conn.pending.add(opaque);
          try {
            conn.transport!.send(encodeCommand(req));
          } catch (e) {
            settle(asConnectError(target, e));
          }
        },
        (e: unknown) => settle(asConnectError(target, e)),
      );
    });
  }

  /** Sends a oneway request (flag bit 1); resolves once the frame is written. */
  async invokeOneway(target: string, cmd: RemotingCommand, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new RemotingConnectError(target, 'the client is closed');
    if (signal?.aborted) throw new AbortError();
    const req: RemotingCommand = { ...cmd, opaque: this.allocateOpaque(), flag: (cmd.flag & ~FLAG_RESPONSE) | FLAG_ONEWAY };
    let conn: Conn;
    try {
      conn = await this.connection(target);
    } catch (e) {
      throw asConnectError(target, e);
    }
    if (signal?.aborted) throw new AbortError();
    if (conn.closed) throw new RemotingConnectError(target, 'connection closed');
    try {
      conn.transport!.send(encodeCommand(req));
    } catch (e) {
      throw asConnectError(target, e);
    }
  }

  /** Fails every pending request, closes every connection. Leaves no timer behind. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const conn of [...this.conns.values()]) this.dropConnection(conn, new RemotingConnectError(conn.target, 'the client is closed'), true);
    for (const p of [...this.pending.values()]) p.reject(new RemotingConnectError(p.target, 'the client is closed'));
  }

  private allocateOpaque(): number {
    // Unique per client; wraps within int32 and skips opaques still in use.
    let o = this.nextOpaque;
    while (this.pending.has(o)) o = (o + 1) | 0;
    this.nextOpaque = (o + 1) | 0;
    return o;
  }

  /** The open (or opening) connection to a target; a closed one is replaced on next use. */
  private connection(target: string): Promise<Conn> {
    let conn = this.conns.get(target);
    if (!conn || conn.closed) {
      const c: Conn = { target, closed: false, pending: new Set(), ready: undefined! };
      c.ready = this.transport.connect(
        target,
        { onFrame: (f) => this.onFrame(c, f), onClose: (err) => this.dropConnection(c, err) },
        this.closing.signal,
      );
      c.ready.then(
        (t) => {
          c.transport = t;
          if (c.closed || this.closed) t.close();
          else this.emit('connection', { target, type: 'connected' });
        },
        (err: unknown) => {
          if (this.conns.get(target) === c) this.conns.delete(target);
          c.closed = true;
          this.emit('connection', { target, type: 'disconnected', error: asConnectError(target, err) });
        },
      );
      this.conns.set(target, c);
      conn = c;
    }
    const c = conn;
    return c.ready.then(() => c);
  }

  private dropConnection(conn: Conn, error?: Error, closeTransport = false): void {
    if (conn.closed) return;
    conn.closed = true;
    if (this.conns.get(conn.target) === conn) this.conns.delete(conn.target);
    if (closeTransport || error instanceof CodecError) {
      try {
        conn.transport?.close();
      } catch {
        // already gone
      }
    }
    const reason = asConnectError(conn.target, error ?? new Error('connection closed'));
    for (const opaque of [...conn.pending]) this.pending.get(opaque)?.reject(reason);
    conn.pending.clear();
    if (conn.transport) this.emit('connection', { target: conn.target, type: 'disconnected', ...(error ? { error } : {}) });
  }

  private onFrame(conn: Conn, frame: Uint8Array): void {
    if (conn.closed) return;
    let cmd: RemotingCommand;
    try {
      cmd = decodeCommand(frame, { maxFrameSize: this.maxFrameSize });
    } catch (e) {
      // A peer that sends garbage cannot be trusted with the rest of the stream.
      const err = e instanceof CodecError ? e : new CodecError('BAD_HEADER', String(e), { cause: e });
      this.emit('debug', { type: 'malformed-frame', target: conn.target, error: err });
      this.dropConnection(conn, err, true);
      return;
    }
    if (isResponse(cmd)) {
      const p = this.pending.get(cmd.opaque);
      if (p && p.conn === conn) p.resolve(cmd);
      else {
        this.droppedResponses++;
        this.emit('debug', { type: 'unknown-opaque', target: conn.target, opaque: cmd.opaque, code: cmd.code });
      }
      return;
    }
    void this.answer(conn, cmd);
  }

  private async answer(conn: Conn, req: RemotingCommand): Promise<void> {
    let res: RemotingCommand | void;
    if (!this.handler) {
      res = createResponse(req, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${req.code} not supported`);
    } else {
      try {
        res = await this.handler(conn.target, req);
      } catch (e) {
        this.emit('debug', { type: 'request-handler-failed', target: conn.target, code: req.code, error: e });
        res = createResponse(req, ResponseCode.SYSTEM_ERROR, String(e));
      }
    }
    if (!res || isOneway(req) || conn.closed) return;
    try {
      conn.transport?.send(encodeCommand({ ...res, opaque: req.opaque, flag: res.flag | FLAG_RESPONSE }));
    } catch {
      // connection went away; the peer will time out as it would with Java
    }
  }
}

function asConnectError(target: string, e: unknown): Error {
  if (e instanceof AbortError || e instanceof RemotingConnectError || e instanceof RemotingTimeoutError) return e;
  if (e instanceof Error && e.name === 'AbortError') return new AbortError(e.message, { cause: e });
  const detail = e instanceof Error ? e.message : String(e);
  return new RemotingConnectError(target, detail, { cause: e });
}
