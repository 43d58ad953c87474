// CRC-32 (IEEE) masked with 0x7fffffff, as RocketMQ stores it (UtilAll.crc32).
// zlib.crc32 (native, Node >= 20.15) when present, else core's table-driven JavaScript version.
import * as zlib from 'node:zlib';
import { crc32 } from '@rocketmq-edge/core/internal';

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Unsigned CRC-32 of `bytes`. */
export const crc32u: (bytes: Uint8Array) => number = typeof native === 'function' ? (b) => native(b) : crc32;

export function maskedCrc32(bytes: Uint8Array): number {
  return crc32u(bytes) & 0x7fffffff;
}
