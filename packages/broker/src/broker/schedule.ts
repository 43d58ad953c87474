// Delivery of parked messages: delay levels (SCHEDULE_TOPIC_XXXX, queue = level-1, FIFO because
// every message of a level waits the same time) and timer messages (timer topic, any due time).
// A due message is re-stored as a new record in REAL_TOPIC / REAL_QID. Progress moves on only once
// a round's deliveries are stored (durable per the flush mode; a failed write is retried next
// round), and is persisted in <dataDir>/config/delay-progress.json, so delivery survives restarts;
// a crash between a delivery and that write delivers the message again (at least once).
import path from 'node:path';
import { MessageConst, decodeStoredMessages } from '@rocketmq-edge/core/internal';
import { readJsonFile, writeJsonFileAtomic } from '../store/json-file.js';
import type { PutResult } from '../store/message-store.js';
import { storeMessage, storedCopy, type BrokerContext } from './context.js';
import { SCHEDULE_TOPIC, TIMER_TOPIC } from './topic-config.js';

interface Progress {
  /** queueId (level-1) → next schedule-queue offset to deliver */
  levels: Record<string, number>;
  /** every timer-queue offset below this is done */
  timerCursor: number;
  /** delivered timer offsets at or above the cursor */
  timerDone: number[];
}

export class ScheduleService {
  private readonly file: string;
  private progress: Progress;
  private readonly timerDone = new Set<number>();
  /** Pending timer entries (offset → due), loaded from the cursor on. */
  private readonly timerPending = new Map<number, number>();
  private timerLoadedUpTo: number;
  private readonly interval: NodeJS.Timeout;
  /** The round whose deliveries are being written; no new round starts meanwhile. */
  private round: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly ctx: BrokerContext, dir: string, tickMs: number) {
    this.file = path.join(dir, 'delay-progress.json');
    this.progress = readJsonFile<Progress>(this.file, { levels: {}, timerCursor: 0, timerDone: [] });
    this.progress.levels ??= {};
    for (const o of this.progress.timerDone ?? []) this.timerDone.add(o);
    const min = ctx.store.minOffset(TIMER_TOPIC, 0);
    this.timerLoadedUpTo = Math.max(this.progress.timerCursor ?? 0, min);
    this.interval = setInterval(() => this.tick(Date.now()), tickMs);
    this.interval.unref();
  }

  /**
   * One delivery round: re-stores every due message, then — once those writes are durable —
   * moves the progress past them. If a write fails, nothing moves and the next round retries.
   */
  tick(now: number): void {
    if (this.closed || this.round || !this.ctx.store.writable) return;
    const levels: [string, number][] = [];
    const timers: number[] = [];
    let last: PutResult | undefined;
    try {
      for (let level = 1; level <= this.ctx.delayLevelsMs.length; level++) {
        const q = level - 1;
        const key = String(q);
        const start = Math.max(this.progress.levels[key] ?? 0, this.ctx.store.minOffset(SCHEDULE_TOPIC, q));
        const max = this.ctx.store.maxOffset(SCHEDULE_TOPIC, q);
        let next = start;
        while (next < max) {
          const e = this.ctx.store.entry(SCHEDULE_TOPIC, q, next);
          if (e && e.size > 0 && e.tagsCode > now) break;
          if (e && e.size > 0) last = this.deliver(e.commitLogOffset, e.size, now) ?? last;
          next++;
        }
        if (next !== start) levels.push([key, next]);
      }
      this.loadTimers();
      for (const [o, due] of this.timerPending) {
        if (due > now) continue;
        const e = this.ctx.store.entry(TIMER_TOPIC, 0, o);
        if (e && e.size > 0) last = this.deliver(e.commitLogOffset, e.size, now) ?? last;
        timers.push(o);
      }
    } catch (e) {
      this.ctx.log('error', `schedule delivery failed, retrying next round: ${(e as Error).message}`);
      return;
    }
    if (levels.length === 0 && timers.length === 0) return;
    const commit = () => {
      for (const [key, next] of levels) this.progress.levels[key] = next;
      this.commitTimers(timers);
      this.save();
    };
    if (!last) return commit(); // only empty entries were passed
    this.round = this.ctx.store
      .durable(last)
      .then(commit, (e: Error) => this.ctx.log('warn', `delayed messages not stored, retrying next round: ${e.message}`))
      .finally(() => (this.round = undefined));
  }

  /** Delivery progress per delay level (1-based) that has delivered anything: [level, next offset]. */
  levelProgress(): [level: number, offset: number][] {
    return Object.entries(this.progress.levels).map(([q, next]) => [Number(q) + 1, next]);
  }

  /** Timer-queue entries from the cursor on, as pending (offset → due) or done (empty). */
  private loadTimers(): void {
    const max = this.ctx.store.maxOffset(TIMER_TOPIC, 0);
    for (let o = this.timerLoadedUpTo; o < max; o++) {
      if (this.timerDone.has(o)) continue;
      const e = this.ctx.store.entry(TIMER_TOPIC, 0, o);
      if (e && e.size > 0) this.timerPending.set(o, e.tagsCode);
      else this.timerDone.add(o);
    }
    this.timerLoadedUpTo = Math.max(this.timerLoadedUpTo, max);
  }

  private commitTimers(delivered: number[]): void {
    if (delivered.length === 0) return;
    for (const o of delivered) {
      this.timerPending.delete(o);
      this.timerDone.add(o);
    }
    let c = Math.max(this.progress.timerCursor ?? 0, this.ctx.store.minOffset(TIMER_TOPIC, 0));
    while (this.timerDone.has(c)) this.timerDone.delete(c++);
    for (const o of this.timerDone) if (o < c) this.timerDone.delete(o);
    this.progress.timerCursor = c;
  }

  private deliver(commitLogOffset: number, size: number, now: number): PutResult | undefined {
    const rec = this.ctx.store.readRecord(commitLogOffset, size);
    const [m] = rec ? decodeStoredMessages(rec) : [];
    if (!m) return undefined;
    const topic = m.properties[MessageConst.REAL_TOPIC];
    if (!topic) return undefined;
    const tc = this.ctx.topics.get(topic);
    let queueId = Number(m.properties[MessageConst.REAL_QID]) || 0;
    if (tc && queueId >= Math.max(tc.writeQueueNums, tc.readQueueNums)) queueId = 0;
    // The delivered copy keeps DELAY / REAL_TOPIC / REAL_QID / WAIT, as the 4.9.8 schedule service does.
    return storeMessage(
      this.ctx,
      { ...storedCopy(m, topic, queueId), propertiesString: m.propertiesString },
      now,
    );
  }

  private save(): void {
    this.progress.timerDone = [...this.timerDone];
    try {
      writeJsonFileAtomic(this.file, this.progress);
    } catch (e) {
      this.ctx.log('error', `cannot save delay progress: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    await this.round;
    this.save();
  }
}
