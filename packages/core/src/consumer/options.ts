// LitePullConsumer options (DefaultLitePullConsumer / ClientConfig): named defaults, validated once in
// the constructor from tables, the way the producer's options are.
import { MQClientError } from '../errors.js';
import { validateGroup, wrapNamespace } from '../message/index.js';
import type { SerializeType } from '../remoting/command.js';
import type { Transport } from '../transport.js';

/** Where a group without a committed offset starts (the three values DefaultLitePullConsumer accepts). */
export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

// DefaultLitePullConsumer / ClientConfig / MQClientInstance defaults (4.9.8).
export const DEFAULT_PULL_BATCH_SIZE = 10;
export const DEFAULT_POLL_TIMEOUT_MILLIS = 5000;
export const DEFAULT_AUTO_COMMIT_INTERVAL_MILLIS = 5000;
/** MQClientInstance.persistAllConsumerOffset: how often committed offsets go to the broker. */
export const DEFAULT_PERSIST_CONSUMER_OFFSET_INTERVAL = 5000;
export const DEFAULT_BROKER_SUSPEND_MAX_TIME_MILLIS = 20_000;
export const DEFAULT_CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND = 30_000;
export const DEFAULT_PULL_THRESHOLD_FOR_ALL = 10_000;
export const DEFAULT_PULL_THRESHOLD_FOR_QUEUE = 1000;
/** MiB. */
export const DEFAULT_PULL_THRESHOLD_SIZE_FOR_QUEUE = 100;
export const DEFAULT_PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION = 1000;
/** RebalanceService's wait (rocketmq.client.rebalance.waitInterval). */
export const DEFAULT_REBALANCE_INTERVAL = 20_000;
/** consumeTimestamp default: half an hour before the consumer was created. */
export const DEFAULT_CONSUME_TIMESTAMP_AGE = 30 * 60_000;

export interface LitePullConsumerOptions {
  transport: Transport;
  /** Required: offsets are committed per group, and a group's members share its queues. */
  consumerGroup: string;
  /** Start of a queue the group has no committed offset for. Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: ConsumeFromWhere;
  /** CONSUME_FROM_TIMESTAMP: ms since the epoch; default 30 minutes before the consumer was created. */
  consumeTimestamp?: number;
  /** Commit what poll() returned every autoCommitIntervalMillis (at the next poll) and at shutdown. Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMillis?: number;
  /** How often committed offsets are written to the brokers (UPDATE_CONSUMER_OFFSET, oneway). */
  persistConsumerOffsetInterval?: number;
  /** Messages asked for per PULL_MESSAGE. */
  pullBatchSize?: number;
  /** Default timeout of poll() (ms). */
  pollTimeoutMillis?: number;
  /** How long a broker may hold a pull that finds nothing (long polling). */
  brokerSuspendMaxTimeMillis?: number;
  /** Client timeout of a held pull; must exceed brokerSuspendMaxTimeMillis. */
  consumerTimeoutMillisWhenSuspend?: number;
  /** Flow control: buffered messages over all queues, per queue, and MiB per queue. */
  pullThresholdForAll?: number;
  pullThresholdForQueue?: number;
  pullThresholdSizeForQueue?: number;
  /** Pause of a queue's pulling after a failed pull. */
  pullTimeDelayMillsWhenException?: number;
  /** Subscribe mode: how often queues are re-divided among the group (also at once on a broker's notice). */
  rebalanceInterval?: number;
  heartbeatBrokerInterval?: number;
  pollNameServerInterval?: number;
  /** Timeout of each name-server and broker call other than pulls. */
  mqClientApiTimeout?: number;
  serializeType?: SerializeType;
  /** Used in the client id only; web runtimes cannot know their address. */
  clientIP?: string;
  /** Client id suffix; default random per consumer (Java: `<pid>#<nanoTime>`), so each tab or process is its own member. */
  instanceName?: string;
  /**
   * Namespace (ClientConfig.namespace): the group and topics are `<namespace>%<name>` on the wire,
   * as a Producer with the same namespace sends them; messages and queues keep your names.
   */
  namespace?: string;
}

