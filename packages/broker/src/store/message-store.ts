// The message store: commit log + consume queues + flush policy + retention.
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { noopLogger } from '../logger.js';
import { CommitLog, type FlushMode } from './commit-log.js';
import { ConsumeQueue } from './consume-queue.js';
import { readJsonFile, writeJsonFileAtomic } from './json-file.js';
import { inspectRecord, patchOffsets, tagsHashCode } from './record.js';
import { StoreStats } from './store-stats.js';

export type { FlushMode } from './commit-log.js';

export interface MessageStoreOptions {
  /** Directory of this store (commitlog/ and state files live below it). */
  dir: string;
  /** Commit-log segment size in bytes (RocketMQ: 1 GiB; default here 64 MiB). */
  segmentSize?: number;
  /** ASYNC_FLUSH (default): fsync every `flushIntervalMs`. SYNC_FLUSH: fsync before a write is acknowledged. */
  flushDiskType?: FlushMode;
  flushIntervalMs?: number;
  /** Segments last written longer ago than this are deleted (default 72 h). */
  fileReservedTimeMs?: number;
  /** Oldest segments are deleted while the log is larger than this (default: unlimited). */
  maxDiskBytes?: number;
  /** How often retention runs (default 10 s). */
  retentionIntervalMs?: number;
  /** While a failed write keeps the store from taking appends: how often it probes the disk (default 1 s). */
  diskProbeIntervalMs?: number;
  /**
   * tagsCode of a record for its consume queue; default: Java hashCode of TAGS (0 without tags).
   * The broker overrides it for the schedule topic, whose tagsCode is the delivery time.
   */
  tagsCodeOf?: (topic: string, properties: Record<string, string>, storeTimestamp: number) => number;
  /**
   * MessageStoreConfig.accessMessageInMemoryMaxRatio: the newest this-many percent of physical
   * memory's worth of commit log counts as "in memory" (page cache); default 40. Decides where a new
   * group starts (QUERY_CONSUMER_OFFSET).
   */
  accessMessageInMemoryMaxRatio?: number;
  logger?: Logger;
}

/** How SEARCH_OFFSET_BY_TIMESTAMP picks among messages: 4.9.8's nearest, or 5.x's boundaries. */
export type BoundaryType = 'NEAREST' | 'LOWER' | 'UPPER';

export type GetStatus =
  | 'FOUND'
  | 'NO_MATCHED_MESSAGE'
  | 'MESSAGE_WAS_REMOVING'
  | 'OFFSET_FOUND_NULL'
  | 'OFFSET_OVERFLOW_BADLY'
  | 'OFFSET_OVERFLOW_ONE'
  | 'OFFSET_TOO_SMALL'
  | 'NO_MATCHED_LOGIC_QUEUE'
  | 'NO_MESSAGE_IN_QUEUE';

export interface GetResult {
  status: GetStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  /** Stored records, each exactly as in the commit log. */
  records: Uint8Array[];
  bytes: number;
}

export interface PutResult {
  commitLogOffset: number;
  queueOffset: number;
  size: number;
  storeTimestamp: number;
  /** The commit log's epoch at the append (a later rollback below its end fails durable()). */
  epoch: number;
}

const MAX_PULL_BYTES = 4 * 1024 * 1024;
const MAX_SCAN = 16_000;

function parseProps(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const seg of s.split('\u0002')) {
    const i = seg.indexOf('\u0001');
    if (i > 0 && i < seg.length - 1) out[seg.slice(0, i)] = seg.slice(i + 1);
  }
  return out;
}

export function defaultTagsCode(_topic: string, props: Record<string, string>): number {
  const tags = props.TAGS;
  return tags ? tagsHashCode(tags) : 0;
}

