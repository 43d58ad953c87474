// @rocketmq-edge/transport-ws/http: publishes through the gateway's HTTP API, one `fetch` per
// send: POST /v1/topics/{topic}/messages with the JSON form. For edge functions that publish once
// per invocation (no socket to open and keep); the WebSocket transport is for many sends per
// connection. The gateway's own producer does the routing and retries.
//
// Self-contained (web-standard fetch, type-only imports) so that an app can bundle it beside the
// prebuilt rocketmq-edge.js without a second copy of core, and the Producer bundle stays as it is.
import type { Message } from '@rocketmq-edge/core';

/** The gateway's answer for one message: RocketMQ's SendResult, the broker named by its alias. */
export interface HttpSendResult {
  /** The message id: `msgId` of the Message sent, or the one the gateway chose. */
  id: string;
  sendStatus: 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE';
  msgId: string;
  /** Empty: RocketMQ's offset id encodes the broker's address, which the gateway never names. */
  offsetMsgId: string;
  topic: string;
  /** Broker alias, e.g. "broker-a@0". */
  brokerName: string;
  queueId: number;
  queueOffset: number;
  /** This id was acknowledged before (the gateway's idempotency window): nothing new was stored. */
  duplicate: boolean;
}

export interface HttpProducerOptions {
  /** The gateway's base URL: "https://gw.example.com" (its WebSocket URL's http(s) twin, without /rmq). */
  url: string;
  /** Bearer token, or a function asked before every request. */
  token?: string | (() => string | Promise<string>);
  /** Time for one request, answer included (default 10000 ms). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

export interface HttpSendOptions {
  /** Aborts the request (the message may then be stored or not: send it again with the same msgId). */
  signal?: AbortSignal;
}

/**
 * The gateway answered with an error, or could not be reached (`status` 0). `responseCode` and
 * `remark` are the gateway's (RocketMQ codes: 13 bad message, 16 no permission, 2 busy, …).
 * `retryable`: the same message (same msgId) may be sent again later; `retryAfterMs` says when.
 */
export class HttpPublishError extends Error {
  override name = 'HttpPublishError';
  constructor(
    readonly status: number,
    readonly responseCode: number,
    readonly remark: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(status ? `gateway answered HTTP ${status} (code ${responseCode}): ${remark}` : remark, options);
  }

  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** Message ids the gateway's HTTP API takes (each becomes the message's UNIQ_KEY): 1 to 128 printable ASCII characters. */
export const HTTP_MESSAGE_ID = /^[\x20-\x7e]{1,128}$/;

const DEFAULT_TIMEOUT_MS = 10_000;

/** Sends messages over the gateway's HTTP API; needs no start() or shutdown(). */
export class HttpProducer {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpProducerOptions) {
    if (!/^https?:\/\//i.test(options.url ?? '')) throw new TypeError(`HttpProducer url must be http(s)://host[:port], got ${options.url}`);
    this.base = options.url.replace(/\/+$/, '');
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** One message; resolves once a broker acknowledged it (or it was acknowledged before: `duplicate`). */
  async send(message: Message, opts: HttpSendOptions = {}): Promise<HttpSendResult> {
    return (await this.post(message.topic, jsonMessage(message), opts)) as HttpSendResult;
  }

  /** Messages of one topic, sent as one RocketMQ batch (with delay levels: one by one); results in order. */
  async sendBatch(messages: readonly Message[], opts: HttpSendOptions = {}): Promise<HttpSendResult[]> {
    const topic = messages[0]?.topic;
    if (topic === undefined || messages.some((m) => m.topic !== topic)) throw new TypeError('sendBatch needs one or more messages of one topic');
    const answer = (await this.post(topic, { messages: messages.map(jsonMessage) }, opts)) as { results: HttpSendResult[] };
    return answer.results;
  }

  private async post(topic: string, body: unknown, opts: HttpSendOptions): Promise<unknown> {
    const { token, timeoutMs = DEFAULT_TIMEOUT_MS } = this.options;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const t = typeof token === 'function' ? await token() : token;
    if (t) headers.authorization = `Bearer ${t}`;
    let res: Response;
    try {
      res = await this.fetch(`${this.base}/v1/topics/${encodeURIComponent(topic)}/messages`, {
        method: 'POST', headers, body: JSON.stringify(body), signal: opts.signal ?? AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new HttpPublishError(0, -1, `gateway not reachable: ${(e as Error)?.message ?? e}`, undefined, { cause: e });
    }
    const text = await res.text();
    let json: { code?: unknown; remark?: unknown } | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      // not the gateway's JSON (a proxy's error page): reported below with its status
    }
    if (res.ok && json) return json;
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new HttpPublishError(
      res.status,
      typeof json?.code === 'number' ? json.code : -1,
      typeof json?.remark === 'string' ? json.remark : text.slice(0, 200) || res.statusText,
      Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
    );
  }
}

/** A Message in the JSON form of the API (bytes as base64). */
export function jsonMessage(m: Message): Record<string, unknown> {
  if (m.flag || m.deliverTimeMs !== undefined || m.waitStoreMsgOK === false) {
    throw new TypeError('the HTTP API sends body, tags, keys, properties, delayLevel and msgId; flag, deliverTimeMs and waitStoreMsgOK need the WebSocket transport');
  }
  const out: Record<string, unknown> = typeof m.body === 'string' ? { body: m.body } : { body: base64(m.body), encoding: 'base64' };
  if (m.msgId) out.id = m.msgId;
  if (m.tags) out.tags = m.tags;
  if (m.keys !== undefined) out.keys = m.keys;
  if (m.properties) out.properties = m.properties;
  if (m.delayLevel) out.delayLevel = m.delayLevel;
  return out;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  // In slices: String.fromCharCode with a whole large array would overflow the argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
