// WebSocketTransport: core's Transport over ONE WebSocket to the rocketmq-edge gateway.
// Targets (name server, broker aliases) are multiplexed with a small binary envelope.
// W3C WebSocket API only; Node 20 gets `ws` through the "#websocket" conditional import.
import { EventEmitter } from 'eventemitter3';
import {
  AbortError,
  RemotingConnectError,
  RemotingTooMuchRequestError,
  type ConnectionHandlers,
  type Transport,
  type TransportConnection,
} from '@rocketmq-edge/core';
import { fallbackWebSocket } from '#websocket';
import {
  BEARER_PREFIX,
  CloseCode,
  FATAL_CLOSE_CODES,
  SUBPROTOCOL,
  decodeEnvelope,
  encodeEnvelope,
  isSubprotocolSafe,
  type ControlMessage,
} from './envelope.js';
import type {
  ConnectionState,
  ReconnectOptions,
  WebSocketCloseEventLike,
  WebSocketFactory,
  WebSocketLike,
  WebSocketMessageEventLike,
} from './types.js';

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
};
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
export const DEFAULT_MAX_QUEUED_FRAMES = 1000;
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export type TokenSource = string | (() => string | Promise<string>);

export interface WebSocketTransportOptions {
  /** Gateway endpoint, e.g. "wss://gw.example.com/rmq". */
  url: string;
  /** Bearer token, or a callback asked on every (re)connect (token refresh). */
  token?: TokenSource;
  /** Escape hatch for runtimes without a usable global WebSocket, and for tests. */
  webSocketFactory?: WebSocketFactory;
  reconnect?: ReconnectOptions;
  /** Ping period; no pong for two periods = dead link, reconnect. 0 disables. */
  heartbeatIntervalMs?: number;
  /** Most connect() calls allowed to wait for the socket while it is (re)connecting. */
  maxQueuedFrames?: number;
  /** Most bytes allowed in the socket's send buffer (bufferedAmount) before send() refuses. */
  maxQueuedBytes?: number;
  /** Bound for one handshake (open + hello) and for a connect() call waiting for the socket. */
  connectTimeoutMs?: number;
}

export interface WebSocketTransportEvents {
  state: (s: ConnectionState) => void;
}

/** Delay before reconnect attempt `attempt` (1-based), with per-attempt jitter and cap. */
export function backoffDelay(attempt: number, opts: ReconnectOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_RECONNECT, ...opts };
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.factor, Math.max(0, attempt - 1)));
  const jitter = Math.min(1, Math.max(0, o.jitter));
  return Math.round(base * (1 - jitter * random()));
}

interface Waiter {
  target: string;
  handlers: ConnectionHandlers;
  resolve: (c: TransportConnection) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

class VirtualConnection implements TransportConnection {
  closed = false;
  constructor(
    private readonly owner: WebSocketTransport,
    readonly target: string,
    readonly handlers: ConnectionHandlers,
    readonly socket: WebSocketLike,
  ) {}
  send(frame: Uint8Array): void {
    if (this.closed) throw new RemotingConnectError(this.target, 'the WebSocket to the gateway is not open (reconnecting)');
    this.owner.sendFrame(this, frame);
  }
  close(): void {
    this.owner.closeVirtual(this, undefined);
  }
}

type Phase = 'idle' | 'connecting' | 'open' | 'waiting' | 'refused' | 'closed';

export class WebSocketTransport extends EventEmitter<WebSocketTransportEvents> implements Transport {
  readonly url: string;
  private readonly opts: WebSocketTransportOptions;
  private readonly reconnectOpts: Required<ReconnectOptions>;
  private readonly factory: WebSocketFactory;
  private phase: Phase = 'idle';
  private ws: WebSocketLike | undefined;
  private attempt = 0; // consecutive failed attempts
  private finalReason = '';
  private readonly conns = new Map<string, Set<VirtualConnection>>();
  private readonly waiters = new Set<Waiter>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private lastInbound = 0;
  private pingId = 0;
  private blobChain: Promise<void> = Promise.resolve();
  private _state: ConnectionState = { type: 'closed' };

