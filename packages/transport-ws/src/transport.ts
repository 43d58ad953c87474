// WebSocketTransport: core's Transport over ONE WebSocket to the rocketmq-edge gateway.
// Targets (name server, broker aliases) are multiplexed with a small binary envelope.
// W3C WebSocket API only; Node 20 gets `ws` through the "#websocket" conditional import.
//
// Kept small for browser bundles: ES #private members (minified by esbuild), one timer field
// (handshake timeout, heartbeat and retry never run at once), constants that esbuild inlines.
import {
  AbortError,
  EventEmitter,
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
  BUDGET_BYTES,
  SUBPROTOCOL,
  decodeEnvelope,
  encodeEnvelope,
  targetBytes,
  isSubprotocolSafe,
  type ControlMessage,
} from './envelope.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_FACTOR,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_INITIAL_DELAY_MS,
  DEFAULT_JITTER,
  DEFAULT_MAX_DELAY_MS,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_QUEUED_FRAMES,
} from './defaults.js';
import type {
  ConnectionState,
  ReconnectOptions,
  WebSocketCloseEventLike,
  WebSocketFactory,
  WebSocketLike,
  WebSocketMessageEventLike,
} from './types.js';

export type TokenSource = string | (() => string | Promise<string>);

export interface WebSocketTransportOptions {
  /** Gateway endpoint, e.g. "wss://gw.example.com/rmq". */
  url: string;
  /**
   * Bearer token, or a callback asked on every (re)connect (token refresh). `undefined` is allowed
   * explicitly (as from `process.env.TOKEN`) for users with exactOptionalPropertyTypes.
   */
  token?: TokenSource | undefined;
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
  const {
    initialDelayMs = DEFAULT_INITIAL_DELAY_MS,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    factor = DEFAULT_FACTOR,
    jitter = DEFAULT_JITTER,
  } = opts;
  const base = Math.min(maxDelayMs, initialDelayMs * factor ** (attempt > 1 ? attempt - 1 : 0));
  return Math.round(base * (1 - (jitter < 0 ? 0 : jitter > 1 ? 1 : jitter) * random())); // jitter clamped to 0..1
}

/** A virtual connection: one target over the shared socket. */
interface Conn extends TransportConnection {
  h: ConnectionHandlers;
}

/** A connect() waiting for the socket: called with nothing when it is up, with why not, or as the abort listener. */
type Waiter = (error?: string | Event) => void;

// Idle: never opened. Waiting: between attempts. Refused/Closed: final, `#why` says why.
const enum Phase { Idle, Connecting, Open, Waiting, Refused, Closed }

export class WebSocketTransport extends EventEmitter<WebSocketTransportEvents> implements Transport {
  declare readonly url: string;
  #o: WebSocketTransportOptions;
  #phase = Phase.Idle;
  #ws: WebSocketLike | undefined;
  #failures = 0; // consecutive failed attempts
  #why = ''; // why connect() is refused once Refused/Closed
  /** BUDGET_BYTES once this socket's hello said version >= 2 (envelopes carry the request's budget), else 0. */
  #budget = 0;
  #conns = new Set<Conn>();
  #waiters = new Set<Waiter>();
  /** Handshake timeout (Connecting), heartbeat interval (Open) or retry delay (Waiting). */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #state: ConnectionState = { type: 'closed' };

  constructor(opts: WebSocketTransportOptions) {
    super();
    if (!/^wss?:\/\//i.test(opts?.url)) throw new TypeError('url must be ws:// or wss://');
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
      const o = this.#o;
      const waiters = this.#waiters;
      const max = o.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES;
      if (waiters.size >= max) throw new TooMuchError(target, `${max} connects already wait (maxQueuedFrames): retry later`);
      const ms = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const timer = setTimeout(() => done(`gateway not ready within ${ms} ms`), ms);
      const done: Waiter = (e) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(done);
        if (e) return reject(typeof e == 'string' ? new ConnectError(target, e) : new AbortError());
        // A virtual connection lives on one socket, so the version its hello negotiated holds for it.
        const budget = this.#budget;
        const c: Conn = {
          target,
          h: handlers,
          headroom: 2 + targetBytes(target).length + budget,
          send: (frame, room, timeoutMs) => {
            const ws = this.#ws;
            if (!ws || !this.#conns.has(c)) throw new ConnectError(target, 'WebSocket not open (reconnecting)');
            const max = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
            if (ws.bufferedAmount + frame.length > max) throw new TooMuchError(target, `send buffer over maxQueuedBytes ${max}: retry later`);
            // Version 2 carries the request's budget: the gateway frees the request's in-flight
            // slot once the caller stopped waiting. Oneway requests and responses (no timeoutMs)
            // need none: version 1, which every gateway reads.
            ws.send(encodeEnvelope(target, frame, room, budget ? timeoutMs : undefined));
          },
          close: () => this.#drop(c),
        };
        this.#conns.add(c);
        resolve(c);
      };
      signal?.addEventListener('abort', done);
      waiters.add(done);
      // Open: resolves at once. Otherwise waits for the hello (opening the socket if need be).
      if (this.#phase == Phase.Open) done();
      else this.open();
    });
  }

