// Broker offset message id (6.2): hex(store ip 4|16 bytes + port int + commit-log offset long).
import { MQClientError } from '../errors.js';
import { formatIp, parseIp } from './address.js';
import { fromHex, toHex } from './hex.js';

/** Offset id from raw store-host bytes (used by the stored-message decoder). */
export function offsetMsgIdFromBytes(ip: Uint8Array, port: number, commitLogOffset: number): string {
  const b = new Uint8Array(ip.length + 12);
  b.set(ip);
  const v = new DataView(b.buffer);
  v.setInt32(ip.length, port);
  v.setBigInt64(ip.length + 4, BigInt(commitLogOffset));
  return toHex(b);
}

/** `createOffsetMsgId('127.0.0.1', 10911, 0)` = "7F00000100002A9F0000000000000000". */
export function createOffsetMsgId(host: string, port: number, commitLogOffset: number): string {
  const ip = parseIp(host);
  if (!ip) throw new MQClientError(-1, `store host "${host}" is not an IPv4 or IPv6 address`);
  if (!Number.isInteger(port) || port < 0 || port > 0x7fffffff) throw new MQClientError(-1, `port ${port} is not a valid port`);
  if (!Number.isSafeInteger(commitLogOffset)) throw new MQClientError(-1, `commit-log offset ${commitLogOffset} is not a safe integer`);
  return offsetMsgIdFromBytes(ip, port, commitLogOffset);
}

/** Inverse of createOffsetMsgId: 32 hex chars = IPv4 store host, 56 = IPv6. */
export function decodeOffsetMsgId(id: string): { host: string; port: number; offset: number } {
  const b = id.length === 32 || id.length === 56 ? fromHex(id) : undefined;
  if (!b) throw new MQClientError(-1, `"${id}" is not an offset message id (32 or 56 hex characters)`);
  const ipLen = b.length === 28 ? 16 : 4;
  const v = new DataView(b.buffer);
  return { host: formatIp(b.subarray(0, ipLen)), port: v.getInt32(ipLen), offset: Number(v.getBigInt64(ipLen + 4)) };
}
