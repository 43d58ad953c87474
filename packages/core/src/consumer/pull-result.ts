// PullAPIWrapper.processPullResult: the records of a FOUND pull decoded (10.2, 10.3), the tag
// filter's client half applied, compressed bodies inflated, and the fields a consumer adds set.
import { CodecError } from '../errors.js';
import { decodeStoredMessages, decompressZlib, type MessageExt, type MessageQueue } from '../message/index.js';
import type { PullResult } from './client-api.js';
import { matchesTags, type SubscriptionData } from './subscription.js';

/** Largest body an inflated message may reach: a bound on what a hostile compressed body can cost. */
export const MAX_INFLATED_BODY = 64 * 1024 * 1024;

// MessageSysFlag bits and MessageConst names as literals: the consumer bundle then carries neither table.
const enum SysFlag { COMPRESSED = 0x1, COMPRESSION_TYPE_MASK = 0x700, COMPRESSION_ZLIB = 0x300, COMPRESSION_LZ4 = 0x100 }

/** Inflates a compressed body (ZLIB, or type 0 = ZLIB from producers older than the type bits). */
async function inflate(m: MessageExt): Promise<void> {
  const type = m.sysFlag & SysFlag.COMPRESSION_TYPE_MASK;
  if (type && type !== SysFlag.COMPRESSION_ZLIB) {
    throw new CodecError('BAD_BODY', `message ${m.msgId}: compression type ${type >> 8} (${type === SysFlag.COMPRESSION_LZ4 ? 'LZ4' : 'ZSTD'}) cannot be inflated here; its body is handed out as stored`);
  }
  m.body = await decompressZlib(m.body, MAX_INFLATED_BODY);
}

/**
 * Messages of a FOUND result for `mq`, in queue order. A body that cannot be inflated is handed out
 * as stored (sysFlag still says compressed) and reported to `onError`: nothing is dropped.
 */
export async function processPullResult(
  mq: MessageQueue,
  result: PullResult,
  sub: SubscriptionData,
  onError: (e: Error) => void,
): Promise<MessageExt[]> {
  if (result.pullStatus !== 'FOUND' || !result.body) return [];
  const out: MessageExt[] = [];
  const decoded = decodeStoredMessages(result.body);
  const size = decoded.reduce((n, m) => n + m.storeSize, 0);
  if (size !== result.body.length) {
    // As Java, decoding stops at the first bad record; the consumer still moves on (to nextBeginOffset), so say so.
    onError(new CodecError('BAD_BODY', `pull from ${mq.topic}/${mq.brokerName}/${mq.queueId}: ${result.body.length - size} bytes after ` +
      `${decoded.length} records are not a stored message; the messages up to offset ${result.nextBeginOffset} in them are skipped`));
  }
  for (const m of decoded) {
    const p = m.properties;
    const tags = p.TAGS;
    if (!matchesTags(sub, tags)) continue;
    if (m.sysFlag & SysFlag.COMPRESSED) {
      try {
        await inflate(m);
      } catch (e) {
        onError(e instanceof Error ? e : new CodecError('BAD_BODY', String(e)));
      }
    }
    if (p.TRAN_MSG === 'true' && p.UNIQ_KEY) m.transactionId = p.UNIQ_KEY;
    p.MIN_OFFSET = `${result.minOffset}`;
    p.MAX_OFFSET = `${result.maxOffset}`;
    m.brokerName = mq.brokerName;
    m.queue = { topic: mq.topic, brokerName: mq.brokerName, queueId: m.queueId };
    if (tags !== undefined) m.tags = tags;
    if (p.KEYS !== undefined) m.keys = p.KEYS;
    out.push(m);
  }
  return out;
}
