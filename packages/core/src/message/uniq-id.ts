// Client unique message id, the UNIQ_KEY property (MessageClientIDSetter, 6.1):
// ip (4|16) + pid (2) + per-process int (4) + ms since the start of the month (4) + counter (2), uppercase hex.
import { MQClientError } from '../errors.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { parseIp } from './address.js';
import { fromHex, toHex } from './hex.js';
import type { WireMessage } from './message.js';

export interface UniqIdIdentity {
  /** Host address bytes (4 or 16) or text. Default: 4 random bytes chosen once (web runtimes have no local IP). */
  ip?: Uint8Array | string;
  /** Process id, low 16 bits used. Default: random. */
  pid?: number;
  /** The per-process int (Java: class-loader hash). Default: random. */
  processInt?: number;
}

/** The process part of every id (ip, pid, per-process int), in hex. */
let prefix: string | undefined;
let counter = 0;
let startTime = 0;
let nextStartTime = 0;

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** Fixes the process part of the ids created from now on (e.g. the real IP and pid on Node). */
export function configureUniqId(identity: UniqIdIdentity = {}): void {
  // Only this path parses addresses: the default prefix below needs random bytes alone.
  const ip = typeof identity.ip === 'string' ? parseIp(identity.ip) : identity.ip ?? random(4);
  if (!ip || (ip.length !== 4 && ip.length !== 16)) throw new MQClientError(-1, `unique-id host "${String(identity.ip)}" is not an IPv4 or IPv6 address`);
  const p = new Uint8Array(ip.length + 6);
  p.set(ip);
  const v = new DataView(p.buffer);
  p.set(random(6), ip.length);
  if (identity.pid !== undefined) v.setUint16(ip.length, identity.pid & 0xffff);
  if (identity.processInt !== undefined) v.setInt32(ip.length + 2, identity.processInt | 0);
  prefix = toHex(p);
}

/** Start of the month of `ms` (+ `add` months), local time. */
const localMonth = (ms: number, add = 0): number => {
  const d = new Date(ms);
  return +new Date(d.getFullYear(), d.getMonth() + add, 1);
};

function monthStart(ms: number, utc: boolean, add = 0): number {
  const d = new Date(ms);
  return utc ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1) : localMonth(ms, add);
}

/** A new UNIQ_KEY: 32 hex characters with an IPv4/random host part, 56 with an IPv6 one. */
export function createUniqId(now: number = Date.now()): string {
  // Java recomputes the month start only when passing the next one; we also do on a big backward jump.
  if (now >= nextStartTime || now < startTime - 1_000_000) {
    startTime = localMonth(now);
    nextStartTime = localMonth(now, 1);
  }
  let diff = (now - startTime) | 0; // Java's (int) cast: wraps after ~24.8 days
  if (diff < 0 && diff > -1_000_000) diff = 0;
  // Default identity, as configureUniqId() makes it: random ip (4), pid (2) and process int (4).
  // Then the time (4 bytes) and the counter (2), 12 hex digits.
  const id = (prefix ??= toHex(random(10))) + ((diff >>> 0) * 65536 + counter).toString(16).toUpperCase().padStart(12, '0');
  counter = (counter + 1) & 0xffff;
  return id;
}

export interface ParsedUniqId {
  ip: Uint8Array;
  pid: number;
  /** Approximate creation time (ms since epoch), as MessageClientIDSetter.getNearlyTimeFromID computes it. */
  timeMs: number;
  counter: number;
  /** The raw time field: ms after the start of the month the id was created in. */
  monthOffsetMs: number;
}

/**
 * Reads a 32- or 56-character id. The month is inferred from `now` (local time; `utc: true` for UTC):
 * the current month, or the previous one if that would put the time in the future.
 */
export function parseUniqId(id: string, opts: { now?: number; utc?: boolean } = {}): ParsedUniqId {
  const b = id.length === 32 || id.length === 56 ? fromHex(id) : undefined;
  if (!b) throw new MQClientError(-1, `"${id}" is not a RocketMQ unique message id (32 or 56 hex characters)`);
  const v = new DataView(b.buffer);
  const n = b.length;
  const monthOffsetMs = v.getUint32(n - 6);
  const now = opts.now ?? Date.now();
  const utc = opts.utc ?? false;
  let start = monthStart(now, utc);
  if (start + monthOffsetMs >= now) start = monthStart(now, utc, -1);
  return { ip: b.slice(0, n - 12), pid: v.getUint16(n - 12), timeMs: start + monthOffsetMs, counter: v.getUint16(n - 2), monthOffsetMs };
}

/**
 * Adds UNIQ_KEY unless present (retries keep their id), keeping Java HashMap order; returns the id.
 * `id` is the value to use instead of a fresh createUniqId() (tests, replays).
 */
export function setUniqKeyIfAbsent(wire: WireMessage, id?: string): string {
  const existing = wire.properties.UNIQ_KEY;
  if (existing != null) return existing;
  id ??= createUniqId();
  wire.properties = inJavaOrder({ ...wire.properties, UNIQ_KEY: id });
  return id;
}
