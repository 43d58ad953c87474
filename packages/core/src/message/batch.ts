// SEND_BATCH_MESSAGE body (3.9): per message totalSize, magic 0, bodyCRC 0, flag, bodyLen, body,
// propsLen (short), props.
import { CodecError } from '../errors.js';
import type { WireMessage } from './message.js';
import { decodeProperties, encodeProperties } from './properties.js';
import { utf8, utf8Decoder } from '../utf8.js';

/**
 * MessageDecoder.encodeMessages. `propStrings`: the messages' property strings if already encoded
 * (auto-batching has them from each member's request header). Throws CodecError('OVERSIZE') if a
 * property string exceeds 32767 bytes.
 */
export function encodeBatchBody(msgs: WireMessage[], propStrings?: string[]): Uint8Array {
  const props = msgs.map((m, i) => utf8.encode(propStrings?.[i] ?? encodeProperties(m.properties)));
  let size = 0;
  msgs.forEach((m, i) => {
    if (props[i]!.length > 0x7fff) throw new CodecError('OVERSIZE', `properties of batch message ${i} are ${props[i]!.length} bytes; the limit is 32767`);
    size += 22 + m.body.length + props[i]!.length;
  });
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  msgs.forEach((m, i) => {
    const pb = props[i]!;
    v.setInt32(p, 22 + m.body.length + pb.length); // magic and bodyCRC stay 0
    v.setInt32(p + 12, m.flag);
    v.setInt32(p + 16, m.body.length);
    out.set(m.body, p + 20);
    p += 20 + m.body.length;
    v.setInt16(p, pb.length);
    out.set(pb, p + 2);
    p += 2 + pb.length;
  });
  return out;
}

/**
 * Checks the record at `p` (sizes only, nothing allocated) and returns its totalSize.
 * Throws CodecError('BAD_BODY') if it is malformed.
 */
function checkRecord(body: Uint8Array, v: DataView, p: number, index: number): number {
  const bad = (what: string) => new CodecError('BAD_BODY', `batch record ${index} at byte ${p}: ${what}`);
  if (body.length - p < 22) throw bad(`only ${body.length - p} bytes left, a record needs at least 22`);
  const total = v.getInt32(p);
  if (total < 22 || total > body.length - p) throw bad(`totalSize ${total} does not fit the ${body.length - p} bytes left`);
  const bodyLen = v.getInt32(p + 16);
  if (bodyLen < 0 || bodyLen > total - 22) throw bad(`body length ${bodyLen} overruns totalSize ${total}`);
  const propsLen = v.getUint16(p + 20 + bodyLen);
  if (22 + bodyLen + propsLen !== total) throw bad(`totalSize ${total} != 22 + body ${bodyLen} + properties ${propsLen}`);
  return total;
}

/**
 * Splits a batch body into messages (all of `topic`). Throws CodecError('BAD_BODY') if malformed,
 * and CodecError('OVERSIZE') if it holds more than `maxRecords` records. The records are walked
 * and checked first and only then decoded, so a refused body (malformed, or 190,000 empty
 * 22-byte records against a limit of 1,024) costs at most `maxRecords + 1` size checks and no
 * per-record allocation.
 */
export function decodeBatchBody(body: Uint8Array, topic = '', maxRecords = Number.POSITIVE_INFINITY): WireMessage[] {
  const count = countBatchRecords(body, maxRecords);
  if (count > maxRecords) throw new CodecError('OVERSIZE', `the batch holds more than ${maxRecords} messages`);
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: WireMessage[] = new Array(count);
  for (let i = 0, p = 0; i < count; i++) {
    const total = v.getInt32(p);
    const bodyLen = v.getInt32(p + 16);
    const start = p + 22 + bodyLen;
    out[i] = {
      topic,
      body: body.slice(p + 20, p + 20 + bodyLen),
      flag: v.getInt32(p + 12),
      properties: decodeProperties(utf8Decoder.decode(body.subarray(start, p + total))),
    };
    p += total;
  }
  return out;
}

/**
 * Checks a batch body's record structure and counts its records without decoding them; stops
 * after `limit + 1` records (returning limit + 1), so a flood of tiny records costs no more than
 * the limit. Throws CodecError('BAD_BODY') if a record before that is malformed.
 */
export function countBatchRecords(body: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let n = 0;
  for (let p = 0; p < body.length && n <= limit; n++) p += checkRecord(body, v, p, n);
  return n;
}
