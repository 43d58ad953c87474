// Request-reply through the gateway (protocol 7.2): the correlation ids a session's requests
// carried, so that a broker's PUSH_REPLY_MESSAGE_TO_CLIENT reaches the requester only, and the
// pushes relayed to the client and not yet answered, so that its answer goes back to the broker
// under the broker's opaque (and the broker is told when the client does not answer).

/** Requests awaiting a reply, per session; a request beyond it is refused (no reply is ever lost silently). */
export const MAX_PENDING_REQUESTS = 1024;
/** Reply pushes relayed to one client and not answered yet; beyond it the broker is answered SYSTEM_ERROR at once. */
export const MAX_PENDING_PUSHES = 64;
/** A request's correlation id is kept for its TTL property, at most this long. */
export const MAX_REQUEST_TTL_MS = 10 * 60_000;
/** Java's default request timeout, for a request without a TTL property. */
export const DEFAULT_REQUEST_TTL_MS = 3000;

export interface PendingPush<L> { link: L; brokerOpaque: number; timer: ReturnType<typeof setTimeout> }

export class ReplyRouting<L> {
  /** Correlation id → when it expires (performance.now()). */
  private readonly requests = new Map<string, number>();
  private readonly pushes = new Map<number, PendingPush<L>>();
  /** Last opaque the gateway gave a push to this client (they count up from 1). */
  private lastOpaque = 0;

  constructor(
    private readonly maxRequests = MAX_PENDING_REQUESTS,
    private readonly maxPushes = MAX_PENDING_PUSHES,
  ) {}

  /** Remembers a request's correlation id; false when the session has too many requests waiting. */
  expect(correlationId: string, ttl: string | undefined, now = performance.now()): boolean {
    if (!this.requests.has(correlationId) && this.requests.size >= this.maxRequests) {
      for (const [id, until] of this.requests) if (until <= now) this.requests.delete(id);
      if (this.requests.size >= this.maxRequests) return false;
    }
    const ms = ttl !== undefined && /^\d{1,15}$/.test(ttl) ? Math.min(Number(ttl), MAX_REQUEST_TTL_MS) : DEFAULT_REQUEST_TTL_MS;
    this.requests.set(correlationId, now + ms);
    return true;
  }

  /** The request was not sent after all. */
  forget(correlationId: string): void {
    this.requests.delete(correlationId);
  }

  /** Whether a reply with this correlation id is awaited; the first reply uses it up. */
  takeReply(correlationId: string, now = performance.now()): boolean {
    const until = this.requests.get(correlationId);
    if (until === undefined) return false;
    this.requests.delete(correlationId);
    return until > now;
  }

  get pendingRequests(): number {
    return this.requests.size;
  }

  get pendingPushes(): number {
    return this.pushes.size;
  }

  /**
   * Holds a push for the client's answer under a fresh opaque; undefined when too many are pending.
   * `onTimeout` runs when the client has not answered within `timeoutMs`.
   */
  hold(link: L, brokerOpaque: number, timeoutMs: number, onTimeout: (p: PendingPush<L>) => void): number | undefined {
    if (this.pushes.size >= this.maxPushes) return undefined;
    const opaque = this.lastOpaque = this.lastOpaque >= 0x7fffffff ? 1 : this.lastOpaque + 1;
    const p: PendingPush<L> = {
      link, brokerOpaque,
      timer: setTimeout(() => { if (this.pushes.delete(opaque)) onTimeout(p); }, timeoutMs),
    };
    this.pushes.set(opaque, p);
    return opaque;
  }

  /**
   * The push a client's answer with this opaque belongs to: the push, `late` for an opaque this
   * gateway gave out whose push is already answered or timed out, `unknown` for one it never gave.
   */
  answered(opaque: number): PendingPush<L> | 'late' | 'unknown' {
    const p = this.pushes.get(opaque);
    if (p) {
      this.pushes.delete(opaque);
      clearTimeout(p.timer);
      return p;
    }
    return opaque >= 1 && opaque <= this.lastOpaque ? 'late' : 'unknown';
  }

  /** The session ended: every pending push is handed to `fail` (its broker is told). */
  clear(fail: (p: PendingPush<L>) => void): void {
    for (const p of this.pushes.values()) {
      clearTimeout(p.timer);
      fail(p);
    }
    this.pushes.clear();
    this.requests.clear();
  }
}
