// Who is asking: JWT (HS256 secret, or an RS256 / ES256 public key) or static development tokens.
// A principal carries the topic patterns its token allows (glob: `*` any run of characters, `?` one).
import { createHash, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { jwtVerify, errors as joseErrors } from 'jose';
import { GROUP_MAX_LENGTH, TOPIC_MAX_LENGTH } from '@rocketmq-edge/core/internal';
import { globMatch, isValidTopic, topicPatternsProblem } from './topics.js';

export interface JwtAuthOptions {
  /** HS256 shared secret. */
  secret?: string | Uint8Array;
  /** RS256 or ES256 verification key: KeyObject, PEM (SPKI) text, or a JWK object. */
  publicKey?: KeyObject | string | Record<string, unknown>;
  issuer?: string | string[];
  audience?: string | string[];
  /** Allowed clock skew in seconds (default 5); a session also ends this long after the token's exp. */
  clockToleranceSec?: number;
  /** Accept tokens without an "exp" claim (default false: such a token would be valid forever). */
  allowNoExpiry?: boolean;
}

/**
 * What a token allows. `topics`: topic patterns it may publish to (RocketMQ ACL's PUB). Reading is
 * separate (SUB): `subscribe` names the topics it may consume and `consumerGroups` the groups it
 * may consume as; both or neither. A read-only token has `topics: []`.
 */
export interface StaticTokenGrant { sub: string; topics: string[]; subscribe?: string[]; consumerGroups?: string[] }

export interface AuthOptions {
  /** One JWT issuer, or several (e.g. the operator's and a development one): a token may verify with any. */
  jwt?: JwtAuthOptions | readonly JwtAuthOptions[];
  /** Development only: fixed tokens and what they may do. */
  staticTokens?: Record<string, StaticTokenGrant>;
}

export interface Principal {
  sub: string;
  topics: readonly string[];
  /** Topic patterns this token may read (empty: none). */
  subscribe: readonly string[];
  /** Consumer-group patterns this token may consume as (empty: none). */
  consumerGroups: readonly string[];
  /**
   * When the session must end, in ms since epoch: the token's exp plus the clock tolerance, the
   * moment verify starts refusing the same token. Absent for tokens that do not expire.
   */
  expiresAt?: number;
  mayUseTopic(topic: string): boolean;
  mayReadTopic(topic: string): boolean;
  mayUseGroup(group: string): boolean;
}

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(message: string, readonly reason: 'missing' | 'invalid' | 'expired' | 'claims') {
    super(message);
  }
}

/**
 * `orders-*` → /^orders\-.*$/ ; everything but `*` and `?` is literal. Kept for callers that want a
 * RegExp; the gateway matches with globMatch, which cannot backtrack exponentially.
 */
export function topicPattern(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(re + '$', 's');
}

/** Distinct topics a principal remembers the answer for; keys are valid topics, so at most 127 characters each. */
const MAX_CACHED_TOPICS = 1000;

/** A matcher over glob patterns that remembers its answers (names are valid topics or groups, so short). */
function matcher(patterns: readonly string[], valid: (name: string) => boolean): (name: string) => boolean {
  const cache = new Map<string, boolean>();
  return (name) => {
    // Checked before the cache: hashing or keeping a megabyte "topic" is already too much.
    if (name.length > TOPIC_MAX_LENGTH || patterns.length === 0) return false;
    let ok = cache.get(name);
    if (ok === undefined) {
      ok = valid(name) && patterns.some((p) => globMatch(p, name));
      if (cache.size < MAX_CACHED_TOPICS) cache.set(name, ok);
    }
    return ok;
  };
}

const GROUP_NAME = new RegExp(`^[%|\\w-]{1,${GROUP_MAX_LENGTH}}$`);

export function makePrincipal(
  sub: string,
  topics: readonly string[],
  expiresAt?: number,
  read: { subscribe?: readonly string[]; consumerGroups?: readonly string[] } = {},
): Principal {
  const subscribe = read.subscribe ?? [];
  const consumerGroups = read.consumerGroups ?? [];
  return {
    sub,
    topics,
    subscribe,
    consumerGroups,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    mayUseTopic: matcher(topics, isValidTopic),
    mayReadTopic: matcher(subscribe, isValidTopic),
    mayUseGroup: matcher(consumerGroups, (g) => GROUP_NAME.test(g)),
  };
}