export class MessageStore {
  readonly log: CommitLog;
  readonly flushMode: FlushMode;
  /** Puts, gets, TPS and daily totals (GET_BROKER_RUNTIME_INFO). */
  readonly stats = new StoreStats();
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly logger: Logger;
  private readonly tagsCodeOf: NonNullable<MessageStoreOptions['tagsCodeOf']>;
  private readonly queueOffsetFile: string;
  private arrivalListeners = new Set<(topic: string, queueId: number) => void>();
  private writableListeners = new Set<(writable: boolean, reason?: Error) => void>();
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly opts: MessageStoreOptions) {
    this.logger = opts.logger ?? noopLogger;
    this.flushMode = opts.flushDiskType ?? 'ASYNC_FLUSH';
    this.tagsCodeOf = opts.tagsCodeOf ?? defaultTagsCode;
    this.queueOffsetFile = path.join(opts.dir, 'queue-offsets.json');
    this.log = new CommitLog({
      dir: path.join(opts.dir, 'commitlog'),
      segmentSize: opts.segmentSize ?? 64 * 1024 * 1024,
      logger: this.logger,
      onRollback: (offset, bytes) => {
        let dropped = 0;
        for (const m of this.queues.values()) for (const q of m.values()) dropped += q.dropFrom(offset);
        // Taken-back appends were never stored: they count as failed puts, not as puts.
        this.stats.putTimes -= dropped;
        this.stats.putBytes -= bytes;
        this.stats.putFailed += dropped;
      },
      onWritableChange: (writable, reason) => this.writableChanged(writable, reason),
    });
  }

  /** Opens (recovering) the store in `opts.dir`. */
  static open(opts: MessageStoreOptions): MessageStore {
    const s = new MessageStore(opts);
    s.recover();
    s.start();
    return s;
  }

  private recover(): void {
    const { truncatedBytes } = this.log.recover((info, offset) => {
      const cq = this.queue(info.topic, info.queueId);
      const tagsCode = this.tagsCodeOf(info.topic, parseProps(info.properties), info.storeTimestamp);
      if (info.queueOffset < cq.maxOffset && cq.maxOffset > cq.minOffset) return; // duplicate: keep the first
      // A hole (records lost to corruption in an earlier segment) becomes empty entries.
      if (cq.maxOffset > cq.minOffset) {
        while (cq.maxOffset < info.queueOffset) cq.put(cq.maxOffset, { commitLogOffset: offset, size: 0, tagsCode: 0, storeTimestamp: info.storeTimestamp });
      }
      cq.put(info.queueOffset, { commitLogOffset: offset, size: info.size, tagsCode, storeTimestamp: info.storeTimestamp });
    });
    if (truncatedBytes) this.logger('warn', `store recovery cut ${truncatedBytes} bytes of torn or corrupt records`);
    // Queues whose every record was deleted by retention continue at their old offsets.
    const saved = readJsonFile<Record<string, Record<string, number>>>(this.queueOffsetFile, {});
    for (const [topic, qs] of Object.entries(saved)) {
      for (const [qid, next] of Object.entries(qs)) this.queue(topic, Number(qid)).resetEmpty(Number(next));
    }
  }

  private start(): void {
    const t = setInterval(() => this.log.scheduleFlush(), this.opts.flushIntervalMs ?? 500);
    t.unref();
    this.timers.push(t);
    const r = setInterval(() => this.runRetention(Date.now()), this.opts.retentionIntervalMs ?? 10_000);
    r.unref();
    this.timers.push(r);
    const s = setInterval(() => this.stats.sample(Date.now()), 1000);
    s.unref();
    this.timers.push(s);
  }

  queue(topic: string, queueId: number): ConsumeQueue {
    let m = this.queues.get(topic);
    if (!m) this.queues.set(topic, (m = new Map()));
    let q = m.get(queueId);
    if (!q) m.set(queueId, (q = new ConsumeQueue(topic, queueId)));
    return q;
  }

  private findQueue(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.queues.get(topic)?.get(queueId);
  }

  /** False while a failed write keeps the store from taking appends (it probes and recovers by itself). */
  get writable(): boolean {
    return this.log.writable;
  }

  /** The write error behind `writable === false`. */
  get notWritableReason(): Error | undefined {
    return this.log.notWritableReason;
  }

  /** Called when the store stops (false) or resumes (true) taking appends. */
  onWritableChange(cb: (writable: boolean, reason?: Error) => void): () => void {
    this.writableListeners.add(cb);
    return () => this.writableListeners.delete(cb);
  }

  /** Probes the disk now when the store is not writable (see CommitLog.probe). Returns `writable`. */
  probeWritable(): boolean {
    return this.closed ? false : this.log.probe();
  }

  private writableChanged(writable: boolean, reason?: Error): void {
    if (!writable && !this.probeTimer && !this.closed) {
      this.probeTimer = setInterval(() => this.probeWritable(), this.opts.diskProbeIntervalMs ?? 1000);
      this.probeTimer.unref();
    }
    if (writable && this.probeTimer) {
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
    }
    for (const cb of this.writableListeners) {
      try {
        cb(writable, reason);
      } catch (e) {
        this.logger('error', `store writable listener failed: ${(e as Error).message}`);
      }
    }
  }

  onArrival(cb: (topic: string, queueId: number) => void): () => void {
    this.arrivalListeners.add(cb);
    return () => this.arrivalListeners.delete(cb);
  }

  /**
   * Appends an encoded record (its QUEUEOFFSET and PHYSICALOFFSET fields are filled in here).
   * The record is readable at once; it reaches write(2) at the end of the event-loop turn.
   * Await `durable()` before acknowledging.
   */
  put(topic: string, queueId: number, record: Uint8Array, properties: Record<string, string>, storeTimestamp: number): PutResult {
    if (this.closed) throw new Error('the message store is closed');
    let offset: number;
    try {
      offset = this.log.prepare(record.length);
    } catch (e) {
      this.stats.putFailed++;
      throw e;
    }
    const cq = this.queue(topic, queueId);
    const queueOffset = cq.maxOffset;
    patchOffsets(record, queueOffset, offset);
    this.log.write(record, offset);
    cq.put(queueOffset, { commitLogOffset: offset, size: record.length, tagsCode: this.tagsCodeOf(topic, properties, storeTimestamp), storeTimestamp });
    this.stats.putTimes++;
    this.stats.putBytes += record.length;
    for (const cb of this.arrivalListeners) {
      try {
        cb(topic, queueId);
      } catch {
        /* listeners must not break a write */
      }
    }
    return { commitLogOffset: offset, queueOffset, size: record.length, storeTimestamp, epoch: this.log.epoch };
  }

  /**
   * Resolves when the given write may be acknowledged: after write(2) for ASYNC_FLUSH, after fsync
   * for SYNC_FLUSH. Rejects with StoreNotWritableError when the write failed and was taken back.
   */
  durable(r: PutResult): Promise<void> {
    const end = r.commitLogOffset + r.size;
    return this.flushMode === 'SYNC_FLUSH' ? this.log.waitFlushed(end, r.epoch) : this.log.waitWritten(end, r.epoch);
  }

  maxOffset(topic: string, queueId: number): number {
    return this.findQueue(topic, queueId)?.maxOffset ?? 0;
  }

  minOffset(topic: string, queueId: number): number {
    return this.findQueue(topic, queueId)?.minOffset ?? 0;
  }

  /** Entry at a logical offset (for the schedule service). */
  entry(topic: string, queueId: number, offset: number) {
    return this.findQueue(topic, queueId)?.get(offset);
  }

  searchOffsetByTime(topic: string, queueId: number, timestamp: number, boundary: BoundaryType = 'NEAREST'): number {
    return this.findQueue(topic, queueId)?.searchByTime(timestamp, boundary) ?? 0;
  }

  /**
   * DefaultMessageStore.checkInDiskByConsumeOffset: whether the message at `consumeOffset` lies
   * further back in the commit log than the share of memory a broker reads from the page cache.
   * No such message: false.
   */
  checkInDiskByConsumeOffset(topic: string, queueId: number, consumeOffset: number): boolean {
    const e = this.findQueue(topic, queueId)?.get(consumeOffset);
    if (!e) return false;
    const memory = os.totalmem() * ((this.opts.accessMessageInMemoryMaxRatio ?? 40) / 100);
    return this.log.maxOffset - e.commitLogOffset > memory;
  }

  earliestStoreTime(topic: string, queueId: number): number {
    const q = this.findQueue(topic, queueId);
    return q?.get(q.minOffset)?.storeTimestamp ?? -1;
  }

  /** Store time of the oldest record in the commit log; -1 when it holds none (getEarliestMessageTime). */
  earliestMessageTime(): number {
    const rec = this.log.readRecord(this.log.minOffset);
    const r = rec && inspectRecord(rec, 0, false);
    return r && r.ok ? r.info.storeTimestamp : -1;
  }

  readRecord(commitLogOffset: number, size?: number): Uint8Array | undefined {
    return size === undefined ? this.log.readRecord(commitLogOffset) : this.log.read(commitLogOffset, size);
  }

  topics(): string[] {
    return [...this.queues.keys()];
  }

  /** 1 + the highest queue id the store holds for `topic` (0 when it holds none). */
  queueCount(topic: string): number {
    let n = 0;
    for (const id of this.queues.get(topic)?.keys() ?? []) n = Math.max(n, id + 1);
    return n;
  }

  getMessages(
    topic: string,
    queueId: number,
    offset: number,
    maxNums: number,
    filter?: (tagsCode: number) => boolean,
  ): GetResult {
    const began = Date.now();
    // Write what is pending first: a failed write takes entries back, and must do so before we look.
    this.log.writePending();
    const q = this.findQueue(topic, queueId);
    const minOffset = q?.minOffset ?? 0;
    const maxOffset = q?.maxOffset ?? 0;
    const res = (status: GetStatus, nextBeginOffset: number, records: Uint8Array[] = [], bytes = 0): GetResult => {
      this.stats.recordGet(records.length, Date.now() - began);
      return { status, nextBeginOffset, minOffset, maxOffset, records, bytes };
    };
    if (!q || maxOffset === 0) return res('NO_MESSAGE_IN_QUEUE', 0);
    if (offset < minOffset) return res('OFFSET_TOO_SMALL', minOffset);
    if (offset === maxOffset) return res('OFFSET_OVERFLOW_ONE', offset);
    if (offset > maxOffset) return res('OFFSET_OVERFLOW_BADLY', minOffset === 0 ? minOffset : maxOffset);
    const records: Uint8Array[] = [];
    let bytes = 0;
    let next = offset;
    let removed = false;
    const limit = Math.max(1, maxNums);
    for (let scanned = 0; next < maxOffset && scanned < MAX_SCAN && records.length < limit; scanned++) {
      const e = q.get(next)!;
      if (records.length > 0 && bytes + e.size > MAX_PULL_BYTES) break;
      next++;
      if (e.size === 0) continue;
      if (filter && !filter(e.tagsCode)) continue;
      const rec = this.log.read(e.commitLogOffset, e.size);
      if (!rec) {
        removed = true;
        continue;
      }
      records.push(rec);
      bytes += rec.length;
    }
    if (records.length) return res('FOUND', next, records, bytes);
    return res(removed ? 'MESSAGE_WAS_REMOVING' : 'NO_MATCHED_MESSAGE', next);
  }

  /** Deletes expired segments and drops consume-queue entries that pointed into them. */
  runRetention(now: number): void {
    if (this.closed) return;
    const min = this.log.deleteOld(now, this.opts.fileReservedTimeMs ?? 72 * 3600_000, this.opts.maxDiskBytes ?? Number.POSITIVE_INFINITY);
    if (min === undefined) return;
    for (const m of this.queues.values()) for (const q of m.values()) q.trimBefore(min);
    this.saveQueueOffsets();
  }

  private saveQueueOffsets(): void {
    const out: Record<string, Record<string, number>> = {};
    for (const [topic, m] of this.queues) {
      for (const [qid, q] of m) if (q.maxOffset > 0) (out[topic] ??= {})[qid] = q.maxOffset;
    }
    try {
      writeJsonFileAtomic(this.queueOffsetFile, out);
    } catch (e) {
      this.logger('error', `cannot save queue offsets: ${(e as Error).message}`);
    }
  }

  async flush(): Promise<void> {
    await this.log.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.log.close();
    this.saveQueueOffsets();
  }
}
