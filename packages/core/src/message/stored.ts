// Stored message records (MessageDecoder layout, 10.3): pull bodies, VIEW_MESSAGE_BY_ID, check-back
// bodies. Only brokers write them (the embedded broker's encoder is packages/broker/src/store/record.ts).
import { formatHostPort } from './address.js';
import type { MessageQueue } from './message.js';
import { offsetMsgIdFromBytes } from './message-id.js';
import { decodeProperties } from './properties.js';
import { utf8Decoder } from '../utf8.js';

export const MESSAGE_MAGIC_CODE = 0xdaa320a7 | 0; // V1: 1-byte topic length
export const MESSAGE_MAGIC_CODE_V2 = 0xdaa320ab | 0; // 5.x: 2-byte topic length

export interface MessageExt {
  topic: string;
  queueId: number;
  flag: number;
  queueOffset: number;
  commitLogOffset: number;
  sysFlag: number;
  bornTimestamp: number;
  /** "ip:port", IPv6 as "[addr]:port". */
  bornHost: string;
  storeTimestamp: number;
  storeHost: string;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  /** As stored: still compressed when sysFlag has COMPRESSED_FLAG (a consumer hands it out inflated). */
  body: Uint8Array;
  properties: Record<string, string>;
  /** The property string exactly as stored (it may repeat names, e.g. WAIT in batch records). */
  propertiesString?: string;
  bodyCRC: number;
  storeSize: number;
  /** UNIQ_KEY if present, else the offset id. */
  msgId: string;
  offsetMsgId: string;
  // Set on the messages a LitePullConsumer hands out (PullAPIWrapper.processPullResult):
  /** The queue the message was pulled from (for seek and commit). */
  queue?: MessageQueue;
  brokerName?: string;
  /** The TAGS property. */
  tags?: string;
  /** The KEYS property (several keys separated by a space). */
  keys?: string;
  /** UNIQ_KEY of a transactional (TRAN_MSG) message. */
  transactionId?: string;
}

/** MessageSysFlag.BORNHOST_V6_FLAG / STOREHOSTADDRESS_V6_FLAG, inlined (a consumer bundle then carries no constants table). */
const enum HostFlag { BORN_V6 = 0x10, STORE_V6 = 0x20 }

/** Decodes one record at `start`; undefined if it is not a well-formed record. */
function decodeOne(buf: Uint8Array, v: DataView, start: number): MessageExt | undefined {
  const size = v.getInt32(start);
  if (size < 91 || size > buf.length - start) return undefined;
  const end = start + size;
  const magic = v.getInt32(start + 4);
  if (magic !== MESSAGE_MAGIC_CODE && magic !== MESSAGE_MAGIC_CODE_V2) return undefined;
  let p = start + 8;
  const need = (n: number) => { if (n < 0 || p + n > end) throw 0; };
  const i32 = () => { need(4); const x = v.getInt32(p); p += 4; return x; };
  const i64 = () => { need(8); const x = Number(v.getBigInt64(p)); p += 8; return x; };
  const bytes = (n: number) => { need(n); const b = buf.subarray(p, p + n); p += n; return b; };
  try {
    const bodyCRC = i32();
    const queueId = i32();
    const flag = i32();
    const queueOffset = i64();
    const commitLogOffset = i64();
    const sysFlag = i32();
    const bornTimestamp = i64();
    const bornIp = bytes(sysFlag & HostFlag.BORN_V6 ? 16 : 4);
    const bornPort = i32();
    const storeTimestamp = i64();
    const storeIp = bytes(sysFlag & HostFlag.STORE_V6 ? 16 : 4);
    const storePort = i32();
    const reconsumeTimes = i32();
    const preparedTransactionOffset = i64();
    const body = bytes(i32()).slice();
    need(magic === MESSAGE_MAGIC_CODE ? 1 : 2);
    const topicLen = magic === MESSAGE_MAGIC_CODE ? v.getUint8(p++) : v.getUint16((p += 2) - 2);
    const topic = utf8Decoder.decode(bytes(topicLen));
    need(2);
    const propsLen = v.getUint16(p); p += 2;
    const propertiesString = utf8Decoder.decode(bytes(propsLen));
    if (p !== end) return undefined;
    const properties = decodeProperties(propertiesString);
    const offsetMsgId = offsetMsgIdFromBytes(storeIp, storePort, commitLogOffset);
    return {
      topic, queueId, flag, queueOffset, commitLogOffset, sysFlag, bornTimestamp,
      bornHost: formatHostPort(bornIp, bornPort), storeTimestamp, storeHost: formatHostPort(storeIp, storePort),
      reconsumeTimes, preparedTransactionOffset, body, properties, propertiesString, bodyCRC, storeSize: size,
      msgId: properties.UNIQ_KEY || offsetMsgId, offsetMsgId,
    };
  } catch {
    return undefined;
  }
}

/** Records one after another, as in a pull body; stops at the first undecodable one. Never throws. */
export function decodeStoredMessages(bytes: Uint8Array): MessageExt[] {
  const out: MessageExt[] = [];
  try {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = 0;
    while (bytes.length - p >= 4) {
      const m = decodeOne(bytes, v, p);
      if (!m) break;
      out.push(m);
      p += m.storeSize;
    }
  } catch {
    // not a Uint8Array or similar: return what was decoded
  }
  return out;
}
