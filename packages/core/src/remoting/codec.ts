// Remoting frame codec: JSON (serializeType 0) and ROCKETMQ binary (serializeType 1) headers.
// A "frame" here is what follows the 4-byte TCP length prefix: [type<<24 | headerLength][header][body].
// WebSocket messages carry exactly that; TCP adds the prefix (encodeFrame / FrameDecoder).
import { CodecError, type CodecErrorReason, type ErrorOptions } from '../errors.js';
import { DEFAULT_MAX_FRAME_SIZE, LANGUAGE_CODES } from './codes.js';
import type { RemotingCommand } from './command.js';
import { fastjsonString } from './json.js';
import { setOwn } from '../message/properties.js';
import { utf8, utf8Decoder } from '../utf8.js';

// Defined in codes.ts, which imports nothing: esbuild inlines it from there.
export { DEFAULT_MAX_FRAME_SIZE };

const EMPTY = new Uint8Array(0);
const fail = (reason: CodecErrorReason, msg: string, options?: ErrorOptions): never => {
  throw new CodecError(reason, msg, options);
};

/** extFields entries that are written (null/undefined values are skipped, as fastjson does). */
const fields = (cmd: RemotingCommand): [string, string][] =>
  Object.entries(cmd.extFields ?? {}).flatMap(([k, v]) => (v == null ? [] : [[k, String(v)]]));

// ---------- encoding ----------

/** Scratch space for JSON headers on their way to UTF-8 (grown when a header needs more). */
let scratch = new Uint8Array(4096);

/**
 * Encodes a command as a frame without the TCP length prefix. With `headroom`, the frame is a
 * view that starts that many bytes into its buffer (room for a transport's header, see Transport).
 * `alloc` makes the storage: Node callers pass its pooled allocUnsafe, several times
 * cheaper than a fresh Uint8Array per frame (every byte of the frame is written here).
 */
export function encodeCommand(cmd: RemotingCommand, headroom = 0, alloc = (size: number): Uint8Array => new Uint8Array(size)): Uint8Array {
  const body = cmd.body ?? EMPTY;
  const binary = cmd.serializeType === 'ROCKETMQ';
  let header: Uint8Array;
  if (binary) header = encodeBinaryHeader(cmd);
  else {
    const json = encodeJsonHeader(cmd);
    if (json.length * 3 > scratch.length) scratch = new Uint8Array(json.length * 3);
    header = scratch.subarray(0, utf8.encodeInto(json, scratch).written);
  }
  const n = header.length;
  if (n > 0xffffff) fail('OVERSIZE', `header of ${n} bytes exceeds 16 MiB`);
  const out = alloc(headroom + 4 + n + body.length).subarray(headroom);
  out[0] = +binary;
  out[1] = n >> 16;
  out[2] = n >> 8;
  out[3] = n;
  out.set(header, 4);
  out.set(body, 4 + n);
  return out;
}

/** Encodes a command as a TCP frame: 4-byte big-endian length, then the frame. */
export function encodeFrame(cmd: RemotingCommand, alloc?: (size: number) => Uint8Array): Uint8Array {
  const inner = encodeCommand(cmd, 4, alloc);
  const out = new Uint8Array(inner.buffer, inner.byteOffset - 4, inner.length + 4);
  new DataView(out.buffer, out.byteOffset).setUint32(0, inner.length);
  return out;
}

/** The JSON header exactly as fastjson writes RemotingCommand: sorted properties, nulls omitted. */
export function encodeJsonHeader(cmd: RemotingCommand): string {
  const j = fastjsonString;
  const e = cmd.extFields;
  let ext = '';
  if (e) {
    for (const k of Object.keys(e)) {
      const v = e[k];
      if (v != null) ext += `${ext ? ',' : ''}${j(k)}:${j(String(v))}`;
    }
    ext = `"extFields":{${ext}},`;
  }
  const remark = cmd.remark != null ? `"remark":${j(cmd.remark)},` : '';
  return `{"code":${cmd.code},${ext}"flag":${cmd.flag},"language":${j(cmd.language)},"opaque":${cmd.opaque},${remark}"serializeTypeCurrentRPC":"${cmd.serializeType}","version":${cmd.version}}`;
}

