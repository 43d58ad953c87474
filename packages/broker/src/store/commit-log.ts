// Append-only commit log in segment files named by their first byte offset (20 digits, like
// RocketMQ). A record never spans two segments; a segment rolls when the next record would push
// it past `segmentSize` (a record larger than a segment gets a segment of its own). Offsets are
// byte positions in the log, so they grow monotonically and stay unique for ever.
//
// A failed write (disk full, I/O error) is rolled back: the segment is truncated to where the
// failed batch began, the appends of that batch and their waiters fail, and the log takes no
// appends until probe() shows the disk takes bytes again. Nothing is left that recovery would have
// to cut, and nothing not written was acknowledged.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { StoreNotWritableError, describeWriteError } from './errors.js';
import { inspectRecord, type RecordInfo } from './record.js';

/** Bytes probe() writes past the end of the log (and takes back) to see whether the disk has room. */
export const PROBE_BYTES = 64 * 1024;
const PROBE = new Uint8Array(PROBE_BYTES);

export type FlushMode = 'ASYNC_FLUSH' | 'SYNC_FLUSH';

interface Segment {
  base: number;
  size: number;
  file: string;
  fd: number | undefined;
  mtimeMs: number;
}

export interface CommitLogOptions {
  dir: string;
  segmentSize: number;
  logger: Logger;
  /** Appends from this offset on (`bytes` of them) were taken back after a failed write (drop what indexes them). */
  onRollback?: (offset: number, bytes: number) => void;
  /** The log stopped (false, with the write error) or resumed (true) taking appends. */
  onWritableChange?: (writable: boolean, reason?: Error) => void;
}

