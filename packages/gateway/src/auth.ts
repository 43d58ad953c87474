// Who is asking: JWT (HS256 secret, or an RS256 / ES256 public key) or static development tokens.
// A principal carries the topic patterns its token allows (glob: `*` any run of characters, `?` one).
import { createHash, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { jwtVerify, errors as joseErrors } from 'jose';

export interface JwtAuthOptions {
  /** HS256 shared secret. */
  secret?: string | Uint8Array;
  /** RS256 or ES256 verification key: KeyObject, PEM (SPKI) text, or a JWK object. */
  publicKey?: KeyObject | string | Record<string, unknown>;
  issuer?: string | string[];
  audience?: string | string[];
  /** Allowed clock skew in seconds (default 5). */
  clockToleranceSec?: number;
}

export interface StaticTokenGrant { sub: string; topics: string[] }

export interface AuthOptions {
  jwt?: JwtAuthOptions;
  /** Development only: fixed tokens and what they may do. */
  staticTokens?: Record<string, StaticTokenGrant>;
}

export interface Principal {
  sub: string;
  topics: readonly string[];
  /** Expiry in ms since epoch, if the token has one. */
  expiresAt?: number;
  mayUseTopic(topic: string): boolean;
}

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(message: string, readonly reason: 'missing' | 'invalid' | 'expired' | 'claims') {
    super(message);
  }
}

/** `orders.*` → /^orders\..*$/ ; everything but `*` and `?` is literal. */
export function topicPattern(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(re + '$', 's');
}

export function makePrincipal(sub: string, topics: readonly string[], expiresAt?: number): Principal {
  const res = topics.map(topicPattern);
  const cache = new Map<string, boolean>();
  return {
    sub,
    topics,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    mayUseTopic(topic: string) {
      let ok = cache.get(topic);
      if (ok === undefined) {
        ok = res.some((r) => r.test(topic));
        if (cache.size < 1000) cache.set(topic, ok);
      }
      return ok;
    },
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class Authenticator {
  private readonly statics = new Map<string, StaticTokenGrant>();
  private readonly hsKey: KeyObject | undefined;
  private readonly pubKey: KeyObject | undefined;
  private readonly pubAlgs: string[] = [];

  constructor(private readonly opts: AuthOptions = {}) {
    for (const [token, grant] of Object.entries(opts.staticTokens ?? {})) {
      if (!token) continue;
      this.statics.set(sha256(token), grant);
    }
    const jwt = opts.jwt;
    if (jwt?.secret !== undefined) {
      const bytes = typeof jwt.secret === 'string' ? new TextEncoder().encode(jwt.secret) : jwt.secret;
      if (bytes.length < 32) throw new Error('auth.jwt.secret must be at least 32 bytes (HS256)');
      this.hsKey = createSecretKey(bytes);
    }
    if (jwt?.publicKey !== undefined) {
      const k = jwt.publicKey;
      this.pubKey = typeof k === 'string'
        ? createPublicKey(k)
        : isKeyObject(k) ? k : createPublicKey({ key: k as never, format: 'jwk' });
      const type = this.pubKey.asymmetricKeyType;
      if (type === 'rsa' || type === 'rsa-pss') this.pubAlgs.push('RS256');
      else if (type === 'ec') this.pubAlgs.push('ES256');
      else throw new Error(`auth.jwt.publicKey of type ${type} is not supported (RS256 or ES256)`);
    }
  }

  /** True when at least one way to authenticate is configured (deny by default otherwise). */
  get configured(): boolean {
    return this.statics.size > 0 || this.hsKey !== undefined || this.pubKey !== undefined;
  }

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthError('no token: send it as subprotocol "bearer.<token>" or in an auth control message', 'missing');
    const grant = this.statics.get(sha256(token));
    if (grant) return makePrincipal(grant.sub, grant.topics);
    if (!this.hsKey && !this.pubKey) throw new AuthError('unknown token', 'invalid');
    if (token.split('.').length !== 3) throw new AuthError('unknown token (not a static token, not a JWT)', 'invalid');
    const jwt = this.opts.jwt ?? {};
    const common = {
      ...(jwt.issuer !== undefined ? { issuer: jwt.issuer } : {}),
      ...(jwt.audience !== undefined ? { audience: jwt.audience } : {}),
      clockTolerance: jwt.clockToleranceSec ?? 5,
    };
    let payload: Record<string, unknown> | undefined;
    let lastErr: unknown;
    for (const [key, algs] of [[this.hsKey, ['HS256']], [this.pubKey, this.pubAlgs]] as const) {
      if (!key) continue;
      try {
        payload = (await jwtVerify(token, key, { ...common, algorithms: [...algs] })).payload as Record<string, unknown>;
        break;
      } catch (e) {
        lastErr = e;
        if (e instanceof joseErrors.JWTExpired) throw new AuthError('token expired: get a fresh token', 'expired');
        if (e instanceof joseErrors.JWTClaimValidationFailed) throw new AuthError(`token claim "${e.claim}" rejected: ${e.reason}`, 'claims');
      }
    }
    if (!payload) {
      const msg = lastErr instanceof joseErrors.JOSEAlgNotAllowed ? 'token algorithm not allowed' : 'token signature does not verify';
      throw new AuthError(msg, 'invalid');
    }
    const topics = payload.topics;
    if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new AuthError('token has no "topics" claim (an array of topic patterns such as ["orders.*"])', 'claims');
    }
    const sub = typeof payload.sub === 'string' ? payload.sub : 'anonymous';
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
    return makePrincipal(sub, topics as string[], exp);
  }
}

function isKeyObject(k: unknown): k is KeyObject {
  return typeof k === 'object' && k !== null && 'asymmetricKeyType' in k && typeof (k as KeyObject).export === 'function';
}
