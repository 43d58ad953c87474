// Stored records (RocketMQ's MessageDecoder layout, V1 magic; clients decode them with core's
// decodeStoredMessages): the encoder, and what recovery and the consume-queue rebuild need to read
// and verify a record. Hosts are parsed once and cached, offsets written without BigInt: hot path.
import { CodecError, MessageSysFlag, javaStringHash, parseHostPort, type MessageExt } from '@rocketmq-edge/core/internal';
import { crc32u, maskedCrc32 } from '../crc.js';

export const MAGIC_V1 = 0xdaa320a7 | 0;
export const MAGIC_V2 = 0xdaa320ab | 0;
/** Smallest possible record: IPv4 hosts, empty body/topic/properties. */
export const MIN_RECORD_SIZE = 91;

export const OFF_TOTAL_SIZE = 0;
export const OFF_MAGIC = 4;
export const OFF_BODY_CRC = 8;
export const OFF_QUEUE_ID = 12;
export const OFF_QUEUE_OFFSET = 20;
export const OFF_PHYSICAL_OFFSET = 28;
export const OFF_SYSFLAG = 36;
const BORNHOST_V6 = 0x10;
const STOREHOST_V6 = 0x20;

export interface RecordInfo {
  size: number;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  storeTimestamp: number;
  topic: string;
  /** Raw property string. */
  properties: string;
}

export type InspectResult = { ok: true; info: RecordInfo } | { ok: false; reason: string };

const latin = new TextDecoder('utf-8');

/**
 * Checks the record starting at `pos` in `buf` (which may end early): total size within bounds,
 * magic, field lengths that add up to the total size, body CRC. Returns what indexing needs.
 */
export function inspectRecord(buf: Uint8Array, pos: number, verifyCrc = true): InspectResult {
  const avail = buf.length - pos;
  if (avail < 8) return { ok: false, reason: 'truncated header' };
  const v = new DataView(buf.buffer, buf.byteOffset + pos, avail);
  const size = v.getInt32(OFF_TOTAL_SIZE);
  const magic = v.getInt32(OFF_MAGIC);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return { ok: false, reason: `bad magic 0x${(magic >>> 0).toString(16)}` };
  if (size < MIN_RECORD_SIZE) return { ok: false, reason: `bad total size ${size}` };
  if (size > avail) return { ok: false, reason: `record of ${size} bytes overruns the ${avail} bytes present` };
  const sysFlag = v.getInt32(OFF_SYSFLAG);
  let p = 48 + (sysFlag & BORNHOST_V6 ? 20 : 8); // after BORNTIMESTAMP + BORNHOST
  if (p + 8 > size) return { ok: false, reason: 'truncated hosts' };
  const storeTimestamp = Number(v.getBigInt64(p));
  p += 8 + (sysFlag & STOREHOST_V6 ? 20 : 8) + 4 + 8; // STOREHOST, RECONSUMETIMES, PREPARED OFFSET
  if (p + 4 > size) return { ok: false, reason: 'truncated body length' };
  const bodyLen = v.getInt32(p);
  p += 4;
  if (bodyLen < 0 || p + bodyLen > size) return { ok: false, reason: `bad body length ${bodyLen}` };
  const bodyStart = p;
  p += bodyLen;
  let topicLen: number;
  if (magic === MAGIC_V2) {
    if (p + 2 > size) return { ok: false, reason: 'truncated topic length' };
    topicLen = v.getInt16(p);
    p += 2;
  } else {
    if (p + 1 > size) return { ok: false, reason: 'truncated topic length' };
    topicLen = v.getInt8(p);
    p += 1;
  }
  if (topicLen < 0 || p + topicLen > size) return { ok: false, reason: `bad topic length ${topicLen}` };
  const topic = latin.decode(buf.subarray(pos + p, pos + p + topicLen));
  p += topicLen;
  if (p + 2 > size) return { ok: false, reason: 'truncated properties length' };
  const propsLen = v.getInt16(p);
  p += 2;
  if (propsLen < 0 || p + propsLen !== size) return { ok: false, reason: 'field lengths do not add up to the total size' };
  const properties = latin.decode(buf.subarray(pos + p, pos + p + propsLen));
  if (verifyCrc) {
    const crc = v.getInt32(OFF_BODY_CRC);
    if (maskedCrc32(buf.subarray(pos + bodyStart, pos + bodyStart + bodyLen)) !== crc) return { ok: false, reason: 'body CRC mismatch' };
  }
  return {
    ok: true,
    info: {
      size,
      queueId: v.getInt32(OFF_QUEUE_ID),
      queueOffset: Number(v.getBigInt64(OFF_QUEUE_OFFSET)),
      physicalOffset: Number(v.getBigInt64(OFF_PHYSICAL_OFFSET)),
      storeTimestamp,
      topic,
      properties,
    },
  };
}

