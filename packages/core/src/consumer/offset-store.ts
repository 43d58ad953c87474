// RemoteBrokerOffsetStore: a clustering group's committed offsets, kept in memory and written to
// the broker that holds each queue (10.4).
import { MQBrokerError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import { queryConsumerOffset, updateConsumerOffset, type ClientApi } from './client-api.js';

/** Key of a queue in maps: its three fields. */
export const mqKey = (mq: MessageQueue): string => `${mq.topic}\u0001${mq.brokerName}\u0001${mq.queueId}`;

/** The master address of a queue's broker (looking the route up if needed); throws when there is none. */
export type FindBrokerAddr = (mq: MessageQueue) => Promise<string>;

/** What readOffset answers besides an offset (OffsetStore's -1 and -2). */
export const OFFSET_NOT_FOUND = -1;
export const OFFSET_READ_FAILED = -2;

export class RemoteBrokerOffsetStore {
  readonly #table = new Map<string, { mq: MessageQueue; offset: number; persisted?: number }>();
  readonly #api: ClientApi;
  readonly #group: string;
  readonly #findBrokerAddr: FindBrokerAddr;

  constructor(api: ClientApi, group: string, findBrokerAddr: FindBrokerAddr) {
    this.#api = api;
    this.#group = group;
    this.#findBrokerAddr = findBrokerAddr;
  }

  updateOffset(mq: MessageQueue, offset: number): void {
    const e = this.#table.get(mqKey(mq));
    if (e) e.offset = offset;
    else this.#table.set(mqKey(mq), { mq: { ...mq }, offset });
  }

  /** The offset in memory, if any. */
  memoryOffset(mq: MessageQueue): number | undefined {
    return this.#table.get(mqKey(mq))?.offset;
  }

  /**
   * readOffset(MEMORY_FIRST_THEN_STORE): memory, else the broker (QUERY_CONSUMER_OFFSET), kept in
   * memory. OFFSET_NOT_FOUND when the broker has none (any broker refusal, as in Java),
   * OFFSET_READ_FAILED when it could not be asked.
   */
  async readOffset(mq: MessageQueue): Promise<number> {
    const mem = this.memoryOffset(mq);
    if (mem !== undefined) return mem;
    try {
      const offset = await queryConsumerOffset(this.#api, await this.#findBrokerAddr(mq), this.#group, mq);
      this.updateOffset(mq, offset);
      this.#table.get(mqKey(mq))!.persisted = offset;
      return offset;
    } catch (e) {
      return e instanceof MQBrokerError ? OFFSET_NOT_FOUND : OFFSET_READ_FAILED;
    }
  }

  removeOffset(mq: MessageQueue): void {
    this.#table.delete(mqKey(mq));
  }

  /**
   * Writes the queue's offset to its broker: oneway (the periodic persist, as Java) or two-way
   * (commitSync: resolves once the broker acknowledged). `onlyChanged` skips offsets the broker
   * already has, so an idle consumer sends nothing.
   */
  async persist(mq: MessageQueue, oneway: boolean, onlyChanged = false): Promise<void> {
    const e = this.#table.get(mqKey(mq));
    if (!e || (onlyChanged && e.persisted === e.offset)) return;
    const offset = e.offset;
    await updateConsumerOffset(this.#api, await this.#findBrokerAddr(mq), this.#group, mq, offset, oneway);
    e.persisted = offset;
  }
}
