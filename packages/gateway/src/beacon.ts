// Beacon tokens: what a page puts in the body of navigator.sendBeacon (which cannot set headers).
// Short-lived (at most 10 minutes, never past the token that minted them), publish-only, for the
// topics of the token that minted them or fewer, and signed with a key of the gateway's own: the
// operator's issuers never sign one, and the Authenticator never accepts one, so a beacon body
// that leaks (logs, extensions) carries nothing that opens a WebSocket or mints more tokens.
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { ResponseCode } from '@rocketmq-edge/core/internal';
import { makePrincipal, type Principal } from './auth.js';
import { HttpError, badRequest } from './http-error.js';
import { isValidTopic, topicPatternsProblem } from './topics.js';

export const BEACON_AUDIENCE = 'rocketmq-edge:beacon';
export const BEACON_TYP = 'rocketmq-edge-beacon+jwt';
/** The longest a beacon token lives. */
export const MAX_BEACON_TOKEN_TTL_MS = 10 * 60_000;
const CLOCK_TOLERANCE_SEC = 5;

export interface BeaconTokenOptions {
  /** HS256 key (≥ 32 bytes), shared by the gateways behind one load balancer; default: random per process. */
  secret?: string | Uint8Array;
  /** Lifetime of a minted token (default and maximum 10 minutes). */
  ttlMs?: number;
}

const unauthorized = (remark: string) =>
  new HttpError(401, ResponseCode.NO_PERMISSION, remark, 'unauthorized', { 'www-authenticate': 'Bearer error="invalid_token"' });

export class BeaconTokens {
  private readonly key: KeyObject;
  readonly ttlMs: number;

  constructor(opts: BeaconTokenOptions = {}) {
    const secret = typeof opts.secret === 'string' ? new TextEncoder().encode(opts.secret) : opts.secret ?? randomBytes(32);
    if (secret.length < 32) throw new Error('the beacon token secret must be at least 32 bytes (HS256)');
    this.key = createSecretKey(secret);
    this.ttlMs = opts.ttlMs ?? MAX_BEACON_TOKEN_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1000 || this.ttlMs > MAX_BEACON_TOKEN_TTL_MS) {
      throw new RangeError(`beacon token lifetime must be 1000..${MAX_BEACON_TOKEN_TTL_MS} ms, got ${opts.ttlMs}`);
    }
  }

  /**
   * A beacon token for `p`, for the topics `request.topics` names (each one of p's patterns, or a
   * topic p may use) or, without it, all of p's. Expires after ttlMs, never after p's own token.
   */
  async mint(p: Principal, request: unknown): Promise<{ token: string; expiresAt: number }> {
    const topics = narrowed(p, request);
    const now = Date.now();
    const expiresAt = Math.min(now + this.ttlMs, p.expiresAt ?? Infinity);
    const token = await new SignJWT({ topics })
      .setProtectedHeader({ alg: 'HS256', typ: BEACON_TYP })
      .setSubject(p.sub)
      .setAudience(BEACON_AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.key);
    return { token, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
  }

  /** The principal of a beacon token; an HttpError 401 for anything else (a long-lived token included). */
  async verify(token: unknown): Promise<Principal> {
    if (typeof token !== 'string' || token.length === 0) throw unauthorized('no beacon token: put {"token": "<beacon token>"} in the body (POST /v1/beacon-tokens mints one)');
    if (token.length > 8192 || token.split('.').length !== 3) throw unauthorized('not a beacon token: mint one with POST /v1/beacon-tokens');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        typ: BEACON_TYP,
        audience: BEACON_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SEC,
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthorized('beacon token expired: mint a fresh one with POST /v1/beacon-tokens');
      // A long-lived token of the operator's issuer fails here too: it is not signed with the gateway's beacon key.
      throw unauthorized('not a beacon token of this gateway (only tokens from POST /v1/beacon-tokens are accepted here)');
    }
    if ((payload.exp as number) - (payload.iat as number) > MAX_BEACON_TOKEN_TTL_MS / 1000) throw unauthorized('beacon token lives too long');
    if (topicPatternsProblem(payload.topics)) throw unauthorized('beacon token has no valid "topics" claim');
    return makePrincipal(payload.sub as string, payload.topics as string[], ((payload.exp as number) + CLOCK_TOLERANCE_SEC) * 1000);
  }
}

/** The topics a beacon token may carry: what was asked for, checked against what `p` holds. */
function narrowed(p: Principal, request: unknown): string[] {
  if (request === undefined) return [...p.topics];
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw badRequest('the body must be empty or {"topics":["…"]}');
  const extra = Object.keys(request).find((k) => k !== 'topics');
  if (extra !== undefined) throw badRequest(`unknown field ${JSON.stringify(extra.slice(0, 64))} (known: topics)`);
  const asked = (request as { topics?: unknown }).topics;
  if (asked === undefined) return [...p.topics];
  const problem = topicPatternsProblem(asked);
  if (problem) throw badRequest(`"topics": ${problem}`);
  for (const t of asked as string[]) {
    // A pattern of the caller's own, or one topic it may use: never a wider pattern.
    if (p.topics.includes(t) || (isValidTopic(t) && p.mayUseTopic(t))) continue;
    throw new HttpError(403, ResponseCode.NO_PERMISSION,
      `topic ${JSON.stringify(t)} is not within the token's topics (${p.topics.join(', ')}); ask for those topics or patterns, or a subset`, 'topic_not_allowed');
  }
  return [...new Set(asked as string[])];
}
