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

const RE_OPAQUE = /"opaque":(-?\d{1,11})/;

/** True when `key` occurs exactly once in `text`. */
function once(text: string, key: string): boolean {
  const i = text.indexOf(key);
  return i >= 0 && text.indexOf(key, i + 1) < 0;
}

/**
 * The integer after the single occurrence of `key` (`"name"`): what /"name":(-?\d{1,11})/ finds
 * when `key` occurs once. Returns the value and where its digits start and end, or undefined.
 */
function intAfter(text: string, key: string, out: { value: number; start: number; end: number }): boolean {
  const i = text.indexOf(key);
  if (i < 0 || text.indexOf(key, i + 1) >= 0) return false;
  let p = i + key.length;
  if (text.charCodeAt(p) !== 58 /* : */) return false;
  p++;
  const start = p;
  if (text.charCodeAt(p) === 45 /* - */) p++;
  const digits = p;
  while (p < text.length && p - digits < 11) {
    const c = text.charCodeAt(p);
    if (c < 48 || c > 57) break;
    p++;
  }
  if (p === digits) return false;
  out.value = Number(text.slice(start, p));
  out.start = start;
  out.end = p;
  return true;
}

const scratch = { value: 0, start: 0, end: 0 };

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
  if (!intAfter(text, '"code"', scratch)) return undefined;
  const code = scratch.value;
  if (!intAfter(text, '"flag"', scratch) || scratch.value < 0) return undefined;
  const flag = scratch.value;
  if (!intAfter(text, '"opaque"', scratch)) return undefined;
  const opStart = 4 + scratch.start;
  return { serializeType: 0, code, flag, opaque: scratch.value, opStart, opEnd: 4 + scratch.end };
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

const RE_FOREIGN_ESCAPE = /\\u(?!000[12])/;

const keyPatterns = new Map<string, string>();
function keyPattern(key: string): string {
  let k = keyPatterns.get(key);
  if (k === undefined) {
    k = `"${key}":`;
    if (keyPatterns.size < 64) keyPatterns.set(key, k);
  }
  return k;
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
  if (!once(text, '"opaque"') || RE_FOREIGN_ESCAPE.test(text)) return undefined;
  // The key the gateway authorised on (the topic) must be spelled exactly once, so no parser
  // upstream can read another value than the one checked (duplicate keys → re-encode instead).
  if (checkedKey !== undefined && !once(text, keyPattern(checkedKey))) return undefined;
  const op = RE_OPAQUE.exec(text);
  if (!op || Number(op[1]) !== decodedOpaque) return undefined;
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
