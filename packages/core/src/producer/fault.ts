// Latency fault tolerance (MQFaultStrategy / LatencyFaultToleranceImpl, 5.6). Selection follows
// 4.9.8; the latency → penalty table is selectable because the 4.9.8 one benches a broker for
// 10 minutes after a single failure, far too long for short-lived edge clients.
import type { MessageQueue } from '../message/index.js';
import type { TopicPublishInfo } from '../route/topic-route.js';

export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };

export type LatencyTableName = '4.9' | '5.x';
export interface LatencyTable {
  latencyMax: readonly number[];
  notAvailableDuration: readonly number[];
  /** Latency charged for an isolating failure (exception / error response). */
  isolationLatency: number;
  /** 5.x only lengthens a running penalty, 4.9.8 overwrites it. */
  extendOnly: boolean;
}

export const LATENCY_TABLES: Record<LatencyTableName, LatencyTable> = {
  '4.9': {
    latencyMax: [50, 100, 550, 1000, 2000, 3000, 15000],
    notAvailableDuration: [0, 0, 30000, 60000, 120000, 180000, 600000],
    isolationLatency: 30000,
    extendOnly: false,
  },
  '5.x': {
    latencyMax: [50, 100, 550, 1800, 3000, 5000, 15000],
    notAvailableDuration: [0, 0, 2000, 5000, 6000, 10000, 30000],
    isolationLatency: 10000,
    extendOnly: true,
  },
};

interface FaultItem { name: string; currentLatency: number; startTimestamp: number }

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
    if (!old) return void this.#items.set(name, { name, currentLatency, startTimestamp: until });
    old.currentLatency = currentLatency;
    if (!this.#extendOnly || (notAvailableDuration > 0 && until > old.startTimestamp)) old.startTimestamp = until;
  }

  isAvailable(name: string): boolean {
    return !(this.#clock.now() < this.availableAt(name)!);
  }

  remove(name: string): void {
    this.#items.delete(name);
  }

  /** Time (ms since epoch of the clock) when the broker becomes available again, if penalised. */
  availableAt(name: string): number | undefined {
    return this.#items.get(name)?.startTimestamp;
  }

  /** 4.9.8 pickOneAtLeast: best half by (available, latency, recovery time), in rotation. */
  pickOneAtLeast(): string | undefined {
    const now = this.#clock.now();
    const list = [...this.#items.values()].sort(
      (a, b) =>
        +(now < a.startTimestamp) - +(now < b.startTimestamp) ||
        a.currentLatency - b.currentLatency ||
        a.startTimestamp - b.startTimestamp,
    );
    const half = list.length >> 1;
    if (half > 0) this.#whichItemWorst = (this.#whichItemWorst + 1) & 0x7fffffff;
    return list[half > 0 ? this.#whichItemWorst % half : 0]?.name;
  }
}

export interface MQFaultStrategyOptions { sendLatencyFaultEnable?: boolean; latencyTable?: LatencyTableName; clock?: Clock }

export class MQFaultStrategy {
  readonly sendLatencyFaultEnable: boolean;
  readonly table: LatencyTable;
  readonly latencyFaultTolerance: LatencyFaultTolerance;

  constructor(opts: MQFaultStrategyOptions = {}) {
    this.sendLatencyFaultEnable = opts.sendLatencyFaultEnable ?? false;
    this.table = LATENCY_TABLES[opts.latencyTable ?? '5.x'];
    this.latencyFaultTolerance = new LatencyFaultTolerance(opts.clock, this.table.extendOnly);
  }

  /** 4.9.8 MQFaultStrategy.selectOneMessageQueue. */
  selectOneMessageQueue(info: TopicPublishInfo, lastBrokerName?: string): MessageQueue {
    const lft = this.latencyFaultTolerance;
    if (this.sendLatencyFaultEnable) {
      const list = info.messageQueueList;
      const counter = info.sendWhichQueue;
      let index = counter.incrementAndGet();
      for (let i = 0; i < list.length; i++) {
        const mq = list[(index++ & 0x7fffffff) % list.length]!;
        if (lft.isAvailable(mq.brokerName)) return mq;
      }
      const notBestBroker = lft.pickOneAtLeast();
      if (notBestBroker !== undefined) {
        const writeQueueNums = info.writeQueueNumsOf(notBestBroker);
        if (writeQueueNums > 0) {
          // Java mutates the shared queue object here (a known bug); build a new one instead.
          const { topic } = info.selectOneMessageQueue();
          return { topic, brokerName: notBestBroker, queueId: counter.incrementAndGet() % writeQueueNums };
        }
        lft.remove(notBestBroker);
      }
      lastBrokerName = undefined;
    }
    return info.selectOneMessageQueue(lastBrokerName);
  }

  updateFaultItem(brokerName: string, currentLatency: number, isolation: boolean): void {
    if (this.sendLatencyFaultEnable) {
      const duration = this.computeNotAvailableDuration(isolation ? this.table.isolationLatency : currentLatency);
      this.latencyFaultTolerance.updateFaultItem(brokerName, currentLatency, duration);
    }
  }

  computeNotAvailableDuration(currentLatency: number): number {
    const { latencyMax, notAvailableDuration } = this.table;
    let i = latencyMax.length;
    while (i-- > 0) if (currentLatency >= latencyMax[i]!) return notAvailableDuration[i]!;
    return 0;
  }
}
