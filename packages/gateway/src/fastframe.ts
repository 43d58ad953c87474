// Fast path for upstream responses: find opaque / flag / code without building a command, and
// re-emit the frame with the client's opaque straight into a WebSocket envelope (one allocation).
// Only used on frames from the (trusted) upstream; anything unusual falls back to decode/encode.

export interface FramePeek {
  serializeType: number;
  code: number;
  flag: number;
  opaque: number;
  /** JSON: byte offsets (within the frame) of the opaque digits. */
  opStart: number;
  opEnd: number;
}

// One pass over the header text finds every spelling of the keys that matter; a key found twice,
// or not followed by an integer, means the frame is ambiguous and takes the slow path.
const RE_RESPONSE_KEYS = /"(code|flag|opaque)"(?::(-?\d{1,11}))?/g;

/** Frames from sockets already are Buffers (views into the chunk): wrap only the others. */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

export function peekFrame(frame: Uint8Array): FramePeek | undefined {
  if (frame.length < 4) return undefined;
  const b = asBuffer(frame);
  const type = b[0]!;
  const headerLength = b.readUIntBE(1, 3);
  if (headerLength > b.length - 4) return undefined;
  if (type === 1) {
    if (headerLength < 17) return undefined;
    return { serializeType: 1, code: b.readInt16BE(4), opaque: b.readInt32BE(9), flag: b.readInt32BE(13), opStart: 9, opEnd: 13 };
  }
  if (type !== 0) return undefined;
  const text = b.toString('latin1', 4, 4 + headerLength); // 1 char per byte: string offsets = byte offsets
  const v = [0, 0, 0];
  let seen = 0;
  let opStart = 0;
  let opEnd = 0;
  RE_RESPONSE_KEYS.lastIndex = 0;
  for (let m; (m = RE_RESPONSE_KEYS.exec(text)); ) {
    const i = m[1] === 'code' ? 0 : m[1] === 'flag' ? 1 : 2;
    if (seen & (1 << i) || m[2] === undefined) return undefined;
    seen |= 1 << i;
    v[i] = Number(m[2]);
    if (i === 2) {
      opEnd = 4 + m.index + m[0].length;
      opStart = opEnd - m[2].length;
    }
  }
  if (seen !== 7 || v[1]! < 0) return undefined;
  return { serializeType: 0, code: v[0]!, flag: v[1]!, opaque: v[2]!, opStart, opEnd };
}

/** The envelope for `target` around `frame` with its opaque replaced by `opaque`. */
export function envelopeWithOpaque(targetBytes: Uint8Array, frame: Uint8Array, p: FramePeek, opaque: number): Buffer {
  const tl = targetBytes.length;
  const src = asBuffer(frame);
  if (p.serializeType === 1) {
    const out = Buffer.allocUnsafe(2 + tl + frame.length);
    out[0] = 0x11;
    out[1] = tl;
    out.set(targetBytes, 2);
    src.copy(out, 2 + tl);
    out.writeInt32BE(opaque, 2 + tl + p.opStart);
    return out;
  }
  const digits = String(opaque);
  const oldLen = p.opEnd - p.opStart;
  const headerLength = src.readUIntBE(1, 3) - oldLen + digits.length;
  const out = Buffer.allocUnsafe(2 + tl + frame.length - oldLen + digits.length);
  out[0] = 0x11;
  out[1] = tl;
  out.set(targetBytes, 2);
  let o = 2 + tl;
  out.writeUInt32BE(headerLength, o); // serialize type 0 in the high byte
  o += 4;
  o += src.copy(out, o, 4, p.opStart);
  o += out.write(digits, o, 'latin1');
  src.copy(out, o, p.opEnd);
  return out;
}

/** Per authorised key: one pass finding the opaque, that key, and \u escapes other than \u0001 / \u0002. */
const requestScanners = new Map<string, RegExp>();
function requestScanner(key = ''): RegExp {
  let re = requestScanners.get(key);
  if (!re) {
    const k = key.replace(/[^\w]/g, '\\$&');
    re = new RegExp(`"opaque"(?::(-?\\d{1,11}))?|\\\\u(?!000[12])${key ? `|"${k}":` : ''}`, 'g');
    if (requestScanners.size < 64) requestScanners.set(key, re);
  }
  re.lastIndex = 0;
  return re;
}

/**
 * Fast path for client requests: where the top-level opaque sits in the frame, if it can be
 * patched safely. `decodedOpaque` is what the full decoder found; `checkedKey` is the extFields
 * key whose value was authorised. JSON headers qualify only when
 * the opaque key is spelled once, literally (no \u escapes except the property separators
 * \u0001 / \u0002), and the digits found equal the decoded value; otherwise undefined.
 */
export function peekRequest(frame: Uint8Array, decodedOpaque: number, checkedKey?: string): FramePeek | undefined {
  if (frame.length < 4) return undefined;
  const b = asBuffer(frame);
  const type = b[0]!;
  const headerLength = b.readUIntBE(1, 3);
  if (type === 1) return { serializeType: 1, code: b.readInt16BE(4), opaque: b.readInt32BE(9), flag: b.readInt32BE(13), opStart: 9, opEnd: 13 };
  if (type !== 0) return undefined;
  if (headerLength > b.length - 4) return undefined;
  const text = b.toString('latin1', 4, 4 + headerLength);
  // The key the gateway authorised on (the topic) must be spelled exactly once, so no parser
  // upstream can read another value than the one checked (duplicate keys → re-encode instead).
  let keys = 0;
  let op: RegExpExecArray | undefined;
  const re = requestScanner(checkedKey);
  for (let m; (m = re.exec(text)); ) {
    if (m[0].startsWith('"opaque"')) {
      if (op || m[1] === undefined) return undefined;
      op = m;
    } else if (m[0][0] === '\\' || ++keys > 1) return undefined;
  }
  if (!op || (checkedKey !== undefined && keys !== 1) || Number(op[1]) !== decodedOpaque) return undefined;
  const opStart = 4 + op.index + 9;
  return { serializeType: 0, code: -1, flag: -1, opaque: decodedOpaque, opStart, opEnd: opStart + op[1]!.length };
}

/** A TCP frame (4-byte length prefix + frame) with the opaque replaced. */
export function tcpFrameWithOpaque(frame: Uint8Array, p: FramePeek, opaque: number): Buffer {
  const src = asBuffer(frame);
  if (p.serializeType === 1) {
    const out = Buffer.allocUnsafe(4 + frame.length);
    out.writeUInt32BE(frame.length, 0);
    src.copy(out, 4);
    out.writeInt32BE(opaque, 4 + p.opStart);
    return out;
  }
  const digits = String(opaque);
  const delta = digits.length - (p.opEnd - p.opStart);
  const out = Buffer.allocUnsafe(4 + frame.length + delta);
  out.writeUInt32BE(frame.length + delta, 0);
  out.writeUInt32BE(src.readUIntBE(1, 3) + delta, 4);
  let o = 8;
  o += src.copy(out, o, 4, p.opStart);
  o += out.write(digits, o, 'latin1');
  src.copy(out, o, p.opEnd);
  return out;
}
