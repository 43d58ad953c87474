// Producer options (DefaultMQProducer / ClientConfig, 5.2): defaults from ./defaults.js, validated once
// in the constructor.
import { MQClientError } from '../errors.js';
import { DEFAULT_MAX_MESSAGE_SIZE, validateGroup } from '../message/index.js';
import type { SerializeType } from '../remoting/command.js';
import type { Transport } from '../transport.js';
import {
  DEFAULT_CLIENT_IP, DEFAULT_COMPRESS_MSG_BODY_OVER_HOWMUCH, DEFAULT_CREATE_TOPIC_KEY, DEFAULT_HEARTBEAT_BROKER_INTERVAL, DEFAULT_LATENCY_TABLE,
  DEFAULT_MAX_ASYNC_IN_FLIGHT, DEFAULT_MAX_ASYNC_IN_FLIGHT_BYTES, DEFAULT_MQ_CLIENT_API_TIMEOUT, DEFAULT_POLL_NAME_SERVER_INTERVAL,
  DEFAULT_PRODUCER_GROUP, DEFAULT_RETRY_RESPONSE_CODES, DEFAULT_RETRY_TIMES_WHEN_SEND_ASYNC_FAILED, DEFAULT_RETRY_TIMES_WHEN_SEND_FAILED,
  DEFAULT_SEND_MSG_TIMEOUT, DEFAULT_TOPIC_QUEUE_NUMS,
} from './defaults.js';
import type { Clock, LatencyTableName } from './fault.js';
import type { AutoBatch } from './accumulator.js';

export * from './defaults.js';

export interface ProducerOptions {
  transport: Transport;
  producerGroup?: string;
  /** Total budget of one send, covering route lookup and every retry. */
  sendMsgTimeout?: number;
  retryTimesWhenSendFailed?: number;
  retryTimesWhenSendAsyncFailed?: number;
  retryAnotherBrokerWhenNotStoreOK?: boolean;
  /** Broker response codes that make a sync send retry on another broker. */
  retryResponseCodes?: readonly number[];
  compressMsgBodyOverHowmuch?: number;
  maxMessageSize?: number;
  defaultTopicQueueNums?: number;
  createTopicKey?: string;
  sendLatencyFaultEnable?: boolean;
  latencyTable?: LatencyTableName;
  mqClientApiTimeout?: number;
  pollNameServerInterval?: number;
  heartbeatBrokerInterval?: number;
  maxAsyncInFlight?: number;
  maxAsyncInFlightBytes?: number;
  /** 'wait': wait for capacity within the send's timeout; 'reject': fail at once. */
  asyncBackpressure?: 'wait' | 'reject';
  /**
   * RocketMQ 5.x autoBatch, off by default: pass the `autoBatch` function exported by this package
   * (`new Producer({ transport, autoBatch })`) and concurrent send/sendAsync calls to one topic and
   * broker go as one SEND_BATCH_MESSAGE; each call still gets its own SendResult once its own
   * message is stored. A function rather than `true` so that producers without it do not ship it.
   */
  autoBatch?: AutoBatch | false;
  /** autoBatch: how long a batch waits for more messages, ms (default 0: until the end of the current task). */
  batchMaxDelayMs?: number;
  /** autoBatch: message-body bytes in one batch at most (default 32 KiB); a larger message goes alone. */
  batchMaxBytes?: number;
  /** autoBatch: message-body bytes of batched sends in flight at most (default 32 MiB); then they wait or are refused as asyncBackpressure says. */
  totalBatchMaxBytes?: number;
  serializeType?: SerializeType;
  /** Used in the client id only; web runtimes cannot know their address. */
  clientIP?: string;
  /** Client id suffix; default random per Producer (Java: `<pid>#<nanoTime>`). */
  instanceName?: string;
  /**
   * Namespace (ClientConfig.namespace): topics and the producer group travel as `<namespace>%<name>`
   * (NamespaceUtil), so teams can share a cluster; results and errors keep the names you gave.
   */
  namespace?: string;
  clock?: Clock;
}

/** Options without a default here (the autoBatch ones are resolved by autoBatch). */
type Optional = 'clock' | 'instanceName' | 'namespace' | 'autoBatch' | 'batchMaxDelayMs' | 'batchMaxBytes' | 'totalBatchMaxBytes';
export type ResolvedProducerOptions = Required<Omit<ProducerOptions, Optional>> & Pick<ProducerOptions, Optional>;

