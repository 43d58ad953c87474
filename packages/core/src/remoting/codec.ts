// Remoting frame codec: JSON (serializeType 0) and ROCKETMQ binary (serializeType 1) headers.
// A "frame" here is what follows the 4-byte TCP length prefix: [type<<24 | headerLength][header][body].
// WebSocket messages carry exactly that; TCP adds the prefix (encodeFrame / FrameDecoder).
import { CodecError } from '../errors.js';
import { LANGUAGE_CODES } from './codes.js';
import type { RemotingCommand, SerializeType } from './command.js';
import { fastjsonString } from './json.js';

/** The Java decoder's default limit (NettyDecoder, com.rocketmq.remoting.frameMaxLength). */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const EMPTY = new Uint8Array(0);

// ---------- encoding ----------

/** Encodes a command as a frame without the TCP length prefix. */
export function encodeCommand(cmd: RemotingCommand): Uint8Array {
  const header = cmd.serializeType === 'ROCKETMQ' ? encodeBinaryHeader(cmd) : utf8.encode(encodeJsonHeader(cmd));
  if (header.length > 0xffffff) throw new CodecError('OVERSIZE', `header of ${header.length} bytes exceeds 16 MiB`);
  const body = cmd.body ?? EMPTY;
  const out = new Uint8Array(4 + header.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, ((cmd.serializeType === 'ROCKETMQ' ? 1 : 0) << 24) | header.length);
  out.set(header, 4);
  out.set(body, 4 + header.length);
  return out;
}

/** Encodes a command as a TCP frame: 4-byte big-endian length, then the frame. */
export function encodeFrame(cmd: RemotingCommand): Uint8Array {
  const inner = encodeCommand(cmd);
  const out = new Uint8Array(4 + inner.length);
  new DataView(out.buffer).setUint32(0, inner.length);
  out.set(inner, 4);
  return out;
}

/** The JSON header exactly as fastjson writes RemotingCommand: sorted properties, nulls omitted. */
export function encodeJsonHeader(cmd: RemotingCommand): string {
  let s = `{"code":${cmd.code}`;
  if (cmd.extFields) {
    s += ',"extFields":{';
    let first = true;
    for (const [k, v] of Object.entries(cmd.extFields)) {
      if (v === undefined || v === null) continue;
      s += `${first ? '' : ','}${fastjsonString(k)}:${fastjsonString(String(v))}`;
      first = false;
    }
    s += '}';
  }
  s += `,"flag":${cmd.flag},"language":${fastjsonString(cmd.language)},"opaque":${cmd.opaque}`;
  if (cmd.remark !== undefined && cmd.remark !== null) s += `,"remark":${fastjsonString(cmd.remark)}`;
  s += `,"serializeTypeCurrentRPC":"${cmd.serializeType}","version":${cmd.version}}`;
  return s;
}

function languageByte(name: string): number {
  const i = LANGUAGE_CODES.indexOf(name);
  return i < 0 ? LANGUAGE_CODES.indexOf('OTHER') : i;
}

/** RocketMQSerializable.rocketMQProtocolEncode. */
export function encodeBinaryHeader(cmd: RemotingCommand): Uint8Array {
  const remark = cmd.remark ? utf8.encode(cmd.remark) : EMPTY;
  const entries: [Uint8Array, Uint8Array][] = [];
  let mapLen = 0;
  for (const [k, v] of Object.entries(cmd.extFields ?? {})) {
    if (v === undefined || v === null) continue;
    const kb = utf8.encode(k);
    const vb = utf8.encode(String(v));
    if (kb.length > 0x7fff) throw new CodecError('OVERSIZE', `extFields key of ${kb.length} bytes`);
    entries.push([kb, vb]);
    mapLen += 2 + kb.length + 4 + vb.length;
  }
  const out = new Uint8Array(2 + 1 + 2 + 4 + 4 + 4 + remark.length + 4 + mapLen);
  const v = new DataView(out.buffer);
  let p = 0;
  v.setInt16(p, cmd.code); p += 2;
  v.setUint8(p, languageByte(cmd.language)); p += 1;
  v.setInt16(p, cmd.version); p += 2;
  v.setInt32(p, cmd.opaque); p += 4;
  v.setInt32(p, cmd.flag); p += 4;
  v.setInt32(p, remark.length); p += 4;
  out.set(remark, p); p += remark.length;
  v.setInt32(p, mapLen); p += 4;
  for (const [kb, vb] of entries) {
    v.setInt16(p, kb.length); p += 2;
    out.set(kb, p); p += kb.length;
    v.setInt32(p, vb.length); p += 4;
    out.set(vb, p); p += vb.length;
  }
  return out;
}

// ---------- decoding ----------

export interface DecodeOptions { maxFrameSize?: number }

