// Delivery of parked messages: delay levels (SCHEDULE_TOPIC_XXXX, queue = level-1, FIFO because
// every message of a level waits the same time) and timer messages (timer topic, any due time).
// A due message is re-stored as a new record in REAL_TOPIC / REAL_QID. Progress is persisted in
// <dataDir>/config/delay-progress.json after each delivery round, so delivery survives restarts;
// a crash between a delivery and that write delivers the message again (at least once).
import path from 'node:path';
import { MessageConst, decodeStoredMessages, inJavaOrder } from '@rocketmq-edge/core/internal';
import { readJsonFile, writeJsonFileAtomic } from '../store/json-file.js';
import { storeMessage, type BrokerContext } from './context.js';
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

  tick(now: number): void {
    if (this.closed) return;
    let changed = false;
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
          if (e && e.size > 0) this.deliver(e.commitLogOffset, e.size, now);
          next++;
        }
        if (next !== start) {
          this.progress.levels[key] = next;
          changed = true;
        }
      }
      changed = this.tickTimers(now) || changed;
    } catch (e) {
      this.ctx.log('error', `schedule delivery failed: ${(e as Error).message}`);
    }
    if (changed) this.save();
  }

  private tickTimers(now: number): boolean {
    const max = this.ctx.store.maxOffset(TIMER_TOPIC, 0);
    for (let o = this.timerLoadedUpTo; o < max; o++) {
      if (this.timerDone.has(o)) continue;
      const e = this.ctx.store.entry(TIMER_TOPIC, 0, o);
      if (e && e.size > 0) this.timerPending.set(o, e.tagsCode);
      else this.timerDone.add(o);
    }
    this.timerLoadedUpTo = Math.max(this.timerLoadedUpTo, max);
    let changed = false;
    for (const [o, due] of this.timerPending) {
      if (due > now) continue;
      const e = this.ctx.store.entry(TIMER_TOPIC, 0, o);
      if (e && e.size > 0) this.deliver(e.commitLogOffset, e.size, now);
      this.timerPending.delete(o);
      this.timerDone.add(o);
      changed = true;
    }
    if (changed) {
      let c = Math.max(this.progress.timerCursor ?? 0, this.ctx.store.minOffset(TIMER_TOPIC, 0));
      while (this.timerDone.has(c)) this.timerDone.delete(c++);
      for (const o of this.timerDone) if (o < c) this.timerDone.delete(o);
      this.progress.timerCursor = c;
    }
    return changed;
  }

  private deliver(commitLogOffset: number, size: number, now: number): void {
    const rec = this.ctx.store.readRecord(commitLogOffset, size);
    const [m] = rec ? decodeStoredMessages(rec) : [];
    if (!m) return;
    const topic = m.properties[MessageConst.REAL_TOPIC];
    if (!topic) return;
    const tc = this.ctx.topics.get(topic);
    let queueId = Number(m.properties[MessageConst.REAL_QID]) || 0;
    if (tc && queueId >= Math.max(tc.writeQueueNums, tc.readQueueNums)) queueId = 0;
    // The delivered copy keeps DELAY / REAL_TOPIC / REAL_QID / WAIT, as the 4.9.8 schedule service does.
    storeMessage(
      this.ctx,
      {
        topic,
        queueId,
        body: m.body,
        flag: m.flag,
        sysFlag: m.sysFlag,
        bornTimestamp: m.bornTimestamp,
        bornHost: m.bornHost,
        reconsumeTimes: m.reconsumeTimes,
        properties: inJavaOrder(m.properties),
        propertiesString: m.propertiesString,
      },
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

  close(): void {
    this.closed = true;
    clearInterval(this.interval);
    this.save();
  }
}
