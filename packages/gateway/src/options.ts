// Gateway limits: named defaults, validated once (as core's producer options are). The CLI help
// and the README quote these constants, so a default lives in exactly one place.
import { DEFAULT_MAX_BATCH_MESSAGES } from '@rocketmq-edge/core/internal';
import { WIRE_VERSION } from '@rocketmq-edge/transport-ws/envelope';

/** Largest remoting frame relayed (a 4 MiB message plus headers). */
export const DEFAULT_MAX_FRAME_BYTES = Math.floor(4.5 * 1024 * 1024);
/** Requests awaiting an upstream answer, per client connection. */
export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** Token bucket per connection: sustained requests (and control messages) per second, and burst. */
export const DEFAULT_RATE_PER_SECOND = 2000;
export const DEFAULT_RATE_BURST = 4000;
/** How long a connection may stay unauthenticated. */
export const DEFAULT_AUTH_TIMEOUT_MS = 5000;
/** Messages a connection may send before it has authenticated (the auth message and a few pings). */
export const DEFAULT_PRE_AUTH_MESSAGES = 8;
/**
 * Bytes waiting to be written to one client before the gateway stops reading from it (a client
 * that does not read cannot make the gateway buffer more), and the bound at which it is closed
 * with 4410 (responses already owed to it would not fit).
 */
export const DEFAULT_OUTBOUND_PAUSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;
/** A client the gateway stopped reading (see above) that has not drained within this is closed with 4410. */
export const DEFAULT_SLOW_READER_TIMEOUT_MS = 10_000;
/** Requests in flight through the whole gateway before each connection is held to its fair share (admission.ts). */
export const DEFAULT_MAX_UPSTREAM_IN_FLIGHT = 4096;
/** Records in one SEND_BATCH_MESSAGE (core's number, which the embedded broker uses too). */
export { DEFAULT_MAX_BATCH_MESSAGES };
/**
 * How long an upstream request may hold its in-flight slot: the client's own budget when its
 * envelope carries one (wire version 2), else this default; never longer than the maximum.
 */
export const DEFAULT_REQUEST_BUDGET_MS = 10_000;
export const DEFAULT_MAX_REQUEST_BUDGET_MS = 60_000;
/**
 * Clients' own upstream connections, gateway-wide: each consuming client session has its own
 * connection to each broker it reads from (relay.ts LinkScope), and so has each producer session
 * that needs broker callbacks (callbacks.ts). Beyond this, requests that would open another are
 * refused with SYSTEM_BUSY.
 */
export const DEFAULT_MAX_CONSUMER_LINKS = 1000;
/**
 * How long a client has to answer a request its broker sent through the gateway (a reply push,
 * PUSH_REPLY_MESSAGE_TO_CLIENT) before the broker is answered SYSTEM_ERROR; below the 10 s a
 * 4.9.8 broker waits, so the broker hears the gateway's answer rather than its own timeout.
 */
export const DEFAULT_BROKER_REQUEST_TIMEOUT_MS = 5000;
/** A long-polling PULL_MESSAGE is held this much longer than its suspend time. */
export const PULL_BUDGET_GRACE_MS = 5000;
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS = 3000;
/** Bytes that may wait to be written to one upstream connection (transport-tcp's bound). */
export const DEFAULT_UPSTREAM_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PING_INTERVAL_MS = 30_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;
export const DEFAULT_CREATE_TOPIC_KEY = 'TBW102';

/** The numeric limits of a gateway, each with its default and smallest allowed value. */
export interface GatewayLimits {
  maxFrameBytes: number;
  maxInFlightPerConnection: number;
  maxUpstreamInFlight: number;
  ratePerSecond: number;
  rateBurst: number;
  authTimeoutMs: number;
  preAuthMessages: number;
  outboundPauseBytes: number;
  maxOutboundBytes: number;
  slowReaderTimeoutMs: number;
  maxBatchMessages: number;
  requestBudgetMs: number;
  maxRequestBudgetMs: number;
  upstreamConnectTimeoutMs: number;
  upstreamMaxQueuedBytes: number;
  pingIntervalMs: number;
  drainTimeoutMs: number;
  maxConsumerLinks: number;
  /**
   * The wire version the gateway speaks (its hello's `version`), 2 or 3 (the default): 2 pins the
   * behaviour of gateways before FRAMES messages (one frame per WebSocket message both ways).
   */
  wireVersion: number;
  brokerRequestTimeoutMs: number;
}

const LIMITS: Record<keyof GatewayLimits, [number, number]> = {
  maxFrameBytes: [DEFAULT_MAX_FRAME_BYTES, 1024],
  maxInFlightPerConnection: [DEFAULT_MAX_IN_FLIGHT, 1],
  maxUpstreamInFlight: [DEFAULT_MAX_UPSTREAM_IN_FLIGHT, 1],
  ratePerSecond: [DEFAULT_RATE_PER_SECOND, 1],
  rateBurst: [DEFAULT_RATE_BURST, 1],
  authTimeoutMs: [DEFAULT_AUTH_TIMEOUT_MS, 1],
  preAuthMessages: [DEFAULT_PRE_AUTH_MESSAGES, 1],
  outboundPauseBytes: [DEFAULT_OUTBOUND_PAUSE_BYTES, 1024],
  maxOutboundBytes: [DEFAULT_MAX_OUTBOUND_BYTES, 4096],
  slowReaderTimeoutMs: [DEFAULT_SLOW_READER_TIMEOUT_MS, 1],
  maxBatchMessages: [DEFAULT_MAX_BATCH_MESSAGES, 1],
  requestBudgetMs: [DEFAULT_REQUEST_BUDGET_MS, 1],
  maxRequestBudgetMs: [DEFAULT_MAX_REQUEST_BUDGET_MS, 1],
  upstreamConnectTimeoutMs: [DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS, 1],
  upstreamMaxQueuedBytes: [DEFAULT_UPSTREAM_MAX_QUEUED_BYTES, 1024],
  pingIntervalMs: [DEFAULT_PING_INTERVAL_MS, 10],
  drainTimeoutMs: [DEFAULT_DRAIN_TIMEOUT_MS, 0],
  maxConsumerLinks: [DEFAULT_MAX_CONSUMER_LINKS, 1],
  wireVersion: [WIRE_VERSION, 2],
  brokerRequestTimeoutMs: [DEFAULT_BROKER_REQUEST_TIMEOUT_MS, 1],
};

/** Limits with every default filled in; throws a RangeError naming the option otherwise. */
export function resolveLimits(given: Partial<Record<keyof GatewayLimits, number | undefined>>): GatewayLimits {
  const out = {} as GatewayLimits;
  for (const k of Object.keys(LIMITS) as (keyof GatewayLimits)[]) {
    const [def, min] = LIMITS[k];
    const v = given[k] ?? def;
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`gateway option ${k} must be a whole number ≥ ${min}, got ${v}`);
    out[k] = v;
  }
  if (out.outboundPauseBytes > out.maxOutboundBytes) {
    throw new RangeError(`gateway option outboundPauseBytes (${out.outboundPauseBytes}) must not exceed maxOutboundBytes (${out.maxOutboundBytes})`);
  }
  if (out.wireVersion > WIRE_VERSION) throw new RangeError(`gateway option wireVersion must be 2 or ${WIRE_VERSION}, got ${out.wireVersion}`);
  if (out.requestBudgetMs > out.maxRequestBudgetMs) out.requestBudgetMs = out.maxRequestBudgetMs;
  return out;
}