  async close(): Promise<void> {
    if (this.#phase != Phase.Closed) this.#end(Phase.Closed, 'closed by the application');
  }

  #set(s: ConnectionState): void {
    try { this.emit('state', (this.#state = s)); } catch { /* listeners must not break the transport */ }
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
    const refreshable = typeof o.token == 'function';
    let stage = 'token callback';
    try {
      const token = refreshable ? await (o.token as () => string | Promise<string>)() : (o.token as string | undefined);
      if (this.#phase != Phase.Connecting) return; // closed meanwhile
      stage = 'WebSocket factory';
      const inProtocol = !!token && isSubprotocolSafe(token);
      const ws = (o.webSocketFactory ?? newWebSocket)(this.url, inProtocol ? [SUBPROTOCOL, BEARER_PREFIX + token] : [SUBPROTOCOL]);
      const send = (msg: ControlMessage) => {
        try { ws.send(JSON.stringify(msg)); } catch { /* a close follows */ }
      };
      // No token: an empty auth message, so the gateway refuses at once (4401) instead of
      // waiting authTimeoutMs for a token that never comes.
      const onOpen = () => inProtocol || send({ type: 'auth', token: token || '' });
      let lastInbound = 0;
      let blobs = Promise.resolve();
      const onMessage = (data: unknown): void => {
        if (this.#ws != ws) return;
        lastInbound = Date.now();
        if (typeof data == 'string') {
          let msg: ControlMessage | undefined;
          try { msg = JSON.parse(data); } catch { /* not JSON: ignored */ }
          if (msg?.type == 'ping') send({ type: 'pong', id: msg.id });
          else if (msg?.type == 'hello') {
            clearTimeout(this.#timer);
            this.#phase = Phase.Open;
            this.#budget = msg.version >= 2 ? BUDGET_BYTES : 0; // an older gateway reads version-1 envelopes only
            const every = o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
            if (every > 0) {
              this.#timer = setInterval(() => {
                if (Date.now() - lastInbound > 2 * every) this.#down(`no pong for ${2 * every} ms`, CloseCode.HEARTBEAT_TIMEOUT);
                else send({ type: 'ping', id: Date.now() });
              }, every);
            }
            this.#set({ type: 'connected', attempt: this.#failures + 1 });
            this.#failures = 0;
            for (const w of this.#waiters) w();
          }
        } else if ((data as Blob).arrayBuffer) {
          // A Blob: some runtimes ignore binaryType. Keep frame order while converting.
          blobs = blobs.then(() => (data as Blob).arrayBuffer()).then(onMessage, () => {});
        } else {
          let env;
          try {
            // An ArrayBuffer, or a view of one (Node's Buffer).
            const v = data as Uint8Array;
            env = decodeEnvelope(new Uint8Array(v.buffer ?? v, v.byteOffset, v.byteLength));
          } catch {
            return; // not binary, or a gateway bug: nothing a caller could do
          }
          for (const c of this.#conns) {
            if (c.target == env.target) {
              try { c.h.onFrame(env.frame); } catch { /* the handler's problem */ }
            }
          }
        }
      };
      ws.binaryType = 'arraybuffer';
      this.#ws = ws;
      const ms = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      this.#timer = setTimeout(() => this.#down(`no hello within ${ms} ms`), ms);
      const on = (type: string, listener: (ev: never) => void) => ws.addEventListener(type as 'open', listener as () => void);
      on('open', onOpen);
      on('message', (ev: WebSocketMessageEventLike) => onMessage(ev.data));
      on('close', ({ code = 1006, reason = '' }: WebSocketCloseEventLike) => {
        if (this.#ws != ws) return;
        const what = `(${code}${reason && ` ${reason}`})`;
        if (FATAL_CLOSE_CODES.has(code) || (code == CloseCode.TOKEN_EXPIRED && !refreshable)) {
          this.#end(Phase.Refused, `refused by the gateway ${what}: not retrying`, { type: 'refused', reason: reason || `close code ${code}`, code });
        } else this.#down('WebSocket closed ' + what);
      });
      on('error', () => { /* a close event follows */ });
      if (ws.readyState == 1) onOpen(); // factories may hand over an accepted socket (Workers)
    } catch (e) {
      this.#down(`${stage} failed: ${e}`);
    }
  }

  /**
   * Lets go of the socket (closing it with `code`) and fails every virtual connection (closes them
   * without an error after close()). Then, unless final, retries after a backoff delay.
   */
  #down(why: string, code: number = CloseCode.NORMAL): void {
    const ws = this.#ws;
    this.#ws = undefined;
    clearTimeout(this.#timer);
    try { ws?.close(code, why); } catch { /* closed already, or a reason over 123 bytes */ }
    const final = this.#phase > Phase.Waiting;
    if (!final) this.#phase = Phase.Waiting;
    for (const c of this.#conns) this.#drop(c, this.#phase == Phase.Closed ? undefined : why);
    if (final) return;
    const r = this.#o.reconnect;
    // No maxAttempts: the comparison with undefined is false, so retries go on.
    if (++this.#failures > r?.maxAttempts!) {
      this.#end(Phase.Closed, `gave up after ${this.#failures - 1} reconnects: ${why}`);
    } else {
      const delayMs = backoffDelay(this.#failures, r);
      this.#set({ type: 'reconnecting', attempt: this.#failures, delayMs, reason: why });
      this.#timer = setTimeout(() => this.#attempt(), delayMs);
    }
  }

  /** Final: refused by the gateway, given up, or closed by the application. */
  #end(phase: Phase, why: string, state: ConnectionState = { type: 'closed', reason: why }): void {
    this.#phase = phase;
    this.#why = why;
    this.#down(why);
    for (const w of this.#waiters) w(why);
    this.#set(state);
  }
}

/** Default factory: the global WebSocket, else the Node fallback (`ws`, node condition only). */
const newWebSocket: WebSocketFactory = (url, protocols) => {
  const Ctor = (globalThis as { WebSocket?: typeof fallbackWebSocket }).WebSocket ?? fallbackWebSocket;
  if (!Ctor) throw new Error('no WebSocket in this runtime: pass webSocketFactory');
  return new Ctor(url, protocols);
};