/** Decodes a frame without the TCP length prefix. Throws CodecError, never anything else. */
export function decodeCommand(frame: Uint8Array, opts: DecodeOptions = {}): RemotingCommand {
  const max = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  if (frame.length > max) throw new CodecError('OVERSIZE', `frame of ${frame.length} bytes exceeds the ${max}-byte limit`);
  if (frame.length < 4) throw new CodecError('TRUNCATED', `frame of ${frame.length} bytes is shorter than its 4-byte header length`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const word = view.getUint32(0);
  const type = word >>> 24;
  const headerLength = word & 0xffffff;
  if (headerLength > frame.length - 4) {
    throw new CodecError('TRUNCATED', `header length ${headerLength} exceeds the ${frame.length - 4} bytes present`);
  }
  const header = frame.subarray(4, 4 + headerLength);
  const body = frame.subarray(4 + headerLength);
  let cmd: RemotingCommand;
  if (type === 0) cmd = decodeJsonHeader(header);
  else if (type === 1) cmd = decodeBinaryHeader(header);
  else throw new CodecError('BAD_SERIALIZE_TYPE', `unknown serialize type ${type} (0 = JSON, 1 = ROCKETMQ)`);
  if (body.length > 0) cmd.body = body;
  return cmd;
}

function int(value: unknown, field: string, fallback?: number): number {
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new CodecError('BAD_HEADER', `JSON header lacks "${field}"`);
  }
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new CodecError('BAD_HEADER', `JSON header "${field}" is not an integer`);
  return n;
}

export function decodeJsonHeader(bytes: Uint8Array): RemotingCommand {
  let obj: unknown;
  try {
    obj = JSON.parse(utf8Decoder.decode(bytes));
  } catch (e) {
    throw new CodecError('BAD_HEADER', `JSON header does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new CodecError('BAD_HEADER', 'JSON header is not an object');
  const o = obj as Record<string, unknown>;
  let language = 'JAVA';
  if (typeof o.language === 'string') language = o.language;
  else if (typeof o.language === 'number') language = LANGUAGE_CODES[o.language] ?? 'OTHER';
  const cmd: RemotingCommand = {
    code: int(o.code, 'code'),
    language,
    version: int(o.version, 'version', 0),
    opaque: int(o.opaque, 'opaque', 0),
    flag: int(o.flag, 'flag', 0),
    serializeType: 'JSON',
  };
  if (typeof o.remark === 'string') cmd.remark = o.remark;
  if (o.extFields !== undefined && o.extFields !== null) {
    if (typeof o.extFields !== 'object' || Array.isArray(o.extFields)) throw new CodecError('BAD_HEADER', 'extFields is not an object');
    const ext: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.extFields as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      ext[k] = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    cmd.extFields = ext;
  }
  return cmd;
}

export function decodeBinaryHeader(bytes: Uint8Array): RemotingCommand {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n: number, what: string) => {
    if (n < 0 || p + n > bytes.length) throw new CodecError('BAD_HEADER', `binary header truncated in ${what} (needs ${n} bytes at ${p} of ${bytes.length})`);
  };
  need(17, 'fixed fields');
  const code = v.getInt16(p); p += 2;
  const langByte = v.getUint8(p); p += 1;
  const version = v.getInt16(p); p += 2;
  const opaque = v.getInt32(p); p += 4;
  const flag = v.getInt32(p); p += 4;
  const remarkLen = v.getInt32(p); p += 4;
  need(remarkLen, 'remark');
  const remark = remarkLen > 0 ? utf8Decoder.decode(bytes.subarray(p, p + remarkLen)) : undefined;
  p += remarkLen;
  need(4, 'extFields length');
  const mapLen = v.getInt32(p); p += 4;
  need(mapLen, 'extFields');
  const end = p + mapLen;
  const cmd: RemotingCommand = {
    code,
    language: LANGUAGE_CODES[langByte] ?? 'OTHER',
    version,
    opaque,
    flag,
    serializeType: 'ROCKETMQ' as SerializeType,
  };
  if (remark !== undefined) cmd.remark = remark;
  if (mapLen > 0) {
    const ext: Record<string, string> = {};
    while (p < end) {
      if (end - p < 2) throw new CodecError('BAD_HEADER', 'binary extFields truncated in key length');
      const kl = v.getInt16(p); p += 2;
      if (kl < 0 || p + kl + 4 > end) throw new CodecError('BAD_HEADER', 'binary extFields key overruns the map');
      const k = utf8Decoder.decode(bytes.subarray(p, p + kl)); p += kl;
      const vl = v.getInt32(p); p += 4;
      if (vl < 0 || p + vl > end) throw new CodecError('BAD_HEADER', 'binary extFields value overruns the map');
      const val = utf8Decoder.decode(bytes.subarray(p, p + vl)); p += vl;
      if (kl > 0 && vl > 0) ext[k] = val;
    }
    cmd.extFields = ext;
  }
  if (end !== bytes.length) throw new CodecError('BAD_HEADER', `binary header has ${bytes.length - end} trailing bytes`);
  return cmd;
}

/**
 * Splits a TCP byte stream into frames (without their length prefix).
 * Throws CodecError('OVERSIZE' | 'BAD_LENGTH'); the caller should then close the connection,
 * as the Java peers do.
 */
export class FrameDecoder {
  private buf: Uint8Array = EMPTY;
  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    let data: Uint8Array;
    if (this.buf.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.buf.length + chunk.length);
      data.set(this.buf);
      data.set(chunk, this.buf.length);
    }
    const frames: Uint8Array[] = [];
    let p = 0;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    while (data.length - p >= 4) {
      const len = view.getUint32(p);
      if (len < 4) throw new CodecError('BAD_LENGTH', `frame length ${len} is smaller than the 4-byte header length field`);
      if (len > this.maxFrameSize) throw new CodecError('OVERSIZE', `frame of ${len} bytes exceeds the ${this.maxFrameSize}-byte limit`);
      if (data.length - p - 4 < len) break;
      frames.push(data.slice(p + 4, p + 4 + len));
      p += 4 + len;
    }
    this.buf = p === data.length ? EMPTY : data.slice(p);
    return frames;
  }
}