  constructor(opts: WebSocketTransportOptions) {
    super();
    if (!opts || typeof opts.url !== 'string' || !/^wss?:\/\//i.test(opts.url)) {
      throw new TypeError('WebSocketTransport needs { url: "ws://host:port/rmq" or "wss://…" }');
    }
    this.opts = opts;
    this.url = opts.url;
    this.reconnectOpts = { ...DEFAULT_RECONNECT, ...(opts.reconnect ?? {}) };
    this.factory = opts.webSocketFactory ?? defaultFactory();
  }

  /** The last emitted connection state. */
  get state(): ConnectionState {
    return this._state;
  }

  /** Opens the socket now instead of on the first connect(). */
  open(): void {
    if (this.phase === 'idle') this.startAttempt();
  }

  connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection> {
    if (signal?.aborted) return Promise.reject(new AbortError());
    if (this.phase === 'refused' || this.phase === 'closed') {
      return Promise.reject(new RemotingConnectError(target, this.finalReason || 'the transport is closed'));
    }
    if (this.phase === 'open' && this.ws) return Promise.resolve(this.addVirtual(target, handlers, this.ws));
    const max = this.opts.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES;
    if (this.waiters.size >= max) {
      return Promise.reject(new RemotingTooMuchRequestError(target,
        `${this.waiters.size} connects already wait for the gateway WebSocket (maxQueuedFrames ${max}); slow down or raise maxQueuedFrames`));
    }
    if (this.phase === 'idle') this.startAttempt();
    return new Promise<TransportConnection>((resolve, reject) => {
      const timeoutMs = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        w.cleanup();
        reject(new RemotingConnectError(target, `the gateway WebSocket did not come up within ${timeoutMs} ms (${this.url})`));
      }, timeoutMs);
      const onAbort = () => {
        w.cleanup();
        reject(new AbortError());
      };
      const w: Waiter = {
        target,
        handlers,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(w);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(w);
    });
  }

  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.finalReason = 'the transport was closed';
    this.clearTimers();
    const ws = this.ws;
    this.ws = undefined;
    this.dropAll(undefined);
    this.rejectWaiters('the transport was closed');
    if (ws) {
      try { ws.close(CloseCode.NORMAL, 'client closed'); } catch { /* already closing */ }
    }
    this.setState({ type: 'closed', reason: 'closed by the application' });
  }

  // ---------- internals used by VirtualConnection ----------

  sendFrame(conn: VirtualConnection, frame: Uint8Array): void {
    const ws = this.ws;
    if (!ws || ws !== conn.socket || this.phase !== 'open') {
      throw new RemotingConnectError(conn.target, 'the WebSocket to the gateway is not open (reconnecting)');
    }
    const max = this.opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (ws.bufferedAmount + frame.length > max) {
      throw new RemotingTooMuchRequestError(conn.target,
        `WebSocket send buffer holds ${ws.bufferedAmount} bytes (maxQueuedBytes ${max}); wait for in-flight sends or raise maxQueuedBytes`);
    }
    ws.send(encodeEnvelope(conn.target, frame));
  }

  closeVirtual(conn: VirtualConnection, error: Error | undefined): void {
    if (conn.closed) return;
    conn.closed = true;
    const set = this.conns.get(conn.target);
    if (set) {
      set.delete(conn);
      if (set.size === 0) this.conns.delete(conn.target);
    }
    try { conn.handlers.onClose(error); } catch { /* the handler's problem */ }
  }

  // ---------- socket lifecycle ----------

  private setState(s: ConnectionState): void {
    this._state = s;
    try { this.emit('state', s); } catch { /* listeners must not break the transport */ }
  }

  private addVirtual(target: string, handlers: ConnectionHandlers, ws: WebSocketLike): VirtualConnection {
    const c = new VirtualConnection(this, target, handlers, ws);
    let set = this.conns.get(target);
    if (!set) this.conns.set(target, (set = new Set()));
    set.add(c);
    return c;
  }

  private startAttempt(delayMs?: number, reason?: string): void {
    this.phase = 'connecting';
    if (this.attempt === 0) this.setState({ type: 'connecting', attempt: 1 });
    else this.setState({ type: 'reconnecting', attempt: this.attempt, delayMs: delayMs ?? 0, ...(reason ? { reason } : {}) });
    void this.openSocket();
  }

  private async openSocket(): Promise<void> {
    let token: string | undefined;
    try {
      const src = this.opts.token;
      token = typeof src === 'function' ? await src() : src;
    } catch (e) {
      this.attemptFailed(`the token callback failed: ${(e as Error)?.message ?? e}`);
      return;
    }
    if (this.phase !== 'connecting') return; // closed meanwhile
    const protocols = [SUBPROTOCOL];
    const inProtocol = token !== undefined && token !== '' && isSubprotocolSafe(token);
    if (inProtocol) protocols.push(BEARER_PREFIX + token);
    let ws: WebSocketLike;
    try {
      ws = this.factory(this.url, protocols);
      ws.binaryType = 'arraybuffer';
    } catch (e) {
      this.attemptFailed(`cannot create a WebSocket: ${(e as Error)?.message ?? e}`);
      return;
    }
    this.ws = ws;
    const timeoutMs = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.handshakeTimer = setTimeout(() => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      try { ws.close(CloseCode.NORMAL, 'handshake timeout'); } catch { /* ignore */ }
      this.attemptFailed(`no hello from the gateway within ${timeoutMs} ms`);
    }, timeoutMs);
    const onOpen = () => {
      if (this.ws !== ws) return;
      if (token && !inProtocol) this.sendControl(ws, { type: 'auth', token });
    };
    ws.addEventListener('open', onOpen);
    ws.addEventListener('message', (ev) => this.onMessage(ws, ev));
    ws.addEventListener('close', (ev) => this.onSocketClose(ws, ev));
    ws.addEventListener('error', () => { /* a close event follows */ });
    if (ws.readyState === 1) onOpen(); // factories may hand over an accepted socket (Workers)
  }

  private sendControl(ws: WebSocketLike, msg: ControlMessage): void {
    try { ws.send(JSON.stringify(msg)); } catch { /* close follows */ }
  }

  private onMessage(ws: WebSocketLike, ev: WebSocketMessageEventLike): void {
    if (this.ws !== ws) return;
    this.lastInbound = Date.now();
    const data = ev.data;
    if (typeof data === 'string') {
      this.onControl(ws, data);
      return;
    }
    if (data instanceof ArrayBuffer) this.onBinary(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) this.onBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else if (typeof Blob !== 'undefined' && data instanceof Blob) {
      // Some runtimes ignore binaryType; keep frame order while converting.
      this.blobChain = this.blobChain.then(async () => {
        const buf = await data.arrayBuffer();
        if (this.ws === ws) this.onBinary(new Uint8Array(buf));
      }).catch(() => {});
    }
  }

  private onControl(ws: WebSocketLike, text: string): void {
    let msg: ControlMessage;
    try {
      msg = JSON.parse(text) as ControlMessage;
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'hello') {
      if (this.phase !== 'connecting') return;
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
      this.phase = 'open';
      const attempt = this.attempt + 1;
      this.attempt = 0;
      this.startHeartbeat(ws);
      this.setState({ type: 'connected', attempt });
      for (const w of [...this.waiters]) {
        w.cleanup();
        w.resolve(this.addVirtual(w.target, w.handlers, ws));
      }
    } else if (msg.type === 'ping') {
      this.sendControl(ws, { type: 'pong', id: msg.id });
    }
  }

  private onBinary(bytes: Uint8Array): void {
    let env;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      return; // a gateway bug; nothing a caller could do
    }
    const set = this.conns.get(env.target);
    if (!set) return;
    for (const c of set) {
      try { c.handlers.onFrame(env.frame); } catch { /* the handler's problem */ }
    }
  }

  private startHeartbeat(ws: WebSocketLike): void {
    const every = this.opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!(every > 0)) return;
    this.lastInbound = Date.now();
    this.heartbeatTimer = setInterval(() => {
      if (this.ws !== ws) return;
      if (Date.now() - this.lastInbound > 2 * every) {
        this.ws = undefined;
        try { ws.close(CloseCode.HEARTBEAT_TIMEOUT, 'no pong from the gateway'); } catch { /* ignore */ }
        this.lostSocket(`no pong from the gateway for ${2 * every} ms`);
        return;
      }
      this.sendControl(ws, { type: 'ping', id: ++this.pingId });
    }, every);
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private onSocketClose(ws: WebSocketLike, ev: WebSocketCloseEventLike): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    const code = ev?.code ?? 1006;
    const reason = ev?.reason || closeCodeText(code);
    const what = `gateway closed the WebSocket (${code}${reason ? ` ${reason}` : ''})`;
    const fatal = FATAL_CLOSE_CODES.has(code) || (code === CloseCode.TOKEN_EXPIRED && typeof this.opts.token !== 'function');
    if (fatal) {
      this.clearTimers();
      this.phase = 'refused';
      this.finalReason = `${what}; not retrying`;
      this.dropAll(new RemotingConnectError(this.url, this.finalReason));
      this.rejectWaiters(this.finalReason);
      this.setState({ type: 'refused', reason: reason || `close code ${code}`, code });
      return;
    }
    if (this.phase === 'open') this.lostSocket(what);
    else this.attemptFailed(what);
  }

  /** An open socket went away: fail every virtual connection, then reconnect. */
  private lostSocket(why: string): void {
    this.clearTimers();
    this.phase = 'waiting';
    this.dropAll(undefined, why);
    this.scheduleRetry(why);
  }

  private attemptFailed(why: string): void {
    this.clearTimers();
    this.ws = undefined;
    if (this.phase === 'closed' || this.phase === 'refused') return;
    this.phase = 'waiting';
    this.scheduleRetry(why);
  }

  private scheduleRetry(why: string): void {
    this.attempt++;
    if (this.attempt > this.reconnectOpts.maxAttempts) {
      this.phase = 'closed';
      this.finalReason = `gave up after ${this.attempt - 1} reconnect attempts: ${why}`;
      this.rejectWaiters(this.finalReason);
      this.setState({ type: 'closed', reason: this.finalReason });
      return;
    }
    const delay = backoffDelay(this.attempt, this.reconnectOpts);
    this.setState({ type: 'reconnecting', attempt: this.attempt, delayMs: delay, reason: why });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.phase !== 'waiting') return;
      this.phase = 'connecting';
      void this.openSocket();
    }, delay);
  }

  private dropAll(error: Error | undefined, why?: string): void {
    for (const [target, set] of [...this.conns]) {
      for (const c of [...set]) {
        this.closeVirtual(c, error ?? new RemotingConnectError(target, why ?? 'the WebSocket to the gateway closed'));
      }
    }
    this.conns.clear();
  }

  private rejectWaiters(reason: string): void {
    for (const w of [...this.waiters]) {
      w.cleanup();
      w.reject(new RemotingConnectError(w.target, reason));
    }
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.retryTimer = this.handshakeTimer = this.heartbeatTimer = undefined;
  }
}

function closeCodeText(code: number): string {
  switch (code) {
    case CloseCode.PROTOCOL_VIOLATION: return 'protocol violation';
    case CloseCode.UNAUTHORIZED: return 'unauthorized';
    case CloseCode.FORBIDDEN_ORIGIN: return 'origin not allowed';
    case CloseCode.AUTH_TIMEOUT: return 'authentication timeout';
    case CloseCode.TOKEN_EXPIRED: return 'token expired';
    case CloseCode.TOO_MANY_CONNECTIONS: return 'too many connections';
    case 1006: return 'connection lost';
    default: return '';
  }
}

function defaultFactory(): WebSocketFactory {
  const Global = (globalThis as { WebSocket?: new (url: string, protocols?: string | string[]) => WebSocketLike }).WebSocket;
  const Ctor = Global ?? fallbackWebSocket;
  if (!Ctor) {
    return () => {
      throw new Error('no WebSocket implementation in this runtime: pass webSocketFactory to WebSocketTransport');
    };
  }
  return (url, protocols) => new Ctor(url, protocols);
}