export type ResolvedConsumerOptions = Required<Omit<LitePullConsumerOptions, 'instanceName' | 'namespace'>> & Pick<LitePullConsumerOptions, 'instanceName' | 'namespace'>;

/** Whole-number options: [default, minimum]. */
const NUMBERS: Record<string, [number, number]> = {
  autoCommitIntervalMillis: [DEFAULT_AUTO_COMMIT_INTERVAL_MILLIS, 1000],
  persistConsumerOffsetInterval: [DEFAULT_PERSIST_CONSUMER_OFFSET_INTERVAL, 10],
  pullBatchSize: [DEFAULT_PULL_BATCH_SIZE, 1],
  pollTimeoutMillis: [DEFAULT_POLL_TIMEOUT_MILLIS, 0],
  brokerSuspendMaxTimeMillis: [DEFAULT_BROKER_SUSPEND_MAX_TIME_MILLIS, 0],
  consumerTimeoutMillisWhenSuspend: [DEFAULT_CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND, 1],
  pullThresholdForAll: [DEFAULT_PULL_THRESHOLD_FOR_ALL, 1],
  pullThresholdForQueue: [DEFAULT_PULL_THRESHOLD_FOR_QUEUE, 1],
  pullThresholdSizeForQueue: [DEFAULT_PULL_THRESHOLD_SIZE_FOR_QUEUE, 1],
  pullTimeDelayMillsWhenException: [DEFAULT_PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION, 0],
  rebalanceInterval: [DEFAULT_REBALANCE_INTERVAL, 10],
  heartbeatBrokerInterval: [30_000, 10],
  pollNameServerInterval: [30_000, 10],
  mqClientApiTimeout: [3000, 1],
  consumeTimestamp: [0, 0],
};

/** Options with a fixed set of values, the default first. */
const CHOICES: Record<string, string> = {
  consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET CONSUME_FROM_FIRST_OFFSET CONSUME_FROM_TIMESTAMP',
  serializeType: 'JSON ROCKETMQ',
};

const bad = (name: string, why: string): never => {
  throw new MQClientError(-1, `LitePullConsumerOptions.${name} ${why}`);
};

export function resolveConsumerOptions(o: LitePullConsumerOptions): ResolvedConsumerOptions {
  if (typeof o?.transport?.connect !== 'function') bad('transport', 'is required (a WebSocketTransport or TcpTransport)');
  const r: Record<string, unknown> = { autoCommit: true, clientIP: '127.0.0.1', consumeTimestamp: Date.now() - DEFAULT_CONSUME_TIMESTAMP_AGE };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) r[k] = v;
  if (o.consumerGroup === 'DEFAULT_CONSUMER') bad('consumerGroup', 'must not be DEFAULT_CONSUMER: name the group');
  validateGroup(r.consumerGroup as string);
  for (const k in NUMBERS) {
    const [def, min] = NUMBERS[k]!;
    const v = (r[k] ??= def);
    if (!Number.isSafeInteger(v) || (v as number) < min) bad(k, `must be a whole number ≥ ${min}, got ${v}`);
  }
  for (const k in CHOICES) {
    const allowed = CHOICES[k]!.split(' ');
    if (!allowed.includes((r[k] ??= allowed[0]) as string)) bad(k, `must be one of ${allowed.join(', ')}`);
  }
  if ((r.consumerTimeoutMillisWhenSuspend as number) <= (r.brokerSuspendMaxTimeMillis as number)) {
    bad('consumerTimeoutMillisWhenSuspend', 'must be greater than brokerSuspendMaxTimeMillis (long polling)');
  }
  if (typeof r.autoCommit !== 'boolean') bad('autoCommit', 'must be true or false');
  if (!/^[^@]+$/.test(r.clientIP as string)) bad('clientIP', 'must not be empty or contain "@"');
  if (r.namespace != null && !/^[%|\w-]*$/.test(r.namespace as string)) bad('namespace', 'may only hold letters, digits, %, |, _ and -');
  // The group as the brokers know it (DefaultLitePullConsumer.start wraps it the same way).
  r.consumerGroup = wrapNamespace(r.namespace as string | undefined, r.consumerGroup as string);
  return r as ResolvedConsumerOptions;
}