/** Options with a default that are neither whole numbers nor choices. */
const DEFAULTS = {
  producerGroup: DEFAULT_PRODUCER_GROUP,
  retryAnotherBrokerWhenNotStoreOK: false,
  retryResponseCodes: DEFAULT_RETRY_RESPONSE_CODES,
  createTopicKey: DEFAULT_CREATE_TOPIC_KEY,
  sendLatencyFaultEnable: false,
  clientIP: DEFAULT_CLIENT_IP,
};

/** Whole-number options: [default, minimum, maximum]. */
export type NumberOptions = Record<string, [number, number, number?]>;

const NUMBERS: NumberOptions = {
  sendMsgTimeout: [DEFAULT_SEND_MSG_TIMEOUT, 1],
  retryTimesWhenSendFailed: [DEFAULT_RETRY_TIMES_WHEN_SEND_FAILED, 0],
  retryTimesWhenSendAsyncFailed: [DEFAULT_RETRY_TIMES_WHEN_SEND_ASYNC_FAILED, 0],
  compressMsgBodyOverHowmuch: [DEFAULT_COMPRESS_MSG_BODY_OVER_HOWMUCH, 0],
  maxMessageSize: [DEFAULT_MAX_MESSAGE_SIZE, 1],
  defaultTopicQueueNums: [DEFAULT_TOPIC_QUEUE_NUMS, 1],
  mqClientApiTimeout: [DEFAULT_MQ_CLIENT_API_TIMEOUT, 1],
  pollNameServerInterval: [DEFAULT_POLL_NAME_SERVER_INTERVAL, 10],
  heartbeatBrokerInterval: [DEFAULT_HEARTBEAT_BROKER_INTERVAL, 10],
  maxAsyncInFlight: [DEFAULT_MAX_ASYNC_IN_FLIGHT, 1],
  maxAsyncInFlightBytes: [DEFAULT_MAX_ASYNC_IN_FLIGHT_BYTES, 1],
};

/** Options with a fixed set of values, the default first. */
const CHOICES: Record<string, string> = {
  latencyTable: DEFAULT_LATENCY_TABLE + ' 4.9', // a concatenation esbuild folds (a template it does not)
  asyncBackpressure: 'wait reject',
  serializeType: 'JSON ROCKETMQ',
};

const bad = (name: string, why: string): never => {
  throw new MQClientError(-1, `ProducerOptions.${name} ${why}`);
};

/** Fills in the defaults of whole-number options in `r` and checks them. */
export function resolveNumbers(r: Record<string, unknown>, table: NumberOptions): void {
  for (const k in table) {
    const [def, min, max = Infinity] = table[k]!;
    const v = (r[k] ??= def);
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) bad(k, `must be a whole number ≥ ${min}${max < Infinity ? ` and ≤ ${max}` : ''}, got ${v}`);
  }
}

export function resolveProducerOptions(o: ProducerOptions): ResolvedProducerOptions {
  if (typeof o?.transport?.connect !== 'function') bad('transport', 'is required (a WebSocketTransport or TcpTransport)');
  const r: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) r[k] = v;
  validateGroup(r.producerGroup as string);
  resolveNumbers(r, NUMBERS);
  for (const k in CHOICES) {
    const allowed = CHOICES[k]!.split(' ');
    if (!allowed.includes((r[k] ??= allowed[0]) as string)) bad(k, `must be one of ${allowed.join(', ')}`);
  }
  if (!r.createTopicKey) bad('createTopicKey', 'must not be empty');
  if (!/^[^@]+$/.test(r.clientIP as string)) bad('clientIP', 'must not be empty or contain "@"');
  // It becomes part of every topic and group name, so it follows their spelling.
  if (r.namespace != null && !/^[%|\w-]*$/.test(r.namespace as string)) bad('namespace', 'may only hold letters, digits, %, |, _ and -');
  if (r.autoBatch && typeof r.autoBatch !== 'function') bad('autoBatch', "takes the autoBatch function: import { autoBatch } from '@rocketmq-edge/core' and pass { autoBatch }");
  return r as ResolvedProducerOptions;
}
