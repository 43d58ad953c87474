// Fast path for upstream responses: find opaque / flag / code without building a command, and
// re-emit the frame with the client's opaque straight into a WebSocket envelope (one allocation).
// Only used on frames from the (trusted) upstream; anything unusual falls back to decode/encode.
import { CodecError, DEFAULT_MAX_FRAME_SIZE } from '@rocketmq-edge/core/internal';

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
const RE_FLAG = /"flag":(\d{1,11})/;
const RE_CODE = /"code":(-?\d{1,11})/;

function once(text: string, key: string): boolean {
  const i = text.indexOf(key);
  return i >= 0 && i === text.lastIndexOf(key);
}

export function peekFrame(frame: Uint8Array): FramePeek | undefined {
  if (frame.length < 4) return undefined;
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const type = b[0]!;
  const headerLength = b.readUIntBE(1, 3);
  if (headerLength > b.length - 4) return undefined;
  if (type === 1) {
    if (headerLength < 17) return undefined;
    return { serializeType: 1, code: b.readInt16BE(4), opaque: b.readInt32BE(9), flag: b.readInt32BE(13), opStart: 9, opEnd: 13 };
  }
  if (type !== 0) return undefined;
  const text = b.toString('latin1', 4, 4 + headerLength); // 1 char per byte: string offsets = byte offsets
  if (!once(text, '"opaque"') || !once(text, '"flag"') || !once(text, '"code"')) return undefined;
  const op = RE_OPAQUE.exec(text);
  const fl = RE_FLAG.exec(text);
  const co = RE_CODE.exec(text);
  if (!op || !fl || !co) return undefined;
  const opStart = 4 + op.index + 9; // after "opaque":
  return {
    serializeType: 0, code: Number(co[1]), flag: Number(fl[1]), opaque: Number(op[1]),
    opStart, opEnd: opStart + op[1]!.length,
  };
}

/** The envelope for `target` around `frame` with its opaque replaced by `opaque`. */
export function envelopeWithOpaque(targetBytes: Uint8Array, frame: Uint8Array, p: FramePeek, opaque: number): Buffer {
  const tl = targetBytes.length;
  const src = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
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

/**
 * Fast path for client requests: where the top-level opaque sits in the frame, if it can be
 * patched safely. `decodedOpaque` is what the full decoder found; `checkedKey` is the extFields
 * key whose value was authorised. JSON headers qualify only when
 * the opaque key is spelled once, literally (no \u escapes except the property separators
 * \u0001 / \u0002), and the digits found equal the decoded value; otherwise undefined.
 */
export function peekRequest(frame: Uint8Array, decodedOpaque: number, checkedKey?: string): FramePeek | undefined {
  if (frame.length < 4) return undefined;
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const type = b[0]!;
  const headerLength = b.readUIntBE(1, 3);
  if (type === 1) return { serializeType: 1, code: b.readInt16BE(4), opaque: b.readInt32BE(9), flag: b.readInt32BE(13), opStart: 9, opEnd: 13 };
  if (type !== 0) return undefined;
  const text = b.toString('latin1', 4, 4 + headerLength);
  if (!once(text, '"opaque"') || RE_FOREIGN_ESCAPE.test(text)) return undefined;
  // The key the gateway authorised on (the topic) must be spelled exactly once, so no parser
  // upstream can read another value than the one checked (duplicate keys → re-encode instead).
  if (checkedKey !== undefined && !once(text, `"${checkedKey}":`)) return undefined;
  const op = RE_OPAQUE.exec(text);
  if (!op || Number(op[1]) !== decodedOpaque) return undefined;
  const opStart = 4 + op.index + 9;
  return { serializeType: 0, code: -1, flag: -1, opaque: decodedOpaque, opStart, opEnd: opStart + op[1]!.length };
}

/** A TCP frame (4-byte length prefix + frame) with the opaque replaced. */
export function tcpFrameWithOpaque(frame: Uint8Array, p: FramePeek, opaque: number): Buffer {
  const src = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
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

const EMPTY = new Uint8Array(0);

/**
 * Splits a TCP byte stream into frames (without the length prefix) like core's FrameDecoder, but
 * without copying: frames are views into the received chunk (every socket read gets a fresh
 * buffer). Only a frame cut by a chunk boundary is copied, once. Throws CodecError.
 */
export class FrameSplitter {
  private rest: Uint8Array = EMPTY;
  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  push(chunk: Uint8Array): Uint8Array[] {
    let data = chunk;
    if (this.rest.length) {
      data = new Uint8Array(this.rest.length + chunk.length);
      data.set(this.rest);
      data.set(chunk, this.rest.length);
    }
    const frames: Uint8Array[] = [];
    const n = data.length;
    let p = 0;
    while (n - p >= 4) {
      const len = ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) >>> 0;
      if (len < 4) throw new CodecError('BAD_LENGTH', `frame length ${len} is smaller than the 4-byte header length field`);
      if (len > this.maxFrameSize) throw new CodecError('OVERSIZE', `frame of ${len} bytes exceeds the ${this.maxFrameSize}-byte limit`);
      if (n - p - 4 < len) break;
      frames.push(data.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    this.rest = p === n ? EMPTY : data.slice(p);
    return frames;
  }
}
