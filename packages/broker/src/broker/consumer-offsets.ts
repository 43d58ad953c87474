// Committed consumer offsets (group, topic, queue) → offset, persisted in
// <dataDir>/config/consumerOffset.json every `persistIntervalMs` and on close.
import path from 'node:path';
import type { Logger } from '../logger.js';
import { readJsonFile, writeJsonFileAtomic } from '../store/json-file.js';

export class ConsumerOffsets {
  private readonly file: string;
  /** "topic@group" → queueId → offset (RocketMQ's own key layout). */
  private readonly table = new Map<string, Map<number, number>>();
  private dirty = false;
  private readonly timer: NodeJS.Timeout;

  constructor(dir: string, persistIntervalMs: number, private readonly log: Logger) {
    this.file = path.join(dir, 'consumerOffset.json');
    const saved = readJsonFile<{ offsetTable?: Record<string, Record<string, number>> }>(this.file, {});
    for (const [k, qs] of Object.entries(saved.offsetTable ?? {})) {
      const m = new Map<number, number>();
      for (const [q, o] of Object.entries(qs)) m.set(Number(q), Number(o));
      this.table.set(k, m);
    }
    this.timer = setInterval(() => this.persist(), persistIntervalMs);
    this.timer.unref();
  }

  get(group: string, topic: string, queueId: number): number | undefined {
    return this.table.get(`${topic}@${group}`)?.get(queueId);
  }

  set(group: string, topic: string, queueId: number, offset: number): void {
    const k = `${topic}@${group}`;
    let m = this.table.get(k);
    if (!m) this.table.set(k, (m = new Map()));
    m.set(queueId, offset);
    this.dirty = true;
  }

  persist(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const offsetTable: Record<string, Record<string, number>> = {};
    for (const [k, m] of this.table) offsetTable[k] = Object.fromEntries(m);
    try {
      writeJsonFileAtomic(this.file, { offsetTable });
    } catch (e) {
      this.dirty = true;
      this.log('error', `cannot persist consumer offsets: ${(e as Error).message}`);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.persist();
  }
}