export class CommitLog {
  private segments: Segment[] = [];
  private active!: Segment;
  /** Bytes appended (logical end of the log, including records not yet handed to write()). */
  private writePos = 0;
  /** Bytes handed to write(2), i.e. in the OS page cache. */
  private diskPos = 0;
  /** Records appended in this turn of the event loop, written together with one writev. */
  private pending: Uint8Array[] = [];
  private drainScheduled = false;
  /** Set while appends are refused (after a failed write, until probe() succeeds). */
  private notWritable: Error | undefined;
  /**
   * The offset of every rollback so far; its length is the current epoch. An append made in epoch
   * e and ending at p was taken back iff a rollback since e went below p.
   */
  private rollbacks: number[] = [];
  private writeWaiters: { pos: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Bytes known to be on stable storage. */
  private flushedPos = 0;
  private flushRunning = false;
  private waiters: { pos: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private flushPromise: Promise<void> | undefined;

  constructor(private readonly opts: CommitLogOptions) {}

  /**
   * Opens the log and scans every record (magic, sizes, body CRC). A torn or corrupt tail is cut
   * off. Calls `onRecord` for every valid record in log order so the caller can rebuild indexes.
   */
  recover(onRecord: (info: RecordInfo, offset: number) => void): { truncatedBytes: number } {
    fs.mkdirSync(this.opts.dir, { recursive: true });
    const names = fs.readdirSync(this.opts.dir).filter((n) => /^\d{20}$/.test(n)).sort();
    let truncated = 0;
    for (let i = 0; i < names.length; i++) {
      const file = path.join(this.opts.dir, names[i]!);
      const base = Number(names[i]);
      const data = fs.readFileSync(file);
      let pos = 0;
      while (pos < data.length) {
        const r = inspectRecord(data, pos);
        if (!r.ok || r.info.physicalOffset !== base + pos) {
          const why = r.ok ? `record claims offset ${r.info.physicalOffset}` : r.reason;
          this.opts.logger('warn', `commit log ${names[i]}: dropping ${data.length - pos} bytes from ${base + pos} (${why})`);
          break;
        }
        onRecord(r.info, base + pos);
        pos += r.info.size;
      }
      if (pos < data.length) {
        truncated += data.length - pos;
        fs.truncateSync(file, pos);
      }
      const st = fs.statSync(file);
      if (pos === 0 && i < names.length - 1) {
        fs.unlinkSync(file); // an empty segment in the middle holds nothing
        continue;
      }
      this.segments.push({ base, size: pos, file, fd: undefined, mtimeMs: st.mtimeMs });
    }
    if (this.segments.length === 0) this.segments.push(this.newSegment(0));
    this.active = this.segments[this.segments.length - 1]!;
    this.active.fd = fs.openSync(this.active.file, 'r+');
    this.writePos = this.active.base + this.active.size;
    this.diskPos = this.writePos;
    this.flushedPos = this.writePos; // what we read back is what the OS has; treat it as the baseline
    return { truncatedBytes: truncated };
  }

  private newSegment(base: number): Segment {
    const file = path.join(this.opts.dir, String(base).padStart(20, '0'));
    fs.closeSync(fs.openSync(file, 'w'));
    // Make the new name durable too, or a power loss could lose a whole fsync'ed segment.
    try {
      const dfd = fs.openSync(this.opts.dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      /* not supported on every platform */
    }
    return { base, size: 0, file, fd: undefined, mtimeMs: Date.now() };
  }

  get minOffset(): number {
    return this.segments[0]!.base;
  }

  get maxOffset(): number {
    return this.writePos;
  }

  /** False after a failed write until probe() finds the disk writable again. */
  get writable(): boolean {
    return this.notWritable === undefined;
  }

  /** The write error that made the log stop taking appends. */
  get notWritableReason(): Error | undefined {
    return this.notWritable;
  }

  /** Goes up with every rollback; pass it back to waitWritten / waitFlushed. */
  get epoch(): number {
    return this.rollbacks.length;
  }

  private takenBack(pos: number, epoch: number): boolean {
    for (let i = epoch; i < this.rollbacks.length; i++) if (this.rollbacks[i]! < pos) return true;
    return false;
  }

  /** Bytes appended but not yet known to be on stable storage. */
  get unflushedBytes(): number {
    return this.writePos - this.flushedPos;
  }

  get totalBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /** Offset the next record of `size` bytes will get (rolls the segment first when needed). */
  prepare(size: number): number {
    if (this.closed) throw new Error('the store is closed');
    if (this.notWritable) throw this.notWritableError();
    if (this.active.size > 0 && this.active.size + size > this.opts.segmentSize) this.roll();
    return this.active.base + this.active.size;
  }

  private notWritableError(): StoreNotWritableError {
    const why = this.notWritable ? describeWriteError(this.notWritable) : 'unknown';
    return new StoreNotWritableError(`the commit log takes no writes after a write error (${why})`, { cause: this.notWritable });
  }

  /**
   * Appends a record (already carrying its offset) at the position `prepare` returned. The bytes
   * reach write(2) at the end of this event-loop turn, together with the other appends of the turn
   * (one writev instead of one syscall per message); `waitWritten` / `waitFlushed` wait for that.
   */
  write(record: Uint8Array, offset: number): void {
    const seg = this.active;
    if (offset !== seg.base + seg.size) throw new Error(`commit log write at ${offset}, expected ${seg.base + seg.size}`);
    this.pending.push(record);
    seg.size += record.length;
    seg.mtimeMs = Date.now();
    this.writePos = seg.base + seg.size;
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => {
        this.drainScheduled = false;
        this.drain();
      });
    }
  }

  /** Hands what was appended so far to write(2) now (readers call it before looking at the log). */
  writePending(): void {
    this.drain();
  }

  /**
   * Hands the pending records of the active segment to write(2). On failure they are all taken
   * back (see rollBack) and the log stops taking appends.
   */
  private drain(): void {
    if (this.pending.length === 0) return;
    const seg = this.active;
    const bufs = this.pending;
    this.pending = [];
    const start = this.diskPos;
    let pos = start - seg.base;
    try {
      for (let i = 0; i < bufs.length; i += 512) {
        let chunk = bufs.slice(i, i + 512);
        let left = chunk.reduce((n, b) => n + b.length, 0);
        while (left > 0) {
          const n = fs.writevSync(seg.fd!, chunk, pos);
          pos += n;
          left -= n;
          if (left > 0) {
            // partial write: drop what went out and retry the rest
            let skip = n;
            const rest: Uint8Array[] = [];
            for (const b of chunk) {
              if (skip >= b.length) skip -= b.length;
              else {
                rest.push(skip > 0 ? b.subarray(skip) : b);
                skip = 0;
              }
            }
            chunk = rest;
          }
        }
      }
    } catch (e) {
      this.rollBack(start, e as Error);
      return;
    }
    this.diskPos = seg.base + pos;
    if (this.writeWaiters.length) {
      const left: typeof this.writeWaiters = [];
      for (const w of this.writeWaiters) {
        if (w.pos <= this.diskPos) w.resolve();
        else left.push(w);
      }
      this.writeWaiters = left;
    }
  }

  /**
   * A write failed: everything appended from `offset` on (none of it acknowledged: waiters resolve
   * only after a whole batch is written) is taken back — the active segment is truncated there, so
   * no torn record stays behind — its waiters fail, and appends are refused until probe() succeeds.
   */
  private rollBack(offset: number, err: Error): void {
    const seg = this.active;
    this.pending = [];
    const dropped = this.writePos - offset;
    if (dropped > 0) this.rollbacks.push(offset);
    seg.size = offset - seg.base;
    this.writePos = offset;
    this.diskPos = Math.min(this.diskPos, offset);
    try {
      fs.ftruncateSync(seg.fd!, seg.size);
    } catch {
      /* probe() truncates again before anything is appended */
    }
    const wasWritable = !this.notWritable;
    this.notWritable = err;
    this.opts.logger('error', `commit log write failed (${describeWriteError(err)}): took back ${dropped} bytes from offset ${offset}; refusing appends until the disk takes writes again`);
    const e = this.notWritableError();
    for (const w of this.writeWaiters) w.reject(e);
    this.writeWaiters = [];
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) (w.pos <= offset ? keep.push(w) : w.reject(e));
    this.waiters = keep;
    if (dropped > 0) this.opts.onRollback?.(offset, dropped);
    if (wasWritable) this.opts.onWritableChange?.(false, err);
  }

