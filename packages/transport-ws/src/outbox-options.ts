// The outbox's public shapes: options and their defaults, the queued message, events, errors.
import { RocketMQError, type Message, type Producer, type SendResult } from '@rocketmq-edge/core';
import type { TokenSource } from './transport.js';
import type { ReconnectOptions } from './types.js';

export const DEFAULT_OUTBOX_NAME = 'default';
export const DEFAULT_OUTBOX_MAX_MESSAGES = 10_000;
export const DEFAULT_OUTBOX_MAX_BYTES = 10_485_760; // 10 MiB
/** 7 days: a laptop closed over a weekend still delivers on Monday. */
export const DEFAULT_OUTBOX_MAX_AGE_MS = 604_800_000;
export const DEFAULT_OUTBOX_CONCURRENCY = 16;
/** Browsers allow 64 KiB of keepalive/beacon bodies in flight per page; some room is left for the page's own. */
export const DEFAULT_UNLOAD_BUDGET_BYTES = 61_440;
/** The gateway remembers acknowledged ids for 10 minutes; retries of handed-over messages use it with a margin. */
export const HTTP_DEDUP_WINDOW_MS = 540_000;
export const DEFAULT_OUTBOX_RETRY: Required<Omit<ReconnectOptions, 'maxAttempts'>> = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: 0.5,
};

/**
 * What the outbox carries: the fields the gateway's HTTP form carries too (so unload can hand any
 * message over). `msgId`: the id to queue it under instead of a fresh one.
 */
export type OutboxMessage = Pick<Message, 'topic' | 'body' | 'tags' | 'keys' | 'properties' | 'delayLevel' | 'msgId'>;

/** A message as stored on the device. */
export interface QueuedMessage extends Omit<OutboxMessage, 'msgId'> {
  /** Insertion order (the IndexedDB key). */
  seq: number;
  /** UNIQ_KEY, the msgId: fixed when queued, the same on every attempt and after reloads. */
  id: string;
  /** Date.now() when queued. */
  queuedAt: number;
  /** Bytes counted against maxBytes: body + topic + the property string. */
  size: number;
  /** When the page-unload flush handed it to the gateway's HTTP endpoint (then retried there, idempotently). */
  handedAt?: number;
}

export interface OutboxHttpOptions {
  /** The gateway's HTTP base URL, e.g. "https://gw.example.com". Default: the transport's url with http(s). */
  url?: string;
  /** Bearer token for /v1/topics/…/messages and /v1/beacon-tokens (a token the WebSocket path accepts). */
  token: TokenSource;
  /**
   * How the unload flush sends. 'auto' (default): 'bearer' (keepalive fetch with Authorization) when
   * the gateway has the page's origin, else 'beacon' (navigator.sendBeacon, text/plain, a
   * short-lived publish-only beacon token in the body: no preflight, no long-lived token).
   */
  unloadForm?: 'auto' | 'bearer' | 'beacon';
  /** Most body bytes the unload flush hands over (browsers allow 64 KiB in flight). */
  unloadBudgetBytes?: number;
}

export interface OutboxOptions {
  /** Delivers through this producer (a WebSocketTransport one); started if it was not. */
  producer: Producer;
  /** Pages of one origin that open the same name share one queue (IndexedDB database, Web Lock). */
  name?: string;
  /** Bounds of what is queued on the device. */
  maxMessages?: number;
  maxBytes?: number;
  /** 'reject' (default): publish rejects with OutboxFullError, nothing stored. 'drop-oldest': the oldest leave, each reported by 'overflow'. */
  overflow?: 'reject' | 'drop-oldest';
  /** A message not delivered this long after it was queued leaves with 'failed' (reason 'expired'). */
  maxAgeMs?: number;
  /** Backoff between attempts: exponential with jitter, capped. */
  retry?: Omit<ReconnectOptions, 'maxAttempts'>;
  /** Sends in flight at once. */
  concurrency?: number;
  /** The gateway's HTTP endpoint: enables the page-unload flush. */
  http?: OutboxHttpOptions;
}

/** What the broker acknowledged. Over WebSocket the full SendResult; over HTTP the gateway's answer. */
export type OutboxSendResult = Pick<SendResult, 'sendStatus' | 'msgId' | 'offsetMsgId' | 'messageQueue' | 'queueOffset'> &
  Partial<SendResult> & { duplicate?: boolean };

export interface OutboxEventMap {
  /** The broker acknowledged the message; it left the outbox. */
  delivered: { id: string; topic: string; result: OutboxSendResult; via: 'websocket' | 'http' };
  /** The message left the outbox undelivered: refused for a reason retrying cannot fix, or too old. */
  failed: { id: string; topic: string; message: QueuedMessage; reason: 'refused' | 'expired'; error: Error };
  /** A publish met a bound: with 'reject' nothing was stored (`rejected`), with 'drop-oldest' `dropped` left. */
  overflow: { limit: 'maxMessages' | 'maxBytes'; rejected?: OutboxMessage; dropped: QueuedMessage[] };
  /** The unload flush handed these to the gateway's HTTP endpoint. */
  handedover: { ids: string[]; form: 'bearer' | 'beacon' };
}

/** publish() met maxMessages or maxBytes under the 'reject' policy: nothing was stored. */
export class OutboxFullError extends RocketMQError {
  override name = 'OutboxFullError';
  declare readonly limit: 'maxMessages' | 'maxBytes';
  constructor(limit: 'maxMessages' | 'maxBytes', detail: string) {
    super(`the outbox is full (${limit}: ${detail}); nothing was stored: retry once messages are delivered, or raise ${limit}`);
    this.limit = limit;
  }
}
