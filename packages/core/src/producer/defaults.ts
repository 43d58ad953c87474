// Producer option defaults (DefaultMQProducer / ClientConfig, 5.2). In a module of their own so that
// the bundler inlines them where they are used (numbers and short strings; only those declared
// before the array, hence its place at the end).
import type { LatencyTableName } from './fault.js';

export const DEFAULT_PRODUCER_GROUP = 'DEFAULT_PRODUCER';
export const CLIENT_INNER_PRODUCER_GROUP = 'CLIENT_INNER_PRODUCER';
/**
 * '5.x' penalties (isolation → 10 s, slow send ≥ 550 ms → 2 s) rather than 4.9.8's (isolation →
 * 10 min): an edge client is short-lived and often has few brokers, so one hiccup must not bench
 * a broker for ten minutes. Only used when sendLatencyFaultEnable is on (default off, as in Java).
 */
export const DEFAULT_LATENCY_TABLE: LatencyTableName = '5.x';
export const DEFAULT_SEND_MSG_TIMEOUT = 3000;
export const DEFAULT_RETRY_TIMES_WHEN_SEND_FAILED = 2;
export const DEFAULT_RETRY_TIMES_WHEN_SEND_ASYNC_FAILED = 2;
export const DEFAULT_COMPRESS_MSG_BODY_OVER_HOWMUCH = 4096;
export const DEFAULT_TOPIC_QUEUE_NUMS = 4;
export const DEFAULT_CREATE_TOPIC_KEY = 'TBW102';
export const DEFAULT_MQ_CLIENT_API_TIMEOUT = 3000;
export const DEFAULT_POLL_NAME_SERVER_INTERVAL = 30_000;
export const DEFAULT_HEARTBEAT_BROKER_INTERVAL = 30_000;
export const DEFAULT_MAX_ASYNC_IN_FLIGHT = 10_000;
export const DEFAULT_MAX_ASYNC_IN_FLIGHT_BYTES = 104_857_600 // 100 MiB;
/** 0 = a batch leaves at the end of the task its first message was sent in (5.x: 10 ms). */
export const DEFAULT_BATCH_MAX_DELAY_MS = 0;
/** Body bytes one automatic batch holds at most (5.x: 32 KiB). */
export const DEFAULT_BATCH_MAX_BYTES = 32_768;
/** Body bytes of automatically batched sends in flight at most (5.x: 32 MiB). */
export const DEFAULT_TOTAL_BATCH_MAX_BYTES = 33_554_432;
/** Placeholder client IP: browsers cannot learn their address; only used in the client id. */
export const DEFAULT_CLIENT_IP = '127.0.0.1';
/** 4.9.8 retry set: TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, SYSTEM_ERROR, NO_PERMISSION, NO_BUYER_ID, NOT_IN_CURRENT_UNIT (SYSTEM_BUSY is not retried). */
export const DEFAULT_RETRY_RESPONSE_CODES: readonly number[] = [17, 14, 1, 16, 204, 205];
