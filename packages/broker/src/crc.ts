// CRC-32 (IEEE) masked with 0x7fffffff, as RocketMQ stores it (UtilAll.crc32).
import { crc32 } from '@rocketmq-edge/core/internal';
export function maskedCrc32(bytes: Uint8Array): number {
  return crc32(bytes) & 0x7fffffff;
}
