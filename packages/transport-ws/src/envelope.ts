// The binary envelope between WebSocketTransport and the gateway (one WebSocket binary message
// = one remoting frame for one target). See README.md "Wire format".
//
//   byte 0      version (high nibble, = 1) | kind (low nibble, 1 = FRAME)
//   byte 1      target length N (1..255)
//   2 .. 2+N    target, UTF-8: "namesrv" or a broker alias issued by the gateway
//   2+N ..      the remoting frame exactly as on TCP, without the 4-byte length prefix
//
// Text messages are control only (JSON objects, see ControlMessage).

export const ENVELOPE_VERSION = 1;
export const KIND_FRAME = 1;
export const MAX_TARGET_BYTES = 255;

/** Subprotocol every client offers and the gateway selects. */
export const SUBPROTOCOL = 'rocketmq-edge.v1';
/** Prefix of the subprotocol that carries the bearer token ("bearer.<token>"). */
export const BEARER_PREFIX = 'bearer.';

/** WebSocket close codes used by the gateway and the transport (an enum: bundlers inline the values). */
export enum CloseCode {
  NORMAL = 1000,
  GOING_AWAY = 1001,
  /** The client saw no pong for two heartbeat intervals (transport-side). */
  HEARTBEAT_TIMEOUT = 4000,
  /** Protocol violation: bad envelope, data in a text message, undecodable frame. Fatal. */
  PROTOCOL_VIOLATION = 4400,
  /** Missing, malformed, badly signed or expired token at connect. Fatal. */
  UNAUTHORIZED = 4401,
  /** Origin not in the gateway's allowlist. Fatal. */
  FORBIDDEN_ORIGIN = 4403,
  /** No auth control message within the gateway's authTimeoutMs. Retried. */
  AUTH_TIMEOUT = 4408,
  /** The token expired during the session. Retried only when credentials come from a callback. */
  TOKEN_EXPIRED = 4419,
  /** Gateway at its connection limit. Retried with backoff. */
  TOO_MANY_CONNECTIONS = 4429,
}

/** Close codes after which the transport stops reconnecting at once (state "refused"). */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.PROTOCOL_VIOLATION,
  CloseCode.UNAUTHORIZED,
  CloseCode.FORBIDDEN_ORIGIN,
]);

/** Text control messages (JSON). */
export type ControlMessage =
  | { type: 'auth'; token: string }
  | { type: 'ping'; id: number }
  | { type: 'pong'; id: number }
  | { type: 'hello'; version: number; sub?: string; maxFrameBytes?: number; expiresAt?: number }
  | { type: 'notice'; message: string };

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const targetCache = new Map<string, Uint8Array>();

/** The UTF-8 bytes of a target name (cached), checked for the envelope's 1..255-byte limit. */
export function targetBytes(target: string): Uint8Array {
  let t = targetCache.get(target);
  if (!t) {
    t = utf8.encode(target);
    if (!t.length || t.length > MAX_TARGET_BYTES) throw new RangeError(`target must be 1..${MAX_TARGET_BYTES} UTF-8 bytes`);
    if (targetCache.size < 1024) targetCache.set(target, t);
  }
  return t;
}

/**
 * Wraps one remoting frame (no TCP prefix) for `target`. When `headroom` (writable bytes right
 * before the frame in its buffer) fits the envelope header, it is written there: no copy.
 */
export function encodeEnvelope(target: string, frame: Uint8Array, headroom = 0): Uint8Array {
  const t = targetBytes(target);
  const h = 2 + t.length;
  const out = headroom >= h ? new Uint8Array(frame.buffer, frame.byteOffset - h, h + frame.length) : new Uint8Array(h + frame.length);
  out[0] = (ENVELOPE_VERSION << 4) | KIND_FRAME;
  out[1] = t.length;
  out.set(t, 2);
  if (headroom < h) out.set(frame, h);
  return out;
}

export interface Envelope { kind: number; target: string; frame: Uint8Array }

// The last target decoded: a connection talks to one or a few targets, so most messages repeat it.
let lastTargetBytes: ArrayLike<number> = [];
let lastTarget = '';

/** Throws EnvelopeError for anything that is not a well-formed version-1 FRAME envelope. */
export function decodeEnvelope(msg: Uint8Array): Envelope {
  const n = msg[1]!;
  const end = 2 + n;
  if (msg[0] !== ((ENVELOPE_VERSION << 4) | KIND_FRAME) || !n || msg.length < end) {
    throw new EnvelopeError(`bad envelope (header ${msg[0]}, target length ${n}, ${msg.length} bytes)`);
  }
  let i = 0;
  while (i < n && msg[2 + i] === lastTargetBytes[i]) i++;
  if (i < n || n < lastTargetBytes.length) {
    const bytes = msg.slice(2, end);
    try {
      lastTarget = utf8Decoder.decode(bytes);
    } catch {
      throw new EnvelopeError('target is not valid UTF-8');
    }
    lastTargetBytes = bytes;
  }
  return { kind: KIND_FRAME, target: lastTarget, frame: msg.subarray(end) };
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/** RFC 7230 token characters: what may travel inside Sec-WebSocket-Protocol. */
export function isSubprotocolSafe(s: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s);
}
