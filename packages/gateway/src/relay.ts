// Upstream side of the relay: shared TCP connections (transport-tcp's, the repository's one TCP
// client) to the name server and the brokers, each with a map upstream opaque → the client
// request it carries. Every request holds its slot until its deadline at the latest.
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { RemotingTooMuchRequestError, decodeCommand, encodeCommand, isResponse, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { TcpTransport, type TcpConnection } from '@rocketmq-edge/transport-tcp';

/** What a relayed request's answer or failure is handed to (a client session). */
export interface RelayOwner {
  /** `frame`: the response as received (decoded once into `response`). */
  deliver(entry: RelayEntry, response: RemotingCommand, frame: Uint8Array): void;
  fail(entry: RelayEntry, remark: string): void;
}

export interface RelayEntry {
  owner: RelayOwner;
  clientOpaque: number;
  /** "namesrv" or the broker alias the client used (for remarks: never the address). */
  target: string;
  code: number;
  startedAt: number;
  /** performance.now() after which nobody waits for the answer any more. */
  deadline: number;
  link?: Link;
  upstreamOpaque?: number;
}

export interface RelayOptions {
  connectTimeoutMs: number;
  maxFrameSize: number;
  maxQueuedBytes: number;
  /**
   * After a broker connection fails to open, requests for that broker fail at once (so producers
   * retry another broker within their budget) until the next attempt: first after `minMs`,
   * doubling up to `maxMs` while attempts keep failing.
   */
  brokerBackoff?: { minMs: number; maxMs: number };
  onConnectionCount?: (n: number) => void;
  log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/**
 * A client session's own upstream connections, one per broker address. A broker keys a consumer
 * group's members by connection (4.9.8 ConsumerGroupInfo.channelInfoTable), so consumers that
 * shared one connection would collapse into one member; requests that register, read or leave as
 * a consumer go over the session's own connection, which closes with the session.
 */
export interface LinkScope {
  readonly links: Map<string, Link>;
  /** A request the broker sent on one of these connections (e.g. NOTIFY_CONSUMER_IDS_CHANGED); `key`: its address. */
  onRequest(key: string, cmd: RemotingCommand, frame: Uint8Array, link: Link): void;
}

/** One upstream connection (opening or open) and the requests it carries. */
export class Link {
  readonly pending = new Map<number, RelayEntry>();
  /** Requests written while the connection opens. */
  queued: [RemotingCommand, RelayEntry | undefined][] = [];
  conn: TcpConnection | undefined;
  closed = false;
  private nextOpaque = 1;

  constructor(readonly key: string, readonly scope?: LinkScope) {}

  /** Registers a two-way request under a fresh upstream opaque (skipping opaques in use). */
  register(cmd: RemotingCommand, entry: RelayEntry | undefined): void {
    let o = this.nextOpaque;
    while (this.pending.has(o)) o = o >= 0x7fffffff ? 1 : o + 1;
    this.nextOpaque = o >= 0x7fffffff ? 1 : o + 1;
    cmd.opaque = o;
    if (entry) {
      entry.link = this;
      entry.upstreamOpaque = o;
      this.pending.set(o, entry);
    }
  }
}

/** An error's text without any network address (remarks reach clients; addresses stay inside). */
export function withoutAddresses(text: string): string {
  return text.replace(/\[?[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*\]?:\d+/g, '').replace(/cannot reach\s*:\s*/, '').replace(/\s+/g, ' ').trim();
}

export class Relay {
  private readonly transport: TcpTransport;
  private readonly links = new Map<string, Link>();
  /** Sessions' own connections (LinkScope), counted apart. */
  private readonly scopes = new Set<LinkScope>();
  private dedicated = 0;
  /** Brokers whose last connection attempt failed: no new attempt before `until`. */
  private readonly down = new Map<string, { until: number; delayMs: number; reason: string }>();
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(namesrvAddr: string, private readonly opts: RelayOptions) {
    this.transport = new TcpTransport({
      namesrvAddr,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxFrameSize: opts.maxFrameSize,
      maxQueuedBytes: opts.maxQueuedBytes,
    });
    this.sweeper = setInterval(() => this.sweep(performance.now()), 100);
    this.sweeper.unref();
  }

  /** Requests awaiting an upstream answer, all connections. */
  get pendingCount(): number {
    let n = 0;
    for (const l of this.allLinks()) n += l.pending.size;
    return n;
  }

  get connectionCount(): number {
    return this.links.size + this.dedicated;
  }

  /** Sessions' own upstream connections (opening or open). */
  get dedicatedCount(): number {
    return this.dedicated;
  }

  private *allLinks(): Iterable<Link> {
    yield* this.links.values();
    for (const s of this.scopes) yield* s.links.values();
  }

  /** Closes a session's own connections (the session is gone): the broker drops its members and parked pulls. */
  closeScope(scope: LinkScope): void {
    for (const l of [...scope.links.values()]) this.fail(l, 'the client session ended');
    this.scopes.delete(scope);
  }

  /**
   * Writes a request to the name server (NAMESRV_TARGET) or a broker "host:port"; for two-way
   * requests `entry` is answered through its owner exactly once (deliver, or fail). Throws only
   * when a broker is known to be down (the caller answers at once).
   */
  send(key: string, cmd: RemotingCommand, entry: RelayEntry | undefined, scope?: LinkScope): void {
    let link = (scope?.links ?? this.links).get(key);
    if (!link) {
      const down = key === NAMESRV_TARGET ? undefined : this.down.get(key);
      if (down && performance.now() < down.until) {
        // One dial per backoff window, not one per request: a dead broker host would otherwise
        // hold every request for a whole connect timeout.
        throw new Error(`${down.reason}; next connection attempt in ${Math.ceil(down.until - performance.now())} ms`);
      }
      link = this.open(key, scope);
    }
    link.register(cmd, entry);
    if (link.conn) this.write(link, cmd, entry);
    else link.queued.push([cmd, entry]);
  }

  /** Answers a request the broker sent on `link` (a response keeps the broker's opaque); lost if the link is gone. */
  answer(link: Link, response: RemotingCommand): void {
    if (link.closed || !link.conn) return;
    try {
      link.conn.send(encodeCommand(response, 4, Buffer.allocUnsafe), 4);
    } catch {
      // the connection is failing: the broker stops waiting when it closes
    }
  }

  /** Forgets a request (its client is gone or gave up): a late answer is discarded. */
  drop(entry: RelayEntry): void {
    const link = entry.link;
    if (link && entry.upstreamOpaque !== undefined && link.pending.get(entry.upstreamOpaque) === entry) link.pending.delete(entry.upstreamOpaque);
  }

  /** True when a name server connection is (or can be) established. */
  async namesrvReachable(): Promise<boolean> {
    if (this.closed) return false;
    const link = this.links.get(NAMESRV_TARGET);
    if (link?.conn) return true;
    try {
      const c = await this.transport.connect(NAMESRV_TARGET, { onFrame() {}, onClose() {} });
      c.close();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const l of [...this.allLinks()]) this.fail(l, 'the gateway is closing');
    await this.transport.close();
  }

  /** Fails requests whose deadline has passed, freeing their clients' in-flight slots. */
  sweep(now: number): void {
    for (const link of this.allLinks()) {
      for (const [op, e] of link.pending) {
        if (e.deadline > now) continue;
        link.pending.delete(op);
        e.owner.fail(e, `upstream ${e.target === NAMESRV_TARGET ? 'name server' : `broker ${e.target}`} did not answer within the request's budget`);
      }
    }
  }

  private open(key: string, scope?: LinkScope): Link {
    const link = new Link(key, scope);
    if (scope) {
      scope.links.set(key, link);
      this.scopes.add(scope);
      this.dedicated++;
    } else this.links.set(key, link);
    this.counted();
    this.transport.connect(key, { onFrame: (f) => this.onFrame(link, f), onClose: (err) => this.onClose(link, err) }).then(
      (conn) => {
        if (link.closed) return conn.close();
        this.down.delete(key);
        link.conn = conn;
        const q = link.queued;
        link.queued = [];
        for (const [cmd, entry] of q) this.write(link, cmd, entry);
      },
      (err: Error) => {
        const reason = withoutAddresses(err.message);
        if (key !== NAMESRV_TARGET && !this.closed) {
          const { minMs, maxMs } = this.opts.brokerBackoff ?? { minMs: 250, maxMs: 5000 };
          const delayMs = Math.min(maxMs, Math.max(minMs, (this.down.get(key)?.delayMs ?? 0) * 2));
          this.down.set(key, { until: performance.now() + delayMs, delayMs, reason: `could not connect: ${reason}` });
        }
        this.fail(link, reason);
      },
    );
    return link;
  }

  private write(link: Link, cmd: RemotingCommand, entry: RelayEntry | undefined): void {
    try {
      // Headroom for transport-tcp's length prefix: the frame is encoded once, never copied.
      link.conn!.send(encodeCommand(cmd, 4, Buffer.allocUnsafe), 4);
    } catch (e) {
      if (entry) {
        this.drop(entry);
        const why = e instanceof RemotingTooMuchRequestError ? 'congested (too many bytes waiting to be written)' : withoutAddresses((e as Error).message);
        entry.owner.fail(entry, `upstream ${entry.target === NAMESRV_TARGET ? 'name server' : `broker ${entry.target}`} unavailable: ${why}`);
      }
    }
  }

  private onFrame(link: Link, frame: Uint8Array): void {
    let cmd: RemotingCommand;
    try {
      cmd = decodeCommand(frame, { maxFrameSize: this.opts.maxFrameSize });
    } catch (e) {
      this.opts.log?.warn({ upstream: link.key, err: (e as Error).message }, 'undecodable frame from upstream: closing the connection');
      link.conn?.fail(e as Error);
      return;
    }
    if (!isResponse(cmd)) {
      // Broker-initiated requests reach a client only over its own connection (whose client is known);
      // on shared ones (transaction check-back to producers) they are not relayed.
      if (link.scope && !link.closed) link.scope.onRequest(link.key, cmd, frame, link);
      else this.opts.log?.debug({ upstream: link.key, code: cmd.code }, 'ignoring upstream-initiated request');
      return;
    }
    const entry = link.pending.get(cmd.opaque);
    if (!entry) return; // a late answer for a request that was dropped or timed out
    link.pending.delete(cmd.opaque);
    entry.owner.deliver(entry, cmd, frame);
  }

  private onClose(link: Link, err?: Error): void {
    this.fail(link, err ? withoutAddresses(err.message) : 'connection closed');
  }

  /** The link is gone: every request on it fails now (producers retry elsewhere within their budget). */
  private fail(link: Link, reason: string): void {
    if (link.closed) return;
    link.closed = true;
    const table = link.scope?.links ?? this.links;
    if (table.get(link.key) === link) {
      table.delete(link.key);
      if (link.scope) this.dedicated--;
    }
    this.counted();
    // Queued two-way requests are registered in pending too (register runs before the queue).
    const entries = [...link.pending.values()];
    link.pending.clear();
    link.queued = [];
    link.conn?.close();
    if (entries.length && !this.closed) this.opts.log?.warn({ upstream: link.key, reason, failed: entries.length }, 'upstream connection lost');
    // The client sees this remark as the cause of its error: advice only where it applies.
    const what = link.key === NAMESRV_TARGET ? 'name server' : undefined;
    for (const e of entries) {
      e.owner.fail(e, `upstream ${what ?? `broker ${e.target}`} unavailable (${reason})${what ? '' : '; retry another broker'}`);
    }
  }

  private counted(): void {
    this.opts.onConnectionCount?.(this.connectionCount);
  }
}
