// One consume queue (topic, queueId): logical offset → (commit-log offset, size, tagsCode, store
// time). Kept in memory and rebuilt from the commit log at start (the log is the only source of
// truth, so a crash can never leave the two inconsistent). 32 bytes per message.

const FIELDS = 4;

export interface CqEntry {
  commitLogOffset: number;
  size: number;
  tagsCode: number;
  storeTimestamp: number;
}

export class ConsumeQueue {
  /** Logical offset of entries[0]. */
  private base = 0;
  private data = new Float64Array(64 * FIELDS);
  private start = 0; // index of the first live entry in `data`
  private count = 0;

  constructor(readonly topic: string, readonly queueId: number) {}

  get minOffset(): number {
    return this.base;
  }

  /** Next offset to be written. */
  get maxOffset(): number {
    return this.base + this.count;
  }

  /** Appends the entry for logical offset `offset` (must be maxOffset, or any offset on an empty queue). */
  put(offset: number, e: CqEntry): void {
    if (this.count === 0) this.base = offset;
    else if (offset !== this.maxOffset) throw new Error(`consume queue ${this.topic}/${this.queueId}: offset ${offset}, expected ${this.maxOffset}`);
    if ((this.start + this.count + 1) * FIELDS > this.data.length) this.grow();
    const i = (this.start + this.count) * FIELDS;
    this.data[i] = e.commitLogOffset;
    this.data[i + 1] = e.size;
    this.data[i + 2] = e.tagsCode;
    this.data[i + 3] = e.storeTimestamp;
    this.count++;
  }

  /** An empty queue that should continue at `next` (offsets survive retention and restarts). */
  resetEmpty(next: number): void {
    if (this.count === 0 && next > this.base) this.base = next;
  }

  private grow(): void {
    const live = this.data.subarray(this.start * FIELDS, (this.start + this.count) * FIELDS);
    const cap = Math.max(64, this.count * 2);
    const next = new Float64Array(cap * FIELDS);
    next.set(live);
    this.data = next;
    this.start = 0;
  }

  get(offset: number): CqEntry | undefined {
    if (offset < this.base || offset >= this.maxOffset) return undefined;
    const i = (this.start + offset - this.base) * FIELDS;
    return { commitLogOffset: this.data[i]!, size: this.data[i + 1]!, tagsCode: this.data[i + 2]!, storeTimestamp: this.data[i + 3]! };
  }

  /** Drops entries whose record lies before `minCommitLogOffset` (deleted by retention). */
  trimBefore(minCommitLogOffset: number): void {
    while (this.count > 0 && this.data[this.start * FIELDS]! < minCommitLogOffset) {
      this.start++;
      this.count--;
      this.base++;
    }
    if (this.count === 0) this.start = 0;
    else if (this.start > 1024 && this.start > this.count) this.grow();
  }

  /** Drops the newest entries whose record starts at or after `commitLogOffset` (taken back after a failed write); returns how many. */
  dropFrom(commitLogOffset: number): number {
    const before = this.count;
    while (this.count > 0 && this.data[(this.start + this.count - 1) * FIELDS]! >= commitLogOffset) this.count--;
    return before - this.count;
  }

  /**
   * SEARCH_OFFSET_BY_TIMESTAMP. LOWER (5.x): the first message stored at or after `timestamp`
   * (maxOffset if none). UPPER (5.x): the last one stored at or before it (minOffset if none).
   * NEAREST (4.9.8, and what a request without boundaryType gets): ConsumeQueue.getOffsetInQueueByTime's
   * binary search, which answers the message it hits with that exact time, else whichever neighbour's
   * time is closer (the earlier one on a tie); no messages: 0.
   */
  searchByTime(timestamp: number, boundary: 'NEAREST' | 'LOWER' | 'UPPER' = 'LOWER'): number {
    const time = (i: number): number => this.data[(this.start + i) * FIELDS + 3]!;
    if (boundary !== 'NEAREST') {
      // The first index whose time is > timestamp (UPPER) or ≥ timestamp (LOWER).
      let lo = 0;
      let hi = this.count;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (boundary === 'UPPER' ? time(mid) <= timestamp : time(mid) < timestamp) lo = mid + 1;
        else hi = mid;
      }
      return boundary === 'UPPER' ? this.base + Math.max(lo - 1, 0) : this.base + lo;
    }
    if (!this.count) return 0;
    let low = 0;
    let high = this.count - 1;
    let left = -1;
    let right = -1;
    let leftTime = -1;
    let rightTime = -1;
    while (high >= low) {
      const mid = Math.floor((low + high) / 2);
      const t = time(mid);
      if (t === timestamp) return this.base + mid;
      if (t > timestamp) {
        high = mid - 1;
        right = mid;
        rightTime = t;
      } else {
        low = mid + 1;
        left = mid;
        leftTime = t;
      }
    }
    const i = leftTime === -1 ? right : rightTime === -1 ? left : Math.abs(timestamp - leftTime) > Math.abs(timestamp - rightTime) ? right : left;
    return this.base + i;
  }
}