/** Why a grant's claims cannot be used, or undefined: "topics" (may be empty when reading), "subscribe" with "consumerGroups". */
export function grantProblem(g: { topics?: unknown; subscribe?: unknown; consumerGroups?: unknown }): string | undefined {
  const reads = g.subscribe !== undefined || g.consumerGroups !== undefined;
  if (reads && (g.subscribe === undefined || g.consumerGroups === undefined)) {
    return 'token has "subscribe" or "consumerGroups" without the other: a consumer needs both (topics it reads, groups it reads as)';
  }
  return topicPatternsProblem(reads && g.topics === undefined ? [] : g.topics, 'topics', reads)
    ?? (reads ? topicPatternsProblem(g.subscribe, 'subscribe') ?? topicPatternsProblem(g.consumerGroups, 'consumerGroups') : undefined);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** One configured JWT issuer: its keys (HS256 secret, public key) and the checks its tokens get. */
interface JwtIssuer {
  keys: [KeyObject, string[]][];
  checks: { issuer?: string | string[]; audience?: string | string[]; clockTolerance: number };
  allowNoExpiry: boolean;
}

export class Authenticator {
  private readonly statics = new Map<string, StaticTokenGrant>();
  private readonly issuers: JwtIssuer[] = [];

  constructor(opts: AuthOptions = {}) {
    for (const [token, grant] of Object.entries(opts.staticTokens ?? {})) {
      if (!token) continue;
      const problem = grantProblem(grant);
      if (problem) throw new Error(`auth.staticTokens: the grant of "${grant.sub}": ${problem}`);
      this.statics.set(sha256(token), grant);
    }
    const jwts = opts.jwt === undefined ? [] : Array.isArray(opts.jwt) ? opts.jwt : [opts.jwt as JwtAuthOptions];
    for (const jwt of jwts) {
      const keys: [KeyObject, string[]][] = [];
      if (jwt.secret !== undefined) {
        const bytes = typeof jwt.secret === 'string' ? new TextEncoder().encode(jwt.secret) : jwt.secret;
        if (bytes.length < 32) throw new Error('auth.jwt.secret must be at least 32 bytes (HS256)');
        keys.push([createSecretKey(bytes), ['HS256']]);
      }
      if (jwt.publicKey !== undefined) {
        const k = jwt.publicKey;
        const key = typeof k === 'string'
          ? createPublicKey(k)
          : isKeyObject(k) ? k : createPublicKey({ key: k as never, format: 'jwk' });
        const type = key.asymmetricKeyType;
        if (type === 'rsa' || type === 'rsa-pss') keys.push([key, ['RS256']]);
        else if (type === 'ec') keys.push([key, ['ES256']]);
        else throw new Error(`auth.jwt.publicKey of type ${type} is not supported (RS256 or ES256)`);
      }
      if (keys.length === 0) continue;
      this.issuers.push({
        keys,
        checks: {
          ...(jwt.issuer !== undefined ? { issuer: jwt.issuer } : {}),
          ...(jwt.audience !== undefined ? { audience: jwt.audience } : {}),
          clockTolerance: jwt.clockToleranceSec ?? 5,
        },
        allowNoExpiry: jwt.allowNoExpiry ?? false,
      });
    }
  }

  /** True when at least one way to authenticate is configured (deny by default otherwise). */
  get configured(): boolean {
    return this.statics.size > 0 || this.issuers.length > 0;
  }

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthError('no token: this gateway requires one (subprotocol "bearer.<token>" or an auth control message)', 'missing');
    const grant = this.statics.get(sha256(token));
    if (grant) return makePrincipal(grant.sub, grant.topics ?? [], undefined, grant);
    if (this.issuers.length === 0) throw new AuthError('unknown token', 'invalid');
    if (token.split('.').length !== 3) throw new AuthError('unknown token (not a static token, not a JWT)', 'invalid');
    let payload: Record<string, unknown> | undefined;
    let by: JwtIssuer | undefined;
    let lastErr: unknown;
    verifying: for (const issuer of this.issuers) {
      for (const [key, algs] of issuer.keys) {
        try {
          payload = (await jwtVerify(token, key, { ...issuer.checks, algorithms: algs })).payload as Record<string, unknown>;
          by = issuer;
          break verifying;
        } catch (e) {
          lastErr = e;
          // jose checks claims only once the signature verified: this key is the token's key.
          if (e instanceof joseErrors.JWTExpired) throw new AuthError('token expired: get a fresh token', 'expired');
          if (e instanceof joseErrors.JWTClaimValidationFailed) throw new AuthError(`token claim "${e.claim}" rejected: ${e.reason}`, 'claims');
        }
      }
    }
    if (!payload || !by) {
      const msg = lastErr instanceof joseErrors.JOSEAlgNotAllowed ? 'token algorithm not allowed' : 'token signature does not verify';
      throw new AuthError(msg, 'invalid');
    }
    const problem = grantProblem(payload);
    if (problem) throw new AuthError(problem, 'claims');
    if (typeof payload.exp !== 'number' && !by.allowNoExpiry) {
      throw new AuthError('token has no "exp" claim: tokens must expire (unless the gateway runs with --jwt-allow-no-expiry)', 'claims');
    }
    const sub = typeof payload.sub === 'string' ? payload.sub : 'anonymous';
    // The session ends when verify would start refusing this token: exp + tolerance.
    const expiresAt = typeof payload.exp === 'number' ? (payload.exp + by.checks.clockTolerance) * 1000 : undefined;
    const read = payload.subscribe !== undefined ? { subscribe: payload.subscribe as string[], consumerGroups: payload.consumerGroups as string[] } : {};
    return makePrincipal(sub, (payload.topics as string[] | undefined) ?? [], expiresAt, read);
  }
}

function isKeyObject(k: unknown): k is KeyObject {
  return typeof k === 'object' && k !== null && 'asymmetricKeyType' in k && typeof (k as KeyObject).export === 'function';
}
