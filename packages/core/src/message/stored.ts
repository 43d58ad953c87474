// Stored message records (MessageDecoder layout, 10.3): commit log, pull bodies, VIEW_MESSAGE_BY_ID.
import { CodecError } from '../errors.js';
import { formatHostPort, parseHostPort } from './address.js';
import { MessageConst, MessageSysFlag } from './constants.js';
import { crc32 } from './crc32.js';
import { offsetMsgIdFromBytes } from './message-id.js';
import { decodeProperties, encodeProperties } from './properties.js';

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
  /** As stored: still compressed when sysFlag has COMPRESSED_FLAG. */
  body: Uint8Array;
  properties: Record<string, string>;
  /** The property string exactly as stored (it may repeat names, e.g. WAIT in batch records). */
  propertiesString?: string;
  bodyCRC: number;
  storeSize: number;
  /** UNIQ_KEY if present, else the offset id. */
  msgId: string;
  offsetMsgId: string;
}

export type StoredMessageInput = Omit<MessageExt, 'storeSize' | 'msgId' | 'offsetMsgId' | 'bodyCRC'> & { propertiesString?: string };

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
const { BORNHOST_V6_FLAG: BORN_V6, STOREHOSTADDRESS_V6_FLAG: STORE_V6 } = MessageSysFlag;

function host(text: string, what: string) {
  const h = parseHostPort(text);
  if (!h) throw new CodecError('BAD_BODY', `${what} "${text}" is not "ip:port"`);
  return h;
}

/**
 * One record with the V1 magic. BODYCRC = crc32(body) & 0x7fffffff; the sysFlag host bits follow the
 * address families of bornHost/storeHost; properties are `propertiesString` if given, else encoded.
 */
export function encodeStoredMessage(m: StoredMessageInput): Uint8Array {
  const born = host(m.bornHost, 'bornHost');
  const store = host(m.storeHost, 'storeHost');
  const topic = utf8.encode(m.topic);
  const props = utf8.encode(m.propertiesString ?? encodeProperties(m.properties));
  if (topic.length > 127) throw new CodecError('OVERSIZE', `topic of ${topic.length} bytes; a V1 record allows 127`);
  if (props.length > 0x7fff) throw new CodecError('OVERSIZE', `properties of ${props.length} bytes; the limit is 32767`);
  let sysFlag = m.sysFlag & ~(BORN_V6 | STORE_V6);
  if (born.ip.length === 16) sysFlag |= BORN_V6;
  if (store.ip.length === 16) sysFlag |= STORE_V6;
  const size = 84 + born.ip.length - 4 + store.ip.length - 4 + 4 + m.body.length + 1 + topic.length + 2 + props.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  const i32 = (n: number) => { v.setInt32(p, n); p += 4; };
  const i64 = (n: number) => { v.setBigInt64(p, BigInt(n)); p += 8; };
  const bytes = (b: Uint8Array) => { out.set(b, p); p += b.length; };
  i32(size);
  i32(MESSAGE_MAGIC_CODE);
  i32(crc32(m.body) & 0x7fffffff);
  i32(m.queueId);
  i32(m.flag);
  i64(m.queueOffset);
  i64(m.commitLogOffset);
  i32(sysFlag);
  i64(m.bornTimestamp);
  bytes(born.ip); i32(born.port);
  i64(m.storeTimestamp);
  bytes(store.ip); i32(store.port);
  i32(m.reconsumeTimes);
  i64(m.preparedTransactionOffset);
  i32(m.body.length); bytes(m.body);
  v.setUint8(p++, topic.length); bytes(topic);
  v.setInt16(p, props.length); p += 2; bytes(props);
  return out;
}

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
    const bornIp = bytes(sysFlag & BORN_V6 ? 16 : 4);
    const bornPort = i32();
    const storeTimestamp = i64();
    const storeIp = bytes(sysFlag & STORE_V6 ? 16 : 4);
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
      msgId: properties[MessageConst.UNIQ_KEY] || offsetMsgId, offsetMsgId,
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
