// RequestProducer: DefaultMQProducer.request (protocol 7.2). A request is an ordinary message with
// CORRELATION_ID, REPLY_TO_CLIENT (this client's id) and TTL; a replier answers it with
// createReplyMessage, and the broker pushes that reply over a connection this client heartbeated
// (PUSH_REPLY_MESSAGE_TO_CLIENT), where it completes the request waiting under its correlation id.
import { AbortError, MQClientError } from '../errors.js';
import { validateTopic, type Message, type MessageExt } from '../message/index.js';
import { Producer, type SendOptions } from '../producer/producer.js';
import {
  CE_REQUEST_TIMEOUT_EXCEPTION, RC_PUSH_REPLY_MESSAGE_TO_CLIENT, RS_REQUEST_CODE_NOT_SUPPORTED, RS_SUCCESS, RS_SYSTEM_ERROR,
} from '../remoting/codes.js';
import { createResponse, type RemotingCommand } from '../remoting/command.js';
import type { ProducerOptions } from '../producer/options.js';
import { MASTER_ID } from '../route/topic-route.js';
import { decodeReplyMessage } from './reply.js';

export interface RequestOptions extends Pick<SendOptions, 'queue' | 'selector' | 'arg' | 'signal'> {
  /** How long to wait for the reply, in ms, from the call (also sent as the request's TTL). Default sendMsgTimeout. */
  timeout?: number;
}

/** CorrelationIdUtil: a random (version 4) UUID, from getRandomValues (randomUUID needs a secure context). */
export function createCorrelationId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A Producer that can also send requests and wait for their replies (DefaultMQProducer.request). */
export class RequestProducer extends Producer {
  /** Requests waiting for a reply, by correlation id (RequestFutureHolder's table, per producer). */
  readonly #waiting = new Map<string, (reply: MessageExt) => void>();
  /** Topics whose first request has made sure the brokers know this client. */
  readonly #prepared = new Set<string>();

  constructor(opts: ProducerOptions) {
    super(opts);
    this.client.onRequest((target, cmd) => this.onBrokerRequest(target, cmd));
  }

  /** Requests waiting for their reply. */
  get pendingRequests(): number {
    return this.#waiting.size;
  }

  /**
   * Answers a request a broker sends this client: PUSH_REPLY_MESSAGE_TO_CLIENT here (subclasses
   * add theirs), REQUEST_CODE_NOT_SUPPORTED for the rest, as Java's client does.
   */
  protected onBrokerRequest(_target: string, cmd: RemotingCommand): RemotingCommand | void | Promise<RemotingCommand | void> {
    if (cmd.code === RC_PUSH_REPLY_MESSAGE_TO_CLIENT) return this.#receiveReply(cmd);
    return createResponse(cmd, RS_REQUEST_CODE_NOT_SUPPORTED, ` request type ${cmd.code} not supported`);
  }

  /** SUCCESS once the reply is read, matched or not (an unmatched one is dropped, as in Java). */
  async #receiveReply(cmd: RemotingCommand): Promise<RemotingCommand> {
    try {
      const reply = await decodeReplyMessage(cmd);
      this.#waiting.get(reply.properties.CORRELATION_ID!)?.(reply);
      return createResponse(cmd, RS_SUCCESS);
    } catch (e) {
      this.emitError_(e);
      return createResponse(cmd, RS_SYSTEM_ERROR, 'process reply message fail');
    }
  }

  /**
   * Sends `msg` as a request and resolves with the reply (a MessageExt whose properties carry
   * ARRIVE_TIME). Rejects with MQClientError 10006 when the request was sent but no reply came
   * within `timeout`, with MQClientError -1 (the send error as cause) when the send failed, with
   * AbortError when `signal` fired. `queue` or `selector` + `arg` choose the queue as for send().
   */
  async request(msg: Message, opts: RequestOptions = {}): Promise<MessageExt> {
    const begin = Date.now();
    const { timeout = this.options.sendMsgTimeout, signal } = opts;
    if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new MQClientError(-1, `request timeout must be a positive whole number of ms, got ${timeout}`);
    const topic = msg?.topic;
    validateTopic(topic);
    if (!this.#prepared.has(topic)) {
      // prepareSendRequest: without a route yet, look it up and heartbeat every broker first, so
      // that the broker holding the reply knows which connection is this client's.
      await this.fetchPublishMessageQueues(topic);
      await this.#heartbeatAll();
      this.#prepared.add(topic);
    }
    const correlationId = createCorrelationId();
    const waiting = this.#waiting;
    return new Promise<MessageExt>((resolve, reject) => {
      let sent = false;
      const done = (e: Error | undefined, reply?: MessageExt): void => {
        if (!waiting.delete(correlationId)) return;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(reply!);
      };
      const onAbort = (): void => done(new AbortError(undefined, { cause: signal!.reason }));
      waiting.set(correlationId, (reply) => done(undefined, reply));
      const timer = setTimeout(() => done(sent
        ? new MQClientError(CE_REQUEST_TIMEOUT_EXCEPTION, `send request message to <${topic}> OK, but wait reply message timeout, ${timeout} ms.`)
        : new MQClientError(-1, `send request message to <${topic}> fail: no send result within ${timeout} ms`)), timeout - (Date.now() - begin));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const props_ = { CORRELATION_ID: correlationId, REPLY_TO_CLIENT: this.clientId, TTL: `${timeout}` };
      this.sendAsync(msg, { ...opts, timeout: Math.max(1, timeout - (Date.now() - begin)), props_ }).then(
        () => void (sent = true),
        (e: unknown) => done(e instanceof AbortError ? e : new MQClientError(-1, `send request message to <${topic}> fail: ${e}`, { cause: e })),
      );
    });
  }

  /** HEART_BEAT to the master of every broker known (sendHeartbeatToAllBroker); failures are 'error' events. */
  async #heartbeatAll(): Promise<void> {
    const addrs = [...this.routes.brokerAddrTable.values()].map((a) => a[MASTER_ID]).filter((a): a is string => !!a);
    await Promise.all(addrs.map((addr) => this.sendHeartbeat(addr).catch((e: unknown) => this.emitError_(e))));
  }
}