/** Writes the queue offset and commit-log offset into an encoded record. */
export function patchOffsets(record: Uint8Array, queueOffset: number, physicalOffset: number): void {
  const b = asBuffer(record);
  writeI64(b, OFF_QUEUE_OFFSET, queueOffset);
  writeI64(b, OFF_PHYSICAL_OFFSET, physicalOffset);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const TWO_32 = 4294967296;

/** A long as DataView.setBigInt64(BigInt(n)) writes it (two's complement, modulo 2^64). */
function writeI64(b: Buffer, at: number, n: number): void {
  if (Number.isSafeInteger(n)) {
    const hi = Math.floor(n / TWO_32);
    b.writeInt32BE(hi | 0, at);
    b.writeUInt32BE(n - hi * TWO_32, at + 4);
  } else b.writeBigInt64BE(BigInt.asIntN(64, BigInt(n)), at);
}

interface HostBytes { ip: Uint8Array; port: number }
const hostCache = new Map<string, HostBytes>();

function hostBytes(text: string, what: string): HostBytes {
  let h = hostCache.get(text);
  if (!h) {
    h = parseHostPort(text);
    if (!h) throw new CodecError('BAD_BODY', `${what} "${text}" is not "ip:port"`);
    if (hostCache.size >= 4096) hostCache.clear();
    hostCache.set(text, h);
  }
  return h;
}

/** What a record holds: a MessageExt without the derived fields, with its property string as stored. */
export type RecordInput = Omit<MessageExt, 'properties' | 'propertiesString' | 'bodyCRC' | 'storeSize' | 'msgId' | 'offsetMsgId'> & {
  propertiesString: string;
};

const BORN_V6 = MessageSysFlag.BORNHOST_V6_FLAG;
const STORE_V6 = MessageSysFlag.STOREHOSTADDRESS_V6_FLAG;

/**
 * One record with the V1 magic, as a 4.9.8 broker stores it: BODYCRC =
 * crc32(body) & 0x7fffffff, sysFlag host bits from the address families of the hosts.
 */
export function encodeRecord(m: RecordInput): Buffer {
  const born = hostBytes(m.bornHost, 'bornHost');
  const store = hostBytes(m.storeHost, 'storeHost');
  const topicLen = Buffer.byteLength(m.topic, 'utf8');
  const propsLen = Buffer.byteLength(m.propertiesString, 'utf8');
  if (topicLen > 127) throw new CodecError('OVERSIZE', `topic of ${topicLen} bytes; a V1 record allows 127`);
  if (propsLen > 0x7fff) throw new CodecError('OVERSIZE', `properties of ${propsLen} bytes; the limit is 32767`);
  let sysFlag = m.sysFlag & ~(BORN_V6 | STORE_V6);
  if (born.ip.length === 16) sysFlag |= BORN_V6;
  if (store.ip.length === 16) sysFlag |= STORE_V6;
  const body = m.body;
  const size = 84 + born.ip.length - 4 + store.ip.length - 4 + 4 + body.length + 1 + topicLen + 2 + propsLen;
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(size, 0);
  out.writeInt32BE(MAGIC_V1, 4);
  out.writeInt32BE(crc32u(body) & 0x7fffffff, 8);
  out.writeInt32BE(m.queueId | 0, 12);
  out.writeInt32BE(m.flag | 0, 16);
  writeI64(out, 20, m.queueOffset);
  writeI64(out, 28, m.commitLogOffset);
  out.writeInt32BE(sysFlag | 0, 36);
  writeI64(out, 40, m.bornTimestamp);
  let p = 48;
  out.set(born.ip, p); p += born.ip.length;
  out.writeInt32BE(born.port | 0, p); p += 4;
  writeI64(out, p, m.storeTimestamp); p += 8;
  out.set(store.ip, p); p += store.ip.length;
  out.writeInt32BE(store.port | 0, p); p += 4;
  out.writeInt32BE(m.reconsumeTimes | 0, p); p += 4;
  writeI64(out, p, m.preparedTransactionOffset); p += 8;
  out.writeInt32BE(body.length, p); p += 4;
  out.set(body, p); p += body.length;
  out[p++] = topicLen;
  p += out.write(m.topic, p, 'utf8');
  out.writeInt16BE(propsLen, p); p += 2;
  out.write(m.propertiesString, p, 'utf8');
  return out;
}

/** Java String.hashCode, the tagsCode RocketMQ keeps in consume queues (core's javaStringHash). */
export const tagsHashCode = javaStringHash;
