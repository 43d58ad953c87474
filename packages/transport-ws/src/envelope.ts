// The binary envelope between WebSocketTransport and the gateway (one WebSocket binary message
// = one remoting frame for one target, or, from wire version 3, a FRAMES message carrying several).
// See README.md "Wire format".
//
//   byte 0        version (high nibble: 1 or 2) | kind (low nibble, 1 = FRAME): 0x11 or 0x21
//   byte 1        target length N (1..255)
//   2 .. 2+N      target, UTF-8: "namesrv" or a broker alias issued by the gateway
//   version 2 only:
//   2+N .. 6+N    budget: uint32 big-endian, the milliseconds the client will still wait for this
//                 request's response (0 = no deadline)
//   then          the remoting frame exactly as on TCP, without the 4-byte length prefix
//
// Both versions are valid in both directions. A client writes version 2 only to a gateway whose
// hello says version >= 2. Text messages are control only (JSON objects, see ControlMessage).
//
// FRAMES (wire version 3): several of the envelopes above in one WebSocket message:
//   byte 0        0x32 (version 3 | kind 2)
//   then, at least once:
//     4 bytes     L: uint32 big-endian, the length of the envelope that follows (L >= 1)
//     L bytes     one version-1 or version-2 FRAME envelope (never another FRAMES message)
// A gateway that reads FRAMES says so in its hello (version 3): `"frames": B`, the most bytes one
// FRAMES message may have. A client writes FRAMES only then, each at most B bytes. The gateway
// writes FRAMES only to a client that answered its hello with {"type":"hello","version":3}; an
// older client never does, and keeps getting single frames.

/**
 * The highest wire version this module reads and writes. A gateway says in its hello which it
 * reads (`version`); WebSocketTransport writes version 2 envelopes only to version >= 2, and FRAMES
 * only when the hello carries `frames` (version 3).
 */
export const WIRE_VERSION = 3;
export const KIND_FRAME = 1;
/** The wire version from which FRAMES messages (several envelopes in one) are understood. */
export const FRAMES_VERSION = 3;
/** Byte 0 of a FRAMES message (version 3, kind 2). */
export const HEADER_FRAMES = 0x32;
/**
 * The gateway's bound on one FRAMES message (its hello's `frames`; its maxFrameBytes when smaller):
 * a bound on the work one message may cause (at most about 400 tiny frames), so that no message
 * holds the gateway's event loop for long; and small enough that a window of sends still flows
 * through client, gateway and broker as a pipeline rather than in one lockstep batch. Writers split beyond it; the gateway closes a
 * larger FRAMES message with 4400.
 */
export const MAX_FRAMES_BYTES = 16 * 1024;
/** Byte 0 of a version-1 FRAME envelope (no budget). */
export const HEADER_V1 = 0x11;
/** Byte 0 of a version-2 FRAME envelope (4-byte budget after the target). */
export const HEADER_V2 = 0x21;
/** Size of version 2's budget field. */
export const BUDGET_BYTES = 4;
/** Largest budget the field holds (about 49.7 days); larger budgets are written as this. */
export const MAX_BUDGET_MS = 0xffffffff;
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
  /**
   * Protocol violation: bad envelope, data in a text message, undecodable frame, or traffic before
   * authentication beyond the gateway's pre-auth bound. Fatal: the transport does not retry.
   */
  PROTOCOL_VIOLATION = 4400,
  /** Missing, malformed, badly signed or expired token at connect. Fatal. */
  UNAUTHORIZED = 4401,
  /** Origin not in the gateway's allowlist. Fatal. */
  FORBIDDEN_ORIGIN = 4403,
  /** No auth control message within the gateway's authTimeoutMs. Retried. */
  AUTH_TIMEOUT = 4408,
  /**
   * Slow reader: the client did not read its socket and the gateway's outbound buffer for it
   * passed its bound. Not fatal: the transport reconnects with backoff.
   */
  SLOW_READER = 4410,
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
  // Gateway → client: authenticated; `frames` (version 3): it reads FRAMES messages of at most
  // that many bytes. Client → gateway, only after a hello with `frames`: {"type":"hello","version":3},
  // "I read FRAMES messages".
  | { type: 'hello'; version: number; sub?: string; maxFrameBytes?: number; expiresAt?: number; frames?: number }
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
 * With `budgetMs` (the milliseconds the sender will still wait for the response; 0 = no
 * deadline) the envelope is version 2, else version 1. The budget is written big-endian, rounded
 * up to whole milliseconds and capped at MAX_BUDGET_MS; negative or NaN becomes 0.
 */