  /**
   * When appends are refused: truncates the active segment to the end of the log (in case an
   * earlier truncation failed), writes PROBE_BYTES past it and takes them back. If the disk took
   * them, appends resume. Returns whether the log is writable.
   */
  probe(): boolean {
    if (!this.notWritable || this.closed) return !this.notWritable;
    const seg = this.active;
    try {
      fs.ftruncateSync(seg.fd!, seg.size);
      let done = 0;
      while (done < PROBE_BYTES) done += fs.writeSync(seg.fd!, PROBE, done, PROBE_BYTES - done, seg.size + done);
      fs.ftruncateSync(seg.fd!, seg.size);
    } catch (e) {
      try {
        fs.ftruncateSync(seg.fd!, seg.size);
      } catch {
        /* the next probe tries again */
      }
      this.notWritable = e as Error;
      return false;
    }
    this.notWritable = undefined;
    this.opts.logger('info', 'commit log: the disk takes writes again; appends resume');
    this.opts.onWritableChange?.(true);
    return true;
  }

  /** Resolves once everything appended up to `pos` (in `epoch`) was handed to write(2) (in the page cache). */
  waitWritten(pos: number, epoch = this.epoch): Promise<void> {
    if (this.takenBack(pos, epoch)) return Promise.reject(this.notWritableError());
    if (this.diskPos >= pos) return Promise.resolve();
    if (this.notWritable) return Promise.reject(this.notWritableError());
    return new Promise((resolve, reject) => this.writeWaiters.push({ pos, resolve, reject }));
  }

  /** Closes the active segment and starts the next; on any failure the active one stays as it was. */
  private roll(): void {
    this.drain();
    if (this.notWritable) throw this.notWritableError();
    const old = this.active;
    let seg: Segment;
    try {
      // Everything in a finished segment goes to disk now; later flushes only touch the active one.
      fs.fsyncSync(old.fd!);
      seg = this.newSegment(old.base + old.size);
      seg.fd = fs.openSync(seg.file, 'r+');
    } catch (e) {
      this.rollBack(this.writePos, e as Error);
      throw this.notWritableError();
    }
    if (this.flushedPos < old.base + old.size) this.flushedPos = old.base + old.size;
    if (!this.flushRunning) {
      fs.closeSync(old.fd!);
      old.fd = undefined;
    } else {
      const fd = old.fd!;
      old.fd = undefined;
      void this.flushPromise?.finally(() => fs.close(fd, () => {}));
    }
    this.diskPos = seg.base;
    this.segments.push(seg);
    this.active = seg;
  }

