// Verification and indexing of stored records (RocketMQ's MessageDecoder layout, V1 magic).
// Encoding lives in core (encodeStoredMessage); this file only reads what recovery and the
// consume-queue rebuild need, and checks that a record is complete and intact.
import { maskedCrc32 } from '../crc.js';

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
  const v = new DataView(record.buffer, record.byteOffset, record.byteLength);
  v.setBigInt64(OFF_QUEUE_OFFSET, BigInt(queueOffset));
  v.setBigInt64(OFF_PHYSICAL_OFFSET, BigInt(physicalOffset));
}

/** Java String.hashCode, the tagsCode RocketMQ keeps in consume queues. */
export function tagsHashCode(tags: string): number {
  let h = 0;
  for (let i = 0; i < tags.length; i++) h = (Math.imul(h, 31) + tags.charCodeAt(i)) | 0;
  return h;
}
