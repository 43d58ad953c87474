// TcpTransport: the core Transport over node:net, for server-side users and the gateway's upstream.
import { connect as netConnect, type Socket } from 'node:net';
import {
  AbortError,
  DEFAULT_MAX_FRAME_SIZE,
  NAMESRV_TARGET,
  RemotingConnectError,
  noNameServerError,
  type ConnectionHandlers,
  type Transport,
} from '@rocketmq-edge/core/internal';
import { parseHostPort, parseNamesrvAddr } from './address.js';
import { TcpConnection } from './connection.js';

export interface TcpTransportOptions {
  /** Name servers, `;`-separated "host:port" (Java's namesrvAddr). Needed for NAMESRV_TARGET. */
  namesrvAddr?: string;
  /** Per dial attempt (NettyClientConfig.connectTimeoutMillis). */
  connectTimeoutMs?: number;
  /** Largest frame (without its length prefix) accepted in either direction. */
  maxFrameSize?: number;
  /** TCP_NODELAY. */
  noDelay?: boolean;
  /** Bytes that may wait to be written on one connection before send() throws RemotingTooMuchRequestError. */
  maxQueuedBytes?: number;
  /** How long close() waits for the peer's FIN before destroying a socket. */
  closeGraceMs?: number;
}

export const TCP_TRANSPORT_DEFAULTS = {
  connectTimeoutMs: 3000,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  noDelay: true,
  maxQueuedBytes: 64 * 1024 * 1024,
  closeGraceMs: 1000,
} as const;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`TcpTransport option ${name} must be a positive number, got ${value}`);
  return value;
}

/**
 * Opens one socket per connect() call; the RemotingClient keeps one connection per target and
 * calls connect() again after a close. NAMESRV_TARGET goes to the chosen name server: the first
 * listed until a dial fails, then round-robin through the list (the Java client's behaviour).
 */
export class TcpTransport implements Transport {
  private readonly namesrvs: string[];
  private namesrvIndex = 0;
  private readonly connectTimeoutMs: number;
  private readonly maxFrameSize: number;
  private readonly noDelay: boolean;
  private readonly maxQueuedBytes: number;
  private readonly closeGraceMs: number;
  private readonly connections = new Set<TcpConnection>();
  /** Cancels dials in progress (used by close()). */
  private readonly dials = new Set<() => void>();

  constructor(opts: TcpTransportOptions = {}) {
    this.namesrvs = parseNamesrvAddr(opts.namesrvAddr);
    const d = TCP_TRANSPORT_DEFAULTS;
    this.connectTimeoutMs = positive('connectTimeoutMs', opts.connectTimeoutMs ?? d.connectTimeoutMs);
    this.maxFrameSize = positive('maxFrameSize', opts.maxFrameSize ?? d.maxFrameSize);
    this.noDelay = opts.noDelay ?? d.noDelay;
    this.maxQueuedBytes = positive('maxQueuedBytes', opts.maxQueuedBytes ?? d.maxQueuedBytes);
    this.closeGraceMs = positive('closeGraceMs', opts.closeGraceMs ?? d.closeGraceMs);
  }

  /** The configured name servers, in order. */
  get namesrvList(): readonly string[] {
    return this.namesrvs;
  }

  /** The name server the next NAMESRV_TARGET connect tries first. */
  get currentNamesrv(): string | undefined {
    return this.namesrvs[this.namesrvIndex];
  }

  /** Open connections (for tests and metrics). */
  get connectionCount(): number {
    return this.connections.size;
  }

  async connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TcpConnection> {
    if (signal?.aborted) throw new AbortError(`connect to ${target} aborted`, { cause: signal.reason });
    if (target === NAMESRV_TARGET) return this.connectNamesrv(handlers, signal);
    if (!parseHostPort(target)) {
      throw new RemotingConnectError(target, `"${target}" is not a "host:port" address`);
    }
    const socket = await this.dial(target, signal);
    return this.adopt(target, target, socket, handlers);
  }

  async close(): Promise<void> {
    for (const cancel of [...this.dials]) cancel();
    const conns = [...this.connections];
    for (const c of conns) c.close();
    await Promise.all(conns.map((c) => c.closed));
  }

  private async connectNamesrv(handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TcpConnection> {
    const n = this.namesrvs.length;
    if (n === 0) throw noNameServerError();
    const start = this.namesrvIndex;
    const failures: string[] = [];
    let last: unknown;
    for (let i = 0; i < n; i++) {
      const index = (start + i) % n;
      const addr = this.namesrvs[index]!;
      try {
        const socket = await this.dial(addr, signal);
        this.namesrvIndex = index;
        return this.adopt(NAMESRV_TARGET, addr, socket, handlers);
      } catch (e) {
        if (e instanceof AbortError) throw e;
        last = e;
        failures.push(`${addr}: ${(e as Error).message}`);
      }
    }
    if (n === 1) throw last;
    throw new RemotingConnectError(this.namesrvs.join(';'), `no name server reachable (${failures.join('; ')})`, { cause: last });
  }

  private adopt(target: string, addr: string, socket: Socket, handlers: ConnectionHandlers): TcpConnection {
    const conn: TcpConnection = new TcpConnection(
      target,
      addr,
      socket,
      handlers,
      { maxFrameSize: this.maxFrameSize, maxQueuedBytes: this.maxQueuedBytes, closeGraceMs: this.closeGraceMs },
      () => this.connections.delete(conn),
    );
    this.connections.add(conn);
    return conn;
  }

  private dial(addr: string, signal?: AbortSignal): Promise<Socket> {
    const { host, port } = parseHostPort(addr)!;
    return new Promise<Socket>((resolve, reject) => {
      const socket = netConnect({ host, port, noDelay: this.noDelay });
      let settled = false;
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.dials.delete(cancel);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      };
      const fail = (err: Error) => {
        if (settled) return;
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onConnect = () => {
        if (settled) return;
        cleanup();
        socket.setNoDelay(this.noDelay);
        resolve(socket);
      };
      const onError = (e: Error) => fail(new RemotingConnectError(addr, e.message, { cause: e }));
      const onAbort = () => fail(new AbortError(`connect to ${addr} aborted`, { cause: signal?.reason }));
      const cancel = () => fail(new RemotingConnectError(addr, 'the transport was closed while connecting'));
      const timer = setTimeout(
        () => fail(new RemotingConnectError(addr, `connect timed out after ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dials.add(cancel);
    });
  }
}