export function encodeEnvelope(target: string, frame: Uint8Array, headroom = 0, budgetMs?: number): Uint8Array {
  const t = targetBytes(target);
  const at = 2 + t.length; // where the budget (version 2) or the frame (version 1) starts
  const h = budgetMs === undefined ? at : at + BUDGET_BYTES;
  const out = headroom >= h ? new Uint8Array(frame.buffer, frame.byteOffset - h, h + frame.length) : new Uint8Array(h + frame.length);
  out[0] = h > at ? HEADER_V2 : HEADER_V1;
  out[1] = t.length;
  out.set(t, 2);
  // Big-endian, last byte first (a byte store keeps the low 8 bits; dividing by 256 is exact).
  // Version 1 has no budget bytes: the loop does nothing.
  for (let i = h, ms = budgetMs! > 0 ? Math.min(Math.ceil(budgetMs!), MAX_BUDGET_MS) : 0; i > at; ms /= 256) out[--i] = ms;
  if (headroom < h) out.set(frame, h);
  return out;
}

export interface Envelope {
  kind: number;
  target: string;
  frame: Uint8Array;
  /** Version 2's budget: the milliseconds the sender will still wait. Undefined for version 1 and for 0. */
  budgetMs: number | undefined;
}

// The last target decoded: a connection talks to one or a few targets, so most messages repeat it.
let lastTargetBytes: ArrayLike<number> = [];
let lastTarget = '';

/** Throws EnvelopeError for anything that is not a well-formed version-1 or version-2 FRAME envelope. */
export function decodeEnvelope(msg: Uint8Array): Envelope {
  const n = msg[1]!;
  const at = 2 + n; // where the budget (version 2) or the frame (version 1) starts
  const end = msg[0] === HEADER_V2 ? at + BUDGET_BYTES : at;
  if ((end == at && msg[0] !== HEADER_V1) || !n || msg.length < end) {
    throw new EnvelopeError(`bad envelope (header ${msg[0]}, target length ${n}, ${msg.length} bytes)`);
  }
  let i = 0;
  while (i < n && msg[2 + i] === lastTargetBytes[i]) i++;
  if (i < n || n < lastTargetBytes.length) {
    const bytes = msg.slice(2, at);
    try {
      lastTarget = utf8Decoder.decode(bytes);
    } catch {
      throw new EnvelopeError('target is not valid UTF-8');
    }
    lastTargetBytes = bytes;
  }
  // Big-endian; version 1 has no budget bytes (0: undefined).
  let budgetMs = 0;
  for (i = at; i < end; ) budgetMs = budgetMs * 256 + msg[i++]!;
  return { kind: KIND_FRAME, target: lastTarget, frame: msg.subarray(end), budgetMs: budgetMs || undefined };
}

/**
 * The envelopes of one binary message: each inner envelope of a FRAMES message, else the message
 * itself. Throws EnvelopeError for anything malformed: no envelope, an inner length of 0 or past
 * the end, a nested FRAMES message, a bad inner envelope.
 */
export function decodeEnvelopes(msg: Uint8Array): Envelope[] {
  if (msg[0] != HEADER_FRAMES) return [decodeEnvelope(msg)];
  const out: Envelope[] = [];
  for (let at = 1, n = 0, end; at < msg.length || !n; out.push(decodeEnvelope(msg.subarray(at - n, at)))) {
    // uint32 big-endian (a byte past the end makes it NaN)
    for (n = 0, end = at + 4; at < end; ) n = n * 256 + msg[at++]!;
    if (!n || (at += n) > msg.length) throw new EnvelopeError('bad FRAMES message');
  }
  return out;
}

/**
 * What a writer of FRAMES messages calls with each envelope, in order; returns the bytes it holds.
 * It sends them at the end of the task (`defer`: queueMicrotask in browsers, process.nextTick in
 * the gateway), or at once when the next envelope would take the message past `maxBytes`. A
 * message that would hold one envelope (alone, or too large to share) is that envelope itself,
 * exactly a single frame, not copied.
 */
export function framesWriter(maxBytes: number, send: (msg: Uint8Array) => void, defer: (flush: () => void) => void): (env: Uint8Array) => number {
  let q: Uint8Array[] = [];
  let size = 1;
  const flush = () => {
    let out = q[0];
    if (q[1]) {
      out = new Uint8Array(size);
      out[0] = HEADER_FRAMES;
      for (let at = 1, i = 0, e, n; (e = q[i++]); at += n) {
        n = e.length;
        out.set([n >>> 24, n >> 16, n >> 8, n], at);
        out.set(e, (at += 4));
      }
    }
    if (out) send(out);
    q = [];
    size = 1;
  };
  return (env) => {
    if (size + 4 + env.length > maxBytes) flush();
    if (q.push(env) == 1) defer(flush);
    return (size += 4 + env.length) - 1;
  };
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/** RFC 7230 token characters: what may travel inside Sec-WebSocket-Protocol. */
export function isSubprotocolSafe(s: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s);
}
