// WebSocketTransport: core's Transport over ONE WebSocket to the rocketmq-edge gateway.
// Targets (name server, broker aliases) are multiplexed with a small binary envelope.
// W3C WebSocket API only; Node 20 gets `ws` through the "#websocket" conditional import.
//
// Kept small for browser bundles: ES #private members (minified by esbuild), one timer field
// (handshake timeout, heartbeat and retry never run at once), constants that esbuild inlines.
import { EventEmitter } from 'eventemitter3';
import {
  AbortError,
  RemotingConnectError as ConnectError,
  RemotingTooMuchRequestError as TooMuchError,
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
import type { ConnectionState, ReconnectOptions, WebSocketFactory, WebSocketLike } from './types.js';

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
};
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
export const DEFAULT_MAX_QUEUED_FRAMES = 1000;
export const DEFAULT_MAX_QUEUED_BYTES = 8_388_608; // 8 MiB
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
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - Math.min(1, Math.max(0, o.jitter)) * random()));
}

/** A virtual connection: one target over the shared socket. */
interface Conn extends TransportConnection {
  h: ConnectionHandlers;
}

/** A connect() waiting for the socket: called with nothing when it is up, else with why not. */
type Waiter = (error?: string | Error) => void;

// Idle: never opened. Waiting: between attempts. Refused/Closed: final, `#why` says why.
const enum Phase { Idle, Connecting, Open, Waiting, Refused, Closed }

const NOT_OPEN = 'the WebSocket to the gateway is not open (reconnecting)';

export class WebSocketTransport extends EventEmitter<WebSocketTransportEvents> implements Transport {
  readonly url: string;
  #o: WebSocketTransportOptions;
  #phase = Phase.Idle;
  #ws: WebSocketLike | undefined;
  #failures = 0; // consecutive failed attempts
  #why = '';
  #conns = new Set<Conn>();
  #waiters = new Set<Waiter>();
  /** Handshake timeout (Connecting), heartbeat interval (Open) or retry delay (Waiting). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastInbound = 0;
  #pings = 0;
  #blobs = Promise.resolve();
  #state: ConnectionState = { type: 'closed' };

  constructor(opts: WebSocketTransportOptions) {
    super();
    if (typeof opts?.url != 'string' || !/^wss?:\/\//i.test(opts.url)) {
      throw new TypeError('WebSocketTransport needs { url: "ws://…" or "wss://…" }');
    }
    this.#o = opts;
    this.url = opts.url;
  }

  /** The last emitted connection state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Opens the socket now instead of on the first connect(). */
  open(): void {
    if (this.#phase == Phase.Idle) {
      this.#set({ type: 'connecting', attempt: 1 });
      void this.#attempt();
    }
  }

  connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection> {
    return new Promise((resolve, reject) => {
      // A throw here rejects the promise.
      if (signal?.aborted) throw new AbortError();
      if (this.#phase > Phase.Waiting) throw new ConnectError(target, this.#why);
      if (this.#phase == Phase.Open) return resolve(this.#add(target, handlers));
      const max = this.#o.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES;
      if (this.#waiters.size >= max) {
        throw new TooMuchError(target, `${max} connects already wait for the gateway (maxQueuedFrames); retry later or raise it`);
      }
      const ms = this.#o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const timer = setTimeout(() => done(`gateway not ready within ${ms} ms (${this.url})`), ms);
      const onAbort = () => done(new AbortError());
      const done: Waiter = (e) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(done);
        if (!e) resolve(this.#add(target, handlers));
        else reject(typeof e == 'string' ? new ConnectError(target, e) : e);
      };
      signal?.addEventListener('abort', onAbort);
      this.#waiters.add(done);
      this.open();
    });
  }

  async close(): Promise<void> {
    if (this.#phase != Phase.Closed) this.#end(Phase.Closed, 'the transport was closed', { type: 'closed', reason: 'closed by the application' });
  }

  #set(s: ConnectionState): void {
    this.#state = s;
    try { this.emit('state', s); } catch { /* listeners must not break the transport */ }
  }

  #add(target: string, h: ConnectionHandlers): Conn {
    const c: Conn = {
      target,
      h,
      send: (frame) => {
        const ws = this.#ws;
        if (!ws || !this.#conns.has(c)) throw new ConnectError(target, NOT_OPEN);
        const max = this.#o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
        if (ws.bufferedAmount + frame.length > max) {
          throw new TooMuchError(target, `${ws.bufferedAmount} bytes wait in the WebSocket (maxQueuedBytes ${max}); wait for sends to drain or raise it`);
        }
        ws.send(encodeEnvelope(target, frame));
      },
      close: () => this.#drop(c),
    };
    this.#conns.add(c);
    return c;
  }

  /** Closes one virtual connection; `why` set = it failed. */
  #drop(c: Conn, why?: string): void {
    if (this.#conns.delete(c)) {
      try { c.h.onClose(why ? new ConnectError(c.target, why) : undefined); } catch { /* the handler's problem */ }
    }
  }

  async #attempt(): Promise<void> {
    this.#phase = Phase.Connecting;
    const o = this.#o;
    let stage = 'the token callback';
    try {
      const token = typeof o.token == 'function' ? await o.token() : o.token;
      if (this.#phase != Phase.Connecting) return; // closed meanwhile
      stage = 'creating the WebSocket';
      const inProtocol = !!token && isSubprotocolSafe(token);
      const ws = (o.webSocketFactory ?? newWebSocket)(this.url, inProtocol ? [SUBPROTOCOL, BEARER_PREFIX + token] : [SUBPROTOCOL]);
      ws.binaryType = 'arraybuffer';
      this.#ws = ws;
      const ms = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      this.#timer = setTimeout(() => this.#kill(ws, CloseCode.NORMAL, `no hello from the gateway within ${ms} ms`), ms);
      const onOpen = () => {
        if (token && !inProtocol && this.#ws == ws) this.#send(ws, { type: 'auth', token });
      };
      ws.addEventListener('open', onOpen);
      ws.addEventListener('message', (ev) => this.#message(ws, ev.data));
      ws.addEventListener('close', (ev) => {
        if (this.#ws != ws) return;
        const code = ev?.code ?? 1006;
        const reason = ev?.reason;
        const what = `gateway closed the WebSocket (${code}${reason ? ` ${reason}` : ''})`;
        if (FATAL_CLOSE_CODES.has(code) || (code == CloseCode.TOKEN_EXPIRED && typeof o.token != 'function')) {
          this.#end(Phase.Refused, `${what}; not retrying`, { type: 'refused', reason: reason || `close code ${code}`, code });
        } else this.#down(what);
      });
      ws.addEventListener('error', () => { /* a close event follows */ });
      if (ws.readyState == 1) onOpen(); // factories may hand over an accepted socket (Workers)
    } catch (e) {
      this.#down(`${stage} failed: ${e}`);
    }
  }

  #send(ws: WebSocketLike, msg: ControlMessage): void {
    try { ws.send(JSON.stringify(msg)); } catch { /* close follows */ }
  }

  #message(ws: WebSocketLike, data: unknown): void {
    if (this.#ws != ws) return;
    this.#lastInbound = Date.now();
    if (typeof data == 'string') {
      let msg: ControlMessage | undefined;
      try { msg = JSON.parse(data); } catch { /* not JSON: ignored */ }
      if (msg?.type == 'ping') this.#send(ws, { type: 'pong', id: msg.id });
      else if (msg?.type == 'hello' && this.#phase == Phase.Connecting) this.#hello(ws);
    } else if (data instanceof ArrayBuffer) this.#frame(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) this.#frame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else if (typeof Blob != 'undefined' && data instanceof Blob) {
      // Some runtimes ignore binaryType; keep frame order while converting.
      this.#blobs = this.#blobs.then(async () => {
        const buf = await data.arrayBuffer();
        if (this.#ws == ws) this.#frame(new Uint8Array(buf));
      }).catch(() => {});
    }
  }

  #hello(ws: WebSocketLike): void {
    clearTimeout(this.#timer);
    this.#phase = Phase.Open;
    const attempt = this.#failures + 1;
    this.#failures = 0;
    const every = this.#o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (every > 0) {
      this.#timer = setInterval(() => {
        if (Date.now() - this.#lastInbound > 2 * every) this.#kill(ws, CloseCode.HEARTBEAT_TIMEOUT, `no pong from the gateway for ${2 * every} ms`);
        else this.#send(ws, { type: 'ping', id: ++this.#pings });
      }, every);
    }
    this.#set({ type: 'connected', attempt });
    for (const w of this.#waiters) w();
  }

  #frame(bytes: Uint8Array): void {
    let env;
    try {
      env = decodeEnvelope(bytes);
    } catch {
      return; // a gateway bug; nothing a caller could do
    }
    for (const c of this.#conns) {
      if (c.target == env.target) {
        try { c.h.onFrame(env.frame); } catch { /* the handler's problem */ }
      }
    }
  }

  /** Gives up on `ws` (no hello, no pong) and reconnects. */
  #kill(ws: WebSocketLike, code: number, why: string): void {
    if (this.#ws != ws) return;
    try { ws.close(code, why); } catch { /* already closing */ }
    this.#down(why);
  }

  /** The socket or an attempt failed: fail every virtual connection, retry after a backoff delay. */
  #down(why: string): void {
    this.#ws = undefined;
    clearTimeout(this.#timer);
    if (this.#phase > Phase.Waiting) return;
    this.#phase = Phase.Waiting;
    for (const c of this.#conns) this.#drop(c, why);
    const r = this.#o.reconnect;
    if (++this.#failures > (r?.maxAttempts ?? Infinity)) {
      const reason = `gave up after ${this.#failures - 1} reconnect attempts: ${why}`;
      this.#end(Phase.Closed, reason, { type: 'closed', reason });
      return;
    }
    const delayMs = backoffDelay(this.#failures, r);
    this.#set({ type: 'reconnecting', attempt: this.#failures, delayMs, reason: why });
    this.#timer = setTimeout(() => this.#attempt(), delayMs);
  }

  /** Final: refused by the gateway, given up, or closed by the application. */
  #end(phase: Phase, why: string, state: ConnectionState): void {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#phase = phase;
    this.#why = why;
    clearTimeout(this.#timer);
    const failed = phase == Phase.Refused;
    for (const c of this.#conns) this.#drop(c, failed ? why : undefined);
    for (const w of this.#waiters) w(why);
    try { ws?.close(CloseCode.NORMAL, 'client closed'); } catch { /* already closing */ }
    this.#set(state);
  }
}

/** Default factory: the global WebSocket, else the Node fallback (`ws`, node condition only). */
const newWebSocket: WebSocketFactory = (url, protocols) => {
  const Ctor = (globalThis as { WebSocket?: typeof fallbackWebSocket }).WebSocket ?? fallbackWebSocket;
  if (!Ctor) throw new Error('no WebSocket in this runtime: pass webSocketFactory to WebSocketTransport');
  return new Ctor(url, protocols);
};
