// Splits a TCP byte stream into remoting frames (without their 4-byte length prefix), like core's
// FrameDecoder, but without copying: frames are views into the received chunk (socket reads
// allocate a fresh buffer per chunk, so the views stay valid). Only a frame cut by a chunk
// boundary is copied, once, when its rest arrives.
import { CodecError } from '@rocketmq-edge/core/internal';

const EMPTY = new Uint8Array(0);

export class FrameSplitter {
  private rest: Uint8Array = EMPTY;
  constructor(private readonly maxFrameSize: number) {}

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.rest.length;
  }

  /** Throws CodecError('BAD_LENGTH' | 'OVERSIZE'); the caller should then close the connection. */
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
    // A partial frame is kept as a copy so the (possibly large) chunk is not pinned meanwhile.
    this.rest = p === n ? EMPTY : data.slice(p);
    return frames;
  }
}
