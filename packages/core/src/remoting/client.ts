// RemotingClient: request/response matching over any Transport. Opaques, timeouts, abort and
// connection-loss handling live here once, so every transport gets them for free (1.5).
import { EventEmitter } from '../emitter.js';
import { AbortError, CodecError, RemotingConnectError, RemotingError, RemotingTimeoutError, RocketMQError } from '../errors.js';
import type { Transport, TransportConnection } from '../transport.js';
import { RS_REQUEST_CODE_NOT_SUPPORTED, RS_SYSTEM_ERROR } from './codes.js';
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
  target_: string;
  /** The connection the request was written on (unset while connecting). */
  conn_?: Conn;
  /** Resolves with a response, rejects with an Error; once. */
  settle_(result: RemotingCommand | Error): void;
}

interface Conn {
  target_: string;
  /** Settles once the transport connected (with this Conn) or failed (with a RemotingError). */
  ready_: Promise<Conn>;
  transport_?: TransportConnection;
  closed_: boolean;
}

export class RemotingClient extends EventEmitter<RemotingClientEvents> {
  readonly #conns = new Map<string, Conn>();
  readonly #pending = new Map<number, Pending>();
  readonly #closing = new AbortController();
  readonly #transport: Transport;
  readonly #maxFrameSize: number;
  #handler?: RequestHandler;
  #closed = false;
  /** Next opaque to try (not #private: tests set it to exercise the int32 wrap). */
  nextOpaque = 0;
  /** Responses whose opaque matched no pending request (late replies after a timeout). */
  droppedResponses = 0;

  constructor(transport: Transport, opts: RemotingClientOptions = {}) {
    super();
    this.#transport = transport;
    this.#maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** Requests awaiting a response (for diagnostics and tests). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  onRequest(handler: RequestHandler): void {
    this.#handler = handler;
  }

