// Bounds of HTTP publishes per principal (token subject), the HTTP path's counterpart of a
// connection's: a token bucket (rate-limit.ts) and publishes awaiting the broker, both per
// principal, plus the gateway-wide fair share of upstream requests (admission.ts), shared with
// the WebSocket sessions so that neither path can queue the brokers full in front of the other.
import { ResponseCode } from '@rocketmq-edge/core/internal';
import type { Admission } from './admission.js';
import { HttpError } from './http-error.js';
import { TokenBucket } from './rate-limit.js';

/** Principals whose state is kept; past it the least recently seen is forgotten (its bucket starts full again). */
const MAX_PRINCIPALS = 10_000;

interface PrincipalState { bucket: TokenBucket; inFlight: number }

// At least 1 request per second is the smallest rate: a token is back within a second.
const busy = (remark: string, reason: 'rate_limit' | 'in_flight') =>
  new HttpError(429, ResponseCode.SYSTEM_BUSY, remark, reason, { 'retry-after': '1' });

export class PrincipalLimits {
  private readonly states = new Map<string, PrincipalState>();

  constructor(
    private readonly rate: { perSecond: number; burst: number },
    private readonly maxInFlight: number,
    private readonly admission: Admission,
  ) {}

  private state(sub: string): PrincipalState {
    let s = this.states.get(sub);
    if (s) this.states.delete(sub);
    else {
      s = { bucket: new TokenBucket(this.rate.perSecond, this.rate.burst), inFlight: 0 };
      if (this.states.size >= MAX_PRINCIPALS) this.states.delete(this.states.keys().next().value!);
    }
    this.states.set(sub, s); // most recently seen last
    return s;
  }

  /** One request of `sub`: throws HttpError 429 past the rate. */
  request(sub: string): void {
    if (!this.state(sub).bucket.take()) {
      throw busy(`[RATE_LIMIT] more than ${this.rate.perSecond} requests per second (burst ${this.rate.burst}) for this token; retry after a second`, 'rate_limit');
    }
  }

  /** A publish of `sub` about to go upstream; returns its release. Throws HttpError 429 past the in-flight bounds. */
  enter(sub: string): () => void {
    const s = this.state(sub);
    if (s.inFlight >= this.maxInFlight) {
      throw busy(`[TOO_MANY_REQUESTS] ${s.inFlight} publishes of this token await the broker; at most ${this.maxInFlight}`, 'in_flight');
    }
    if (!this.admission.admits(s.inFlight)) {
      throw busy(`[TOO_MANY_REQUESTS] the gateway is at its limit of requests awaiting the brokers and this token has its fair share (${s.inFlight}); retry shortly`, 'in_flight');
    }
    this.admission.added(++s.inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.admission.removed(--s.inFlight);
    };
  }
}