/** RocketMQSerializable.rocketMQProtocolEncode. */
export function encodeBinaryHeader(cmd: RemotingCommand): Uint8Array {
  const remark = utf8.encode(cmd.remark ?? '');
  const ext = fields(cmd).map((e) => e.map((x) => utf8.encode(x)));
  let n = 21 + remark.length;
  for (const [k, v] of ext) {
    if (k!.length > 0x7fff) fail('OVERSIZE', `extFields key of ${k!.length} bytes`);
    n += 6 + k!.length + v!.length;
  }
  const out = new Uint8Array(n);
  let p = 0;
  /** A big-endian int of `size` bytes. */
  const int = (v: number, size: number): void => {
    while (size--) out[p++] = v >> (8 * size);
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
  int(n - p - 4, 4);
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
  if (n < 4) fail('TRUNCATED', `frame of ${n} bytes is too short`);
  const type = frame[0]!;
  const headerLength = (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!;
  if (headerLength > n - 4) fail('TRUNCATED', `header length ${headerLength} exceeds the ${n - 4} bytes present`);
  if (type > 1) fail('BAD_SERIALIZE_TYPE', `unknown serialize type ${type}`);
  const header = frame.subarray(4, 4 + headerLength);
  const cmd = type ? decodeBinaryHeader(header) : decodeJsonHeader(header);
  if (n > 4 + headerLength) cmd.body = frame.subarray(4 + headerLength);
  return cmd;
}

const badHeader = (msg: string, options?: ErrorOptions): never => fail('BAD_HEADER', msg, options);
const isMap = (x: unknown): boolean => !!x && typeof x == 'object' && !Array.isArray(x);

export function decodeJsonHeader(bytes: Uint8Array): RemotingCommand {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(utf8Decoder.decode(bytes));
  } catch (e) {
    return badHeader(`JSON header does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (!isMap(o)) badHeader('JSON header is not an object');
  /** An integer field (numbers as strings too); `fallback` when absent, else required. */
  const int = (field: string, fallback?: number): number => {
    const v = o[field] ?? fallback;
    if (v === undefined) badHeader(`JSON header lacks "${field}"`);
    const n = typeof v == 'string' ? +v : v;
    if (!Number.isInteger(n)) badHeader(`JSON header "${field}" is not an integer`);
    return n as number;
  };
  const { language: l, remark, extFields } = o;
  const cmd: RemotingCommand = {
    code: int('code'),
    language: typeof l == 'string' ? l : typeof l == 'number' ? LANGUAGE_CODES[l] ?? 'OTHER' : 'JAVA',
    version: int('version', 0),
    opaque: int('opaque', 0),
    flag: int('flag', 0),
    serializeType: 'JSON',
  };
  if (typeof remark == 'string') cmd.remark = remark;
  if (extFields != null) {
    if (!isMap(extFields)) badHeader('extFields is not an object');
    const src = extFields as Record<string, unknown>;
    // Usually every value is a string already: keep the parsed object (own keys only, as JSON.parse makes them).
    let plain = true;
    for (const k in src) if (typeof src[k] != 'string') plain = false;
    if (plain) cmd.extFields = src as Record<string, string>;
    else {
      const ext: Record<string, string> = (cmd.extFields = {});
      for (const k in src) {
        const v = src[k];
        if (v != null) setOwn(ext, k, typeof v == 'object' ? JSON.stringify(v) : `${v}`);
      }
    }
  }
  return cmd;
}

export function decodeBinaryHeader(bytes: Uint8Array): RemotingCommand {
  let p = 0;
  let end = bytes.length;
  /** Fails unless `n` (≥ 0) more bytes, plus `extra`, lie before `end`. */
  const need = (n: number, what: string, extra = 0): void => {
    if (n < 0 || p + n + extra > end) badHeader(`binary header: ${what} overruns the header (needs ${n} bytes at ${p} of ${end})`);
  };
  /** A big-endian signed int of `size` bytes. */
  const int = (size: number): number => {
    let v = 0;
    for (let i = size; i--; ) v = (v << 8) | bytes[p++]!;
    return (v << (32 - 8 * size)) >> (32 - 8 * size);
  };
  /** A length of `size` bytes, then that many bytes of text (and `extra` more bytes after them). */
  const text = (size: number, what: string, extra = 0): string => {
    need(size, `${what} length`);
    const n = int(size);
    need(n, what, extra);
    return utf8Decoder.decode(bytes.subarray(p, (p += n)));
  };
  need(17, 'fixed fields');
  const cmd: RemotingCommand = {
    code: int(2),
    language: LANGUAGE_CODES[int(1)] ?? 'OTHER',
    version: int(2),
    opaque: int(4),
    flag: int(4),
    serializeType: 'ROCKETMQ',
  };
  const remark = text(4, 'remark');
  if (remark) cmd.remark = remark;
  need(4, 'extFields length');
  const mapLen = int(4);
  need(mapLen, 'extFields');
  end = p + mapLen;
  if (mapLen > 0) {
    const ext: Record<string, string> = (cmd.extFields = {});
    while (p < end) {
      const k = text(2, 'extFields key', 4);
      const v = text(4, 'extFields value');
      if (k && v) ext[k] = v;
    }
  }
  if (end !== bytes.length) badHeader(`binary header has ${bytes.length - end} trailing bytes`);
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
