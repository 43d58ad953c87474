// Options of the HTTP publish endpoints: named defaults, validated once (as options.ts does for
// the WebSocket path, whose rate and message limits they default to).
import { MAX_BEACON_TOKEN_TTL_MS } from './beacon.js';
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT } from './options.js';

/** Largest request body: a 4 MiB message and its envelope (JSON, base64 of small messages), as a WebSocket frame. */
export const DEFAULT_HTTP_MAX_BODY_BYTES = DEFAULT_MAX_FRAME_BYTES;
/** Budget of one publish, route lookup and the Producer's retries included (its sendMsgTimeout). */
export const DEFAULT_HTTP_SEND_TIMEOUT_MS = 3000;
/** Publishes awaiting the broker per principal (token subject), as the WebSocket path's per connection. */
export const DEFAULT_HTTP_MAX_IN_FLIGHT_PER_PRINCIPAL = DEFAULT_MAX_IN_FLIGHT;
/** A request whose headers or whole body take longer is answered 408 and closed (slow clients). */
export const DEFAULT_HTTP_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** How long and how many acknowledged message ids are remembered (per gateway process). */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 10 * 60_000;
export const DEFAULT_IDEMPOTENCY_MAX_IDS = 100_000;
export const DEFAULT_HTTP_PRODUCER_GROUP = 'rocketmq-edge-http';
/** How long a browser may cache a CORS preflight answer. */
export const PREFLIGHT_MAX_AGE_S = 600;

export interface HttpPublishOptions {
  /** Serve POST /v1/topics/{topic}/messages, /v1/beacon and /v1/beacon-tokens (default true). */
  enabled?: boolean;
  maxBodyBytes?: number;
  sendTimeoutMs?: number;
  maxInFlightPerPrincipal?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  idempotencyWindowMs?: number;
  idempotencyMaxIds?: number;
  /** Requests per second and burst per principal (default: the WebSocket path's rate per connection). */
  rate?: { perSecond?: number; burst?: number };
  /** HS256 key (≥ 32 bytes) of beacon tokens, the same on every gateway behind one load balancer (default: random per process). */
  beaconSecret?: string;
  /** Lifetime of beacon tokens, at most 10 minutes (the default). */
  beaconTokenTtlMs?: number;
  producerGroup?: string;
}

export interface HttpPublishLimits {
  maxBodyBytes: number;
  sendTimeoutMs: number;
  maxInFlightPerPrincipal: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idempotencyWindowMs: number;
  idempotencyMaxIds: number;
  ratePerSecond: number;
  rateBurst: number;
  beaconTokenTtlMs: number;
}

const LIMITS: Record<keyof HttpPublishLimits, [number | undefined, number]> = {
  maxBodyBytes: [DEFAULT_HTTP_MAX_BODY_BYTES, 1024],
  sendTimeoutMs: [DEFAULT_HTTP_SEND_TIMEOUT_MS, 1],
  maxInFlightPerPrincipal: [DEFAULT_HTTP_MAX_IN_FLIGHT_PER_PRINCIPAL, 1],
  headersTimeoutMs: [DEFAULT_HTTP_HEADERS_TIMEOUT_MS, 1],
  requestTimeoutMs: [DEFAULT_HTTP_REQUEST_TIMEOUT_MS, 1],
  idempotencyWindowMs: [DEFAULT_IDEMPOTENCY_WINDOW_MS, 1],
  idempotencyMaxIds: [DEFAULT_IDEMPOTENCY_MAX_IDS, 1],
  ratePerSecond: [undefined, 1],
  rateBurst: [undefined, 1],
  beaconTokenTtlMs: [MAX_BEACON_TOKEN_TTL_MS, 1000],
};

/** Limits with every default filled in (the rate from the WebSocket path's); a RangeError naming the option otherwise. */
export function resolveHttpLimits(o: HttpPublishOptions, wsRate: { perSecond: number; burst: number }): HttpPublishLimits {
  const given: Partial<Record<keyof HttpPublishLimits, number | undefined>> = {
    ...o, ratePerSecond: o.rate?.perSecond ?? wsRate.perSecond, rateBurst: o.rate?.burst ?? wsRate.burst,
  };
  const out = {} as HttpPublishLimits;
  for (const k of Object.keys(LIMITS) as (keyof HttpPublishLimits)[]) {
    const [def, min] = LIMITS[k];
    const v = given[k] ?? def;
    if (!Number.isSafeInteger(v) || v! < min) throw new RangeError(`gateway option http.${k} must be a whole number ≥ ${min}, got ${v}`);
    out[k] = v!;
  }
  if (out.headersTimeoutMs > out.requestTimeoutMs) {
    throw new RangeError(`gateway option http.headersTimeoutMs (${out.headersTimeoutMs}) must not exceed http.requestTimeoutMs (${out.requestTimeoutMs})`);
  }
  if (out.beaconTokenTtlMs > MAX_BEACON_TOKEN_TTL_MS) throw new RangeError(`gateway option http.beaconTokenTtlMs must be at most ${MAX_BEACON_TOKEN_TTL_MS}`);
  return out;
}
