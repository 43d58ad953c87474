// Latency fault tolerance (MQFaultStrategy / LatencyFaultToleranceImpl, 5.6). Selection follows
// 4.9.8; the latency → penalty table is selectable because the 4.9.8 one benches a broker for
// 10 minutes after a single failure, far too long for short-lived edge clients.
import type { MessageQueue } from '../message/index.js';
import type { TopicPublishInfo } from '../route/topic-route.js';

export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };

export type LatencyTableName = '4.9' | '5.x';
export interface LatencyTable {
  /** latencyMax[i] ms or more → unavailable for notAvailableDuration[i] ms. */
  latencyMax_: readonly number[];
  notAvailableDuration_: readonly number[];
  /** Latency charged for an isolating failure (exception / error response). */
  isolationLatency_: number;
  /** 5.x only lengthens a running penalty, 4.9.8 overwrites it. */
  extendOnly_: boolean;
}

export const LATENCY_TABLES: Record<LatencyTableName, LatencyTable> = {
  '4.9': {
    latencyMax_: [50, 100, 550, 1000, 2000, 3000, 15000],
    notAvailableDuration_: [0, 0, 30000, 60000, 120000, 180000, 600000],
    isolationLatency_: 30000,
    extendOnly_: false,
  },
  '5.x': {
    latencyMax_: [50, 100, 550, 1800, 3000, 5000, 15000],
    notAvailableDuration_: [0, 0, 2000, 5000, 6000, 10000, 30000],
    isolationLatency_: 10000,
    extendOnly_: true,
  },
};

/** A broker's last latency and the time it is available again (FaultItem.startTimestamp). */
interface FaultItem { name_: string; latency_: number; until_: number }

export class LatencyFaultTolerance {
  readonly #items = new Map<string, FaultItem>();
  readonly #clock: Clock;
  readonly #extendOnly: boolean;
  #whichItemWorst = 0;
  constructor(clock: Clock = systemClock, extendOnly = false) {
    this.#clock = clock;
    this.#extendOnly = extendOnly;
  }

  updateFaultItem(name: string, currentLatency: number, notAvailableDuration: number): void {
    const until = this.#clock.now() + notAvailableDuration;
    const old = this.#items.get(name);
    if (!old) this.#items.set(name, { name_: name, latency_: currentLatency, until_: until });
    else {
      old.latency_ = currentLatency;
      if (!this.#extendOnly || (notAvailableDuration > 0 && until > old.until_)) old.until_ = until;
    }
  }

  isAvailable(name: string): boolean {
    return !(this.#clock.now() < this.availableAt(name)!);
  }

  remove(name: string): void {
    this.#items.delete(name);
  }

  /** Time (ms since epoch of the clock) when the broker becomes available again, if penalised. */
  availableAt(name: string): number | undefined {
    return this.#items.get(name)?.until_;
  }

  /** 4.9.8 pickOneAtLeast: best half by (available, latency, recovery time), in rotation. */
  pickOneAtLeast(): string | undefined {
    const now = this.#clock.now();
    const list = [...this.#items.values()].sort(
      (a, b) => +(now < a.until_) - +(now < b.until_) || a.latency_ - b.latency_ || a.until_ - b.until_,
    );
    const half = list.length >> 1;
    if (half) this.#whichItemWorst = (this.#whichItemWorst + 1) & 0x7fffffff;
    return list[half && this.#whichItemWorst % half]?.name_;
  }
}

export interface MQFaultStrategyOptions { sendLatencyFaultEnable?: boolean; latencyTable?: LatencyTableName; clock?: Clock }

export class MQFaultStrategy {
  declare readonly sendLatencyFaultEnable: boolean;
  declare readonly table: LatencyTable;
  declare readonly latencyFaultTolerance: LatencyFaultTolerance;

  constructor(opts: MQFaultStrategyOptions = {}) {
    this.sendLatencyFaultEnable = !!opts.sendLatencyFaultEnable;
    this.table = LATENCY_TABLES[opts.latencyTable ?? '5.x'];
    this.latencyFaultTolerance = new LatencyFaultTolerance(opts.clock, this.table.extendOnly_);
  }

  /** 4.9.8 MQFaultStrategy.selectOneMessageQueue. */
  selectOneMessageQueue(info: TopicPublishInfo, lastBrokerName?: string): MessageQueue {
    const lft = this.latencyFaultTolerance;
    if (this.sendLatencyFaultEnable) {
      const list = info.messageQueueList;
      const counter = info.sendWhichQueue;
      let index = counter.incrementAndGet();
      for (const _ of list) {
        const mq = list[(index++ & 0x7fffffff) % list.length]!;
        if (lft.isAvailable(mq.brokerName)) return mq;
      }
      const notBestBroker = lft.pickOneAtLeast();
      if (notBestBroker !== undefined) {
        const writeQueueNums = info.writeQueueNumsOf(notBestBroker);
        if (writeQueueNums > 0) {
          // Java mutates the shared queue object here (a known bug); build a new one instead.
          return { topic: info.selectOneMessageQueue().topic, brokerName: notBestBroker, queueId: counter.incrementAndGet() % writeQueueNums };
        }
        lft.remove(notBestBroker);
      }
      lastBrokerName = undefined;
    }
    return info.selectOneMessageQueue(lastBrokerName);
  }

  /** Charges a broker with a send's latency; an isolating failure counts as isolationLatency. */
  updateFaultItem(brokerName: string, currentLatency: number, isolation: boolean): void {
    if (this.sendLatencyFaultEnable) {
      const { latencyMax_: max, notAvailableDuration_: duration, isolationLatency_ } = this.table;
      const latency = isolation ? isolationLatency_ : currentLatency;
      // computeNotAvailableDuration: the penalty of the largest step the latency reaches.
      let i = max.length;
      while (i-- && latency < max[i]!);
      this.latencyFaultTolerance.updateFaultItem(brokerName, currentLatency, i < 0 ? 0 : duration[i]!);
    }
  }
}