  /** Resolves once everything written up to `pos` (in `epoch`) is fsync'ed (group commit). */
  waitFlushed(pos: number, epoch = this.epoch): Promise<void> {
    if (this.takenBack(pos, epoch)) return Promise.reject(this.notWritableError());
    if (this.flushedPos >= pos) return Promise.resolve();
    if (this.notWritable && pos > this.diskPos) return Promise.reject(this.notWritableError());
    return new Promise((resolve, reject) => {
      this.waiters.push({ pos, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Starts a flush if data is waiting and none is running (the ASYNC timer and SYNC waiters use it). */
  scheduleFlush(): void {
    if (this.flushRunning || this.closed && this.waiters.length === 0) return;
    if (this.flushedPos >= this.writePos) return;
    this.flushRunning = true;
    this.flushPromise = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.doFlush());
  }

  private async doFlush(): Promise<void> {
    this.drain();
    const target = this.diskPos;
    const fd = this.active.fd;
    try {
      if (fd !== undefined) await new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
      if (target > this.flushedPos) this.flushedPos = target;
      const left: typeof this.waiters = [];
      for (const w of this.waiters) (w.pos <= this.flushedPos ? w.resolve : () => left.push(w))();
      this.waiters = left;
    } catch (e) {
      const err = e as Error;
      this.opts.logger('error', `commit log flush failed: ${err.message}`);
      for (const w of this.waiters) w.reject(err);
      this.waiters = [];
    } finally {
      this.flushRunning = false;
    }
    if (this.waiters.length) this.scheduleFlush();
  }

  /** Flushes everything written so far and waits for it. */
  async flush(): Promise<void> {
    await this.waitFlushed(this.writePos);
  }

  /** Reads `size` bytes at `offset`; undefined when the range is not (or no longer) in the log. */
  read(offset: number, size: number): Uint8Array | undefined {
    if (this.pending.length && offset + size > this.diskPos) this.drain();
    if (offset + size > this.diskPos) return undefined; // not written (or taken back)
    const seg = this.segmentFor(offset);
    if (!seg || offset + size > seg.base + seg.size) return undefined;
    const buf = Buffer.allocUnsafe(size);
    const fd = this.fdFor(seg);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, offset - seg.base + done);
      if (n <= 0) return undefined;
      done += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, size);
  }

  /** Reads the record at `offset` whatever its size (VIEW_MESSAGE_BY_ID). */
  readRecord(offset: number): Uint8Array | undefined {
    const head = this.read(offset, 8);
    if (!head) return undefined;
    const size = new DataView(head.buffer, head.byteOffset, 8).getInt32(0);
    if (size < 8) return undefined;
    const rec = this.read(offset, size);
    if (!rec || !inspectRecord(rec, 0, false).ok) return undefined;
    return rec;
  }

  private segmentFor(offset: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (offset < s.base) hi = mid - 1;
      else if (offset >= s.base + Math.max(s.size, 1)) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  private fdFor(seg: Segment): number {
    if (seg.fd === undefined) seg.fd = fs.openSync(seg.file, 'r');
    return seg.fd;
  }

  /**
   * Deletes whole old segments (never the active one): those last written more than `maxAgeMs`
   * ago, then the oldest ones while the log is larger than `maxBytes`. Returns the new minimum offset
   * when something was deleted.
   */
  deleteOld(now: number, maxAgeMs: number, maxBytes: number): number | undefined {
    let deleted = false;
    let total = this.totalBytes;
    while (this.segments.length > 1) {
      const s = this.segments[0]!;
      const tooOld = now - s.mtimeMs > maxAgeMs;
      const tooBig = total > maxBytes;
      if (!tooOld && !tooBig) break;
      this.segments.shift();
      total -= s.size;
      if (s.fd !== undefined) fs.closeSync(s.fd);
      try {
        fs.unlinkSync(s.file);
      } catch {
        /* already gone */
      }
      this.opts.logger('info', `commit log: deleted segment ${path.basename(s.file)} (${tooOld ? 'age' : 'size'})`);
      deleted = true;
    }
    return deleted ? this.minOffset : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.drain();
    await this.flush().catch(() => {});
    await this.flushPromise?.catch(() => {});
    this.closed = true;
    for (const s of this.segments) {
      if (s.fd !== undefined) {
        try {
          fs.closeSync(s.fd);
        } catch {
          /* ignore */
        }
        s.fd = undefined;
      }
    }
  }
}
