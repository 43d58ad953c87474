// Topic configurations of one broker, persisted in <dataDir>/config/topics.json.
import path from 'node:path';
import type { DataVersion, TopicConfig } from '../register-body.js';
import { readJsonFile, writeJsonFileAtomic } from '../store/json-file.js';

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

  constructor(private readonly opts: TopicConfigOptions) {
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

  /** Creates or replaces a topic, persists the table and tells listeners (re-registration). */
  put(cfg: TopicConfig): TopicConfig {
    this.table.set(cfg.topicName, cfg);
    this.dataVersion.counter++;
    this.dataVersion.timestamp = Date.now();
    this.persist();
    for (const cb of this.listeners) cb();
    return cfg;
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

  /** %RETRY%group / %DLQ%group: one queue. */
  ensure(topic: string, queues: number, perm = PERM_READ | PERM_WRITE): TopicConfig {
    return this.table.get(topic) ?? this.put(topicConfig(topic, queues, perm));
  }

  private persist(): void {
    const topics: Record<string, TopicConfig> = {};
    for (const [k, v] of this.table) topics[k] = v;
    writeJsonFileAtomic(this.file, { dataVersion: this.dataVersion, topics } satisfies Persisted);
  }
}
