// Remoting frame codec: JSON (serializeType 0) and ROCKETMQ binary (serializeType 1) headers.
// A "frame" here is what follows the 4-byte TCP length prefix: [type<<24 | headerLength][header][body].
// WebSocket messages carry exactly that; TCP adds the prefix (encodeFrame / FrameDecoder).
import { CodecError, type CodecErrorReason, type ErrorOptions } from '../errors.js';
import { LANGUAGE_CODES } from './codes.js';
import type { RemotingCommand } from './command.js';
import { fastjsonString } from './json.js';

/** The Java decoder's default limit (NettyDecoder, com.rocketmq.remoting.frameMaxLength). */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const fail = (reason: CodecErrorReason, msg: string, options?: ErrorOptions): never => {
  throw new CodecError(reason, msg, options);
};

/** extFields entries that are written (null/undefined values are skipped, as fastjson does). */
const fields = (cmd: RemotingCommand): [string, string][] =>
  Object.entries(cmd.extFields ?? {}).flatMap(([k, v]) => (v == null ? [] : [[k, String(v)]]));

// ---------- encoding ----------

/** Encodes a command as a frame without the TCP length prefix. */
export function encodeCommand(cmd: RemotingCommand): Uint8Array {
  const binary = cmd.serializeType === 'ROCKETMQ';
  const header = binary ? encodeBinaryHeader(cmd) : utf8.encode(encodeJsonHeader(cmd));
  const n = header.length;
  if (n > 0xffffff) fail('OVERSIZE', `header of ${n} bytes exceeds 16 MiB`);
  const body = cmd.body ?? EMPTY;
  const out = new Uint8Array(4 + n + body.length);
  new DataView(out.buffer).setUint32(0, (+binary << 24) | n);
  out.set(header, 4);
  out.set(body, 4 + n);
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
  const j = fastjsonString;
  const ext = cmd.extFields ? `"extFields":{${fields(cmd).map(([k, v]) => `${j(k)}:${j(v)}`).join()}},` : '';
  const remark = cmd.remark != null ? `"remark":${j(cmd.remark)},` : '';
  return `{"code":${cmd.code},${ext}"flag":${cmd.flag},"language":${j(cmd.language)},"opaque":${cmd.opaque},${remark}"serializeTypeCurrentRPC":"${cmd.serializeType}","version":${cmd.version}}`;
}

/** RocketMQSerializable.rocketMQProtocolEncode. */
export function encodeBinaryHeader(cmd: RemotingCommand): Uint8Array {
  const remark = utf8.encode(cmd.remark ?? '');
  const ext = fields(cmd).map((e) => e.map((x) => utf8.encode(x)));
  let mapLen = 0;
  for (const [k, v] of ext) {
    if (k!.length > 0x7fff) fail('OVERSIZE', `extFields key of ${k!.length} bytes`);
    mapLen += 6 + k!.length + v!.length;
  }
  const out = new Uint8Array(21 + remark.length + mapLen);
  const view = new DataView(out.buffer);
  let p = 0;
  /** A big-endian int of `size` bytes (1 = unsigned byte). */
  const int = (n: number, size: number): void => {
    if (size === 1) view.setUint8(p, n);
    else if (size === 2) view.setInt16(p, n);
    else view.setInt32(p, n);
    p += size;
  };
  /** Length (of `size` bytes), then the bytes. */
  const bytes = (b: Uint8Array, size: number): void => {
    int(b.length, size);
    out.set(b, p);
    p += b.length;
  };
  const lang = LANGUAGE_CODES.indexOf(cmd.language);
  int(cmd.code, 2);
  int(lang < 0 ? LANGUAGE_CODES.indexOf('OTHER') : lang, 1);
  int(cmd.version, 2);
  int(cmd.opaque, 4);
  int(cmd.flag, 4);
  bytes(remark, 4);
  int(mapLen, 4);
  for (const [k, v] of ext) {
    bytes(k!, 2);
    bytes(v!, 4);
  }
  return out;
}

// ---------- decoding ----------

export interface DecodeOptions { maxFrameSize?: number }

/** Decodes a frame without the TCP length prefix. Throws CodecError, never anything else. */
export function decodeCommand(frame: Uint8Array, opts: DecodeOptions = {}): RemotingCommand {
  const max = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  const n = frame.length;
  if (n > max) fail('OVERSIZE', `frame of ${n} bytes exceeds the ${max}-byte limit`);
  if (n < 4) fail('TRUNCATED', `frame of ${n} bytes is shorter than its 4-byte header length`);
  const word = new DataView(frame.buffer, frame.byteOffset, n).getUint32(0);
  const type = word >>> 24;
  const headerLength = word & 0xffffff;
  if (headerLength > n - 4) fail('TRUNCATED', `header length ${headerLength} exceeds the ${n - 4} bytes present`);
  if (type > 1) fail('BAD_SERIALIZE_TYPE', `unknown serialize type ${type} (0 = JSON, 1 = ROCKETMQ)`);
  const header = frame.subarray(4, 4 + headerLength);
  const body = frame.subarray(4 + headerLength);
  const cmd = type ? decodeBinaryHeader(header) : decodeJsonHeader(header);
  if (body.length) cmd.body = body;
  return cmd;
}