  /**
   * Sends a two-way request and resolves with its response. The command's opaque is overwritten.
   * The transport is told what is left of `timeoutMs` when the frame is written (after connecting).
   */
  invoke(target: string, cmd: RemotingCommand, timeoutMs: number, signal?: AbortSignal): Promise<RemotingCommand> {
    const deadline = Date.now() + timeoutMs;
    return new Promise<RemotingCommand>((resolve, reject) => {
      this.#check(target, signal);
      const pending = this.#pending;
      const opaque = this.#opaque();
      const onAbort = (): void => settle(new AbortError());
      const settle = (result: RemotingCommand | Error): void => {
        if (pending.delete(opaque)) {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (result instanceof Error) reject(result);
          else resolve(result);
        }
      };
      pending.set(opaque, { target_: target, settle_: settle });
      const timer = setTimeout(() => settle(new RemotingTimeoutError(target, timeoutMs)), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#connection(target).then((conn) => {
        const p = pending.get(opaque);
        if (p) {
          // else timed out or aborted while connecting
          p.conn_ = conn;
          // At least 1 ms: a timer about to fire still means a deadline (0 would read as none).
          this.#write(conn, { ...cmd, opaque, flag: cmd.flag & ~(FLAG_RESPONSE | FLAG_ONEWAY) }, Math.max(1, deadline - Date.now()));
        }
      }).catch(settle);
    });
  }

  /** Sends a oneway request (flag bit 1); resolves once the frame is written. */
  async invokeOneway(target: string, cmd: RemotingCommand, signal?: AbortSignal): Promise<void> {
    this.#check(target, signal);
    const opaque = this.#opaque();
    const conn = await this.#connection(target);
    this.#check(target, signal, true);
    this.#write(conn, { ...cmd, opaque, flag: (cmd.flag & ~FLAG_RESPONSE) | FLAG_ONEWAY });
  }

  /** Fails every pending request, closes every connection. Leaves no timer behind. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    for (const conn of this.#conns.values()) this.#drop(conn, closedError(conn.target_), true);
    for (const p of this.#pending.values()) p.settle_(closedError(p.target_));
  }

  /** Throws when the client is closed or the caller aborted (before the write with `afterConnect`). */
  #check(target: string, signal?: AbortSignal, afterConnect?: boolean): void {
    if (this.#closed && !afterConnect) throw closedError(target);
    if (signal?.aborted) throw new AbortError();
  }

  /**
   * Writes a frame; a closed connection or a failing transport becomes a RemotingConnectError.
   * `timeoutMs`: what the caller will still wait for the response (requests only).
   */
  #write(conn: Conn, cmd: RemotingCommand, timeoutMs?: number): void {
    if (conn.closed_) throw new RemotingConnectError(conn.target_, 'connection closed');
    try {
      const t = conn.transport_!;
      const room = t.headroom ?? 0;
      t.send(encodeCommand(cmd, room), room, timeoutMs);
    } catch (e) {
      throw asConnectError(conn.target_, e);
    }
  }

  #opaque(): number {
    // Unique per client; wraps within int32 and skips opaques still in use.
    let o = this.nextOpaque;
    while (this.#pending.has(o)) o = (o + 1) | 0;
    this.nextOpaque = (o + 1) | 0;
    return o;
  }

  #emitConnection(target: string, type: 'connected' | 'disconnected', error?: Error): void {
    this.emit('connection', (error ? { target, type, error } : { target, type }) as ConnectionEvent);
  }

  /** The open (or opening) connection to a target; a closed one is replaced on next use. */
  #connection(target: string): Promise<Conn> {
    const conns = this.#conns;
    let conn = conns.get(target);
    if (!conn || conn.closed_) {
      const c: Conn = (conn = { target_: target, closed_: false, ready_: undefined! });
      c.ready_ = this.#transport.connect(
        target,
        { onFrame: (f) => this.#onFrame(c, f), onClose: (err) => this.#drop(c, err) },
        this.#closing.signal,
      ).then(
        (t) => {
          c.transport_ = t;
          if (c.closed_ || this.#closed) t.close();
          else this.#emitConnection(target, 'connected');
          return c;
        },
        (err: unknown) => {
          if (conns.get(target) === c) conns.delete(target);
          c.closed_ = true;
          const e = asConnectError(target, err);
          this.#emitConnection(target, 'disconnected', e);
          throw e;
        },
      );
      conns.set(target, c);
    }
    return conn.ready_;
  }

  #drop(conn: Conn, error?: Error, closeTransport?: boolean): void {
    if (conn.closed_) return;
    conn.closed_ = true;
    const target = conn.target_;
    if (this.#conns.get(target) === conn) this.#conns.delete(target);
    if (closeTransport || error instanceof CodecError) {
      try {
        conn.transport_?.close();
      } catch {
        // already gone
      }
    }
    // The connection is gone: pending requests fail as connect errors (the codec error, if any, is the cause).
    const reason = error instanceof RemotingError ? error : new RemotingConnectError(target, error?.message ?? 'connection closed', { cause: error });
    // The requests written on this connection (a connection is lost rarely: one pass over all is fine).
    for (const p of this.#pending.values()) if (p.conn_ === conn) p.settle_(reason);
    if (conn.transport_) this.#emitConnection(target, 'disconnected', error);
  }

  #onFrame(conn: Conn, frame: Uint8Array): void {
    if (conn.closed_) return;
    const target = conn.target_;
    let cmd: RemotingCommand;
    try {
      cmd = decodeCommand(frame, { maxFrameSize: this.#maxFrameSize });
    } catch (e) {
      // A peer that sends garbage cannot be trusted with the rest of the stream.
      const error = e instanceof CodecError ? e : new CodecError('BAD_HEADER', String(e), { cause: e });
      this.emit('debug', { type: 'malformed-frame', target, error });
      return this.#drop(conn, error, true);
    }
    if (!isResponse(cmd)) return void this.#answer(conn, cmd);
    const { opaque, code } = cmd;
    const p = this.#pending.get(opaque);
    if (p?.conn_ === conn) p.settle_(cmd);
    else {
      this.droppedResponses++;
      this.emit('debug', { type: 'unknown-opaque', target, opaque, code });
    }
  }

  async #answer(conn: Conn, req: RemotingCommand): Promise<void> {
    const target = conn.target_;
    const { code } = req;
    let res: RemotingCommand | void;
    try {
      res = this.#handler ? await this.#handler(target, req) : createResponse(req, RS_REQUEST_CODE_NOT_SUPPORTED, ` request type ${code} not supported`);
    } catch (error) {
      this.emit('debug', { type: 'request-handler-failed', target, code, error });
      res = createResponse(req, RS_SYSTEM_ERROR, String(error));
    }
    try {
      if (res && !isOneway(req)) this.#write(conn, { ...res, opaque: req.opaque, flag: res.flag | FLAG_RESPONSE });
    } catch {
      // connection went away; the peer will time out as it would with Java
    }
  }
}

const closedError = (target: string): RemotingConnectError => new RemotingConnectError(target, 'the client is closed');

function asConnectError(target: string, e: unknown): Error {
  // Our errors keep their kind (too-many-requests back-pressure, an oversize frame, no name server configured).
  if (e instanceof RocketMQError) return e;
  if ((e as Error)?.name === 'AbortError') return new AbortError((e as Error).message, { cause: e });
  return new RemotingConnectError(target, e instanceof Error ? e.message : String(e), { cause: e });
}
