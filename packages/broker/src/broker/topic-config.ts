// Topic configurations of one broker, persisted in <dataDir>/config/topics.json. Writing the
// table costs O(topics), so changes are coalesced (CoalescedTask): one write covers every change
// made before it starts. A crash can lose the topics created since the last write; the broker
// re-creates those that hold messages from the commit log at start (adoptStored).
import path from 'node:path';
import { CoalescedTask } from '../coalesced-task.js';
import type { Logger } from '../logger.js';
import { noopLogger } from '../logger.js';
import type { DataVersion, TopicConfig } from '../register-body.js';
import { readJsonFile, writeJsonFileAtomicAsync } from '../store/json-file.js';

export const PERM_PRIORITY = 8;
export const PERM_READ = 4;
export const PERM_WRITE = 2;
export const PERM_INHERIT = 1;

export const DEFAULT_TOPIC = 'TBW102';
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
/** Where timer messages (TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS) wait; broker-internal. */
export const TIMER_TOPIC = 'rmq_sys_wheel_timer';
export const RETRY_PREFIX = '%RETRY%';
export const DLQ_PREFIX = '%DLQ%';

export interface TopicConfigOptions {
  dir: string;
  autoCreateTopicEnable: boolean;
  /** Queues of TBW102, the upper bound for auto-created topics (RocketMQ broker default 8). */
  defaultTopicQueueNums: number;
  /** Number of delay levels (queues of SCHEDULE_TOPIC_XXXX). */
  delayLevels: number;
  logger?: Logger;
}

interface Persisted {
  dataVersion: DataVersion;
  topics: Record<string, TopicConfig>;
}

export function topicConfig(topicName: string, queues: number, perm = PERM_READ | PERM_WRITE): TopicConfig {
  return { topicName, readQueueNums: queues, writeQueueNums: queues, perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
}

export class TopicConfigManager {
  private readonly file: string;
  private readonly table = new Map<string, TopicConfig>();
  readonly dataVersion: DataVersion;
  private readonly listeners = new Set<() => void>();
  private readonly log: Logger;
  private readonly persistTask: CoalescedTask;
  /** Topics changed since the last write started. */
  private unpersisted = new Set<string>();
  /** Topics of the write in progress. */
  private persisting = new Set<string>();

  constructor(private readonly opts: TopicConfigOptions) {
    this.log = opts.logger ?? noopLogger;
    this.persistTask = new CoalescedTask(() => this.persist(), {
      onError: (e) => this.log('error', `cannot save ${this.file} (retrying every second): ${(e as Error).message}`),
    });
    this.file = path.join(opts.dir, 'topics.json');
    const saved = readJsonFile<Persisted>(this.file, { dataVersion: { counter: 0, timestamp: Date.now() }, topics: {} });
    for (const [name, t] of Object.entries(saved.topics ?? {})) if (t && typeof t === 'object') this.table.set(name, { ...t, topicName: name });
    this.dataVersion = { counter: saved.dataVersion?.counter ?? 0, timestamp: Date.now() };
    // System topics, as a real broker registers them.
    if (opts.autoCreateTopicEnable) this.table.set(DEFAULT_TOPIC, topicConfig(DEFAULT_TOPIC, opts.defaultTopicQueueNums, PERM_INHERIT | PERM_READ | PERM_WRITE));
    else this.table.delete(DEFAULT_TOPIC);
    this.table.set(SCHEDULE_TOPIC, topicConfig(SCHEDULE_TOPIC, opts.delayLevels));
    this.table.set('SELF_TEST_TOPIC', topicConfig('SELF_TEST_TOPIC', 1));
    this.table.set('OFFSET_MOVED_EVENT', topicConfig('OFFSET_MOVED_EVENT', 1));
  }

  get(topic: string): TopicConfig | undefined {
    return this.table.get(topic);
  }

  all(): TopicConfig[] {
    return [...this.table.values()];
  }

  onChange(cb: () => void): void {
    this.listeners.add(cb);
  }

  /** Creates or replaces a topic, schedules a write of the table and tells listeners (re-registration). */
  put(cfg: TopicConfig): TopicConfig {
    this.table.set(cfg.topicName, cfg);
    this.dataVersion.counter++;
    this.dataVersion.timestamp = Date.now();
    this.unpersisted.add(cfg.topicName);
    this.persistTask.request();
    for (const cb of this.listeners) cb();
    return cfg;
  }

  /**
   * Marks a change of the table as published without changing a topic (the broker's write
   * permission): name servers only re-read a registration whose data version moved.
   */
  touch(): void {
    this.dataVersion.counter++;
    this.dataVersion.timestamp = Date.now();
  }

  /**
   * Undefined when `topic`'s config is on disk; otherwise a promise of the write that holds it
   * (rejected if that write fails). Await it before acknowledging anything stored in the topic.
   */
  whenPersisted(topic: string): Promise<void> | undefined {
    if (this.unpersisted.has(topic)) return this.persistTask.next();
    if (this.persisting.has(topic)) return this.persistTask.current;
    return undefined;
  }

  /** Writes what is not written yet, then takes no more writes. */
  async close(): Promise<void> {
    await this.persistTask.close();
  }

  /**
   * Auto-creation on send (TopicConfigManager.createTopicInSendMessageMethod): only when the
   * default topic exists and has PERM_INHERIT; queues = min(client's defaultTopicQueueNums, its queues).
   */
  createFromDefault(topic: string, defaultTopic: string, clientQueueNums: number): TopicConfig | undefined {
    const existing = this.table.get(topic);
    if (existing) return existing;
    const def = this.table.get(defaultTopic);
    if (!def || !(def.perm & PERM_INHERIT)) return undefined;
    if (defaultTopic === DEFAULT_TOPIC && !this.opts.autoCreateTopicEnable) return undefined;
    const n = Math.max(1, Math.min(clientQueueNums > 0 ? clientQueueNums : 4, def.writeQueueNums));
    return this.put({ ...topicConfig(topic, n, def.perm & ~PERM_INHERIT), topicSysFlag: 0 });
  }

  /**
   * A topic the commit log holds messages of but the table does not know (created after the last
   * write of topics.json, then a crash): re-created with `queues` queues (1 + the highest queue id
   * stored; retry and dead-letter topics 1) and the auto-creation permission. Returns true if added.
   */
  adoptStored(topic: string, queues: number): boolean {
    if (this.table.has(topic) || queues < 1) return false;
    const n = topic.startsWith(RETRY_PREFIX) || topic.startsWith(DLQ_PREFIX) ? 1 : queues;
    this.put(topicConfig(topic, n));
    return true;
  }

  /** %RETRY%group / %DLQ%group: one queue. */
  ensure(topic: string, queues: number, perm = PERM_READ | PERM_WRITE): TopicConfig {
    return this.table.get(topic) ?? this.put(topicConfig(topic, queues, perm));
  }

  private async persist(): Promise<void> {
    this.persisting = this.unpersisted;
    this.unpersisted = new Set();
    const topics: Record<string, TopicConfig> = {};
    for (const [k, v] of this.table) topics[k] = v;
    const { size } = this.table;
    const version = this.dataVersion.counter;
    const t0 = performance.now();
    try {
      await writeJsonFileAtomicAsync(this.file, { dataVersion: this.dataVersion, topics } satisfies Persisted);
      this.log('debug', `topics: saved ${size} topics, data version ${version}, in ${Math.round(performance.now() - t0)} ms`);
    } catch (e) {
      for (const t of this.persisting) this.unpersisted.add(t);
      throw e;
    } finally {
      this.persisting = new Set();
    }
  }
}