export function decodeJsonHeader(bytes: Uint8Array): RemotingCommand {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(utf8Decoder.decode(bytes));
  } catch (e) {
    return fail('BAD_HEADER', `JSON header does not parse: ${(e as Error).message}`, { cause: e });
  }
  const isMap = (x: unknown): boolean => typeof x === 'object' && !Array.isArray(x);
  if (!o || !isMap(o)) fail('BAD_HEADER', 'JSON header is not an object');
  /** An integer field (numbers as strings too); `fallback` when absent, else required. */
  const int = (field: string, fallback?: number): number => {
    const value = o[field];
    const n = value == null ? fallback : typeof value === 'string' ? Number(value) : value;
    if (n === undefined) fail('BAD_HEADER', `JSON header lacks "${field}"`);
    if (!Number.isInteger(n)) fail('BAD_HEADER', `JSON header "${field}" is not an integer`);
    return n as number;
  };
  const { language, remark, extFields } = o;
  const cmd: RemotingCommand = {
    code: int('code'),
    language: typeof language === 'string' ? language : typeof language === 'number' ? LANGUAGE_CODES[language] ?? 'OTHER' : 'JAVA',
    version: int('version', 0),
    opaque: int('opaque', 0),
    flag: int('flag', 0),
    serializeType: 'JSON',
  };
  if (typeof remark === 'string') cmd.remark = remark;
  if (extFields != null) {
    if (!isMap(extFields)) fail('BAD_HEADER', 'extFields is not an object');
    const ext: Record<string, string> = (cmd.extFields = {});
    for (const [k, v] of Object.entries(extFields as object)) {
      if (v != null) ext[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  }
  return cmd;
}

export function decodeBinaryHeader(bytes: Uint8Array): RemotingCommand {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  let end = bytes.length;
  /** Fails unless `n` (≥ 0) more bytes, plus `extra`, lie before `end`. */
  const need = (n: number, what: string, extra = 0): void => {
    if (n < 0 || p + n + extra > end) fail('BAD_HEADER', `binary header: ${what} overruns the header (needs ${n} bytes at ${p} of ${end})`);
  };
  /** A big-endian int of `size` bytes (1 = unsigned byte). */
  const int = (size: number): number => {
    const n = size === 1 ? view.getUint8(p) : size === 2 ? view.getInt16(p) : view.getInt32(p);
    p += size;
    return n;
  };
  const text = (n: number): string => utf8Decoder.decode(bytes.subarray(p, (p += n)));
  need(17, 'fixed fields');
  const cmd: RemotingCommand = {
    code: int(2),
    language: LANGUAGE_CODES[int(1)] ?? 'OTHER',
    version: int(2),
    opaque: int(4),
    flag: int(4),
    serializeType: 'ROCKETMQ',
  };
  const remarkLen = int(4);
  need(remarkLen, 'remark');
  if (remarkLen > 0) cmd.remark = text(remarkLen);
  need(4, 'extFields length');
  const mapLen = int(4);
  need(mapLen, 'extFields');
  end = p + mapLen;
  if (mapLen > 0) {
    const ext: Record<string, string> = (cmd.extFields = {});
    while (p < end) {
      need(2, 'extFields key length');
      const kl = int(2);
      need(kl, 'extFields key', 4);
      const k = text(kl);
      const vl = int(4);
      need(vl, 'extFields value');
      const v = text(vl);
      if (kl > 0 && vl > 0) ext[k] = v;
    }
  }
  if (end !== bytes.length) fail('BAD_HEADER', `binary header has ${bytes.length - end} trailing bytes`);
  return cmd;
}

/**
 * Splits a TCP byte stream into frames (without their length prefix). Frames are views into the
 * pushed chunk, so push chunks that are not reused afterwards (socket reads are fresh buffers);
 * only a frame cut by a chunk boundary is copied, once.
 * Throws CodecError('OVERSIZE' | 'BAD_LENGTH'); the caller should then close the connection, as the
 * Java peers do. Frames that arrived before a bad length in the same chunk are still returned (a
 * Java peer handles them too); the error is then kept in `error` and thrown by the next push, so
 * callers check `error` after handling the frames.
 */
export class FrameDecoder {
  #buf: Uint8Array = EMPTY;
  readonly #maxFrameSize: number;
  /** Set once the stream has gone bad after frames were returned; the stream is unusable. */
  error: CodecError | undefined;

  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.#maxFrameSize = maxFrameSize;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.error) throw this.error;
    let data = chunk;
    if (this.#buf.length) {
      data = new Uint8Array(this.#buf.length + chunk.length);
      data.set(this.#buf);
      data.set(chunk, this.#buf.length);
    }
    const frames: Uint8Array[] = [];
    const n = data.length;
    let p = 0;
    while (n - p >= 4) {
      const len = ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) >>> 0;
      if (len < 4 || len > this.#maxFrameSize) {
        const e = len < 4
          ? new CodecError('BAD_LENGTH', `frame length ${len} is smaller than the 4-byte header length field`)
          : new CodecError('OVERSIZE', `frame of ${len} bytes exceeds the ${this.#maxFrameSize}-byte limit`);
        if (!frames.length) throw e;
        this.error = e;
        this.#buf = EMPTY;
        return frames;
      }
      if (n - p - 4 < len) break;
      frames.push(data.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    // A partial frame is kept as a copy so the (possibly large) chunk is not pinned meanwhile.
    this.#buf = p === n ? EMPTY : data.slice(p);
    return frames;
  }
}
