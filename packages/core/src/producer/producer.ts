// Producer: DefaultMQProducer + DefaultMQProducerImpl + the producer half of MQClientInstance (5, 8).
// Internal state uses ES `#private` names: the minifier shortens them, TypeScript `private` it cannot.
import { EventEmitter } from 'eventemitter3';
import {
  AbortError, MQBrokerError, MQClientError, RemotingConnectError, RemotingError, RemotingTimeoutError,
  RemotingTooMuchRequestError, type ErrorOptions,
} from '../errors.js';
import {
  compressZlib, encodeBatchBody, encodeProperties, setUniqKeyIfAbsent, toWireMessage,
  validateMessage, validateTopic, type Message, type MessageQueue, type WireMessage,
} from '../message/index.js';
import { RemotingClient, type ConnectionEvent } from '../remoting/client.js';
import {
  CE_ACCESS_BROKER_TIMEOUT, CE_BROKER_NOT_EXIST_EXCEPTION, CE_CONNECT_BROKER_EXCEPTION, RC_HEART_BEAT, RC_SEND_BATCH_MESSAGE,
  RC_SEND_MESSAGE_V2, RC_UNREGISTER_CLIENT, RS_MESSAGE_ILLEGAL, RS_SUCCESS,
} from '../remoting/codes.js';
import { createRequest, type RemotingCommand } from '../remoting/command.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { fastjsonString } from '../remoting/json.js';
import { RouteManager } from '../route/manager.js';
import type { TopicPublishInfo } from '../route/topic-route.js';
import { MQFaultStrategy, systemClock, type Clock } from './fault.js';
import { InFlightLimiter } from './in-flight.js';
import { CLIENT_INNER_PRODUCER_GROUP, resolveProducerOptions, type ProducerOptions, type ResolvedProducerOptions } from './options.js';
import { processSendResponse, type SendResult } from './send-result.js';

// Send modes (plain numbers: the bundler inlines them).
const SYNC = 0;
const ASYNC = 1;
const ONEWAY = 2;
const UNREGISTER_TIMEOUT = 1000;
/** MessageSysFlag.TRANSACTION_PREPARED_TYPE, and COMPRESSED_FLAG | COMPRESSION_ZLIB. */
const SYSFLAG_TRANSACTION_PREPARED = 0x4;
const SYSFLAG_COMPRESSED_ZLIB = 0x301;

export type ServiceState = 'CREATE_JUST' | 'RUNNING' | 'SHUTDOWN_ALREADY' | 'START_FAILED';

export interface ProducerEvents {
  state: [ServiceState];
  connection: [ConnectionEvent];
  /** Background failures (route refresh, heartbeat). Emitted, never thrown. */
  error: [Error];
}

export interface SendOptions {
  /** Overrides sendMsgTimeout for this send (total budget, ms). */
  timeout?: number;
  signal?: AbortSignal;
  /** Send to exactly this queue: one attempt, no retry. */
  queue?: MessageQueue;
  /** Ordered send: pick the queue from the topic's publishable queues; one attempt. */
  selector?: (mqs: MessageQueue[], msg: Message, arg: unknown) => MessageQueue;
  arg?: unknown;
}

type Mode = typeof SYNC | typeof ASYNC | typeof ONEWAY;

/** A prepared send: the wire message keeps its UNIQ_KEY across attempts. */
interface Outgoing {
  wire: WireMessage;
  msg: Message;
  batchIds?: string[];
  encoded?: Promise<{ body: Uint8Array; sysFlag: number }>;
  /** ASYNC: the exchange began; its failures reach the caller as they are, without a retry of the send loop (5.5). */
  exchanged?: boolean;
}

const utf8 = new TextEncoder();
/** RemotingTooMuchRequestError with Java's text (`what`) and a hint. */
const tooLate = (what: string, addr = '', options?: ErrorOptions): never => {
  throw new RemotingTooMuchRequestError(
    addr, `${what}: the send's time budget (sendMsgTimeout or SendOptions.timeout) ran out`, options,
  );
};
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const copyQueues = (info: TopicPublishInfo): MessageQueue[] => info.messageQueueList.map((q) => ({ ...q }));

export class Producer extends EventEmitter<ProducerEvents> {
  readonly options: ResolvedProducerOptions;
  /** `${clientIP}@${instanceName}`: brokers key this client's connections by it (8.1). */
  readonly clientId: string;
  /** Internals for sibling packages and tests. */
  readonly client: RemotingClient;
  readonly routes: RouteManager;
  readonly faultStrategy: MQFaultStrategy;
  #state: ServiceState = 'CREATE_JUST';
  readonly #clock: Clock;
  readonly #limiter: InFlightLimiter;
  /** Broker addresses this producer has talked to: heartbeat and unregister targets. */
  readonly #brokers = new Set<string>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(opts: ProducerOptions) {
    super();
    const o = (this.options = resolveProducerOptions(opts));
    const clock = (this.#clock = o.clock ?? systemClock);
    const [a, b] = crypto.getRandomValues(new Uint32Array(2));
    // Java uses `<pid>#<nanoTime>`; a web runtime has neither, so two random numbers keep ids unique.
    this.clientId = `${o.clientIP}@${o.instanceName ?? `${a! % 100000}#${b}`}`;
    this.client = new RemotingClient(o.transport);
    this.client.on('connection', (e) => this.emit('connection', e));
    this.routes = new RouteManager(this.client, o);
    this.faultStrategy = new MQFaultStrategy({ ...o, clock });
    this.#limiter = new InFlightLimiter(o.maxAsyncInFlight, o.maxAsyncInFlightBytes);
  }

  get serviceState(): ServiceState {
    return this.#state;
  }

  /** Async sends currently holding a permit. */
  get inFlight(): { count: number; bytes: number } {
    const { count, bytes } = this.#limiter;
    return { count, bytes };
  }

  async start(): Promise<void> {
    if (this.#state !== 'CREATE_JUST') {
      throw new MQClientError(-1, `The producer service state not OK, maybe started once, ${this.#state}: create a new Producer`);
    }
    this.#setState('RUNNING');
    // No name-server or broker traffic at start: like Java, the first send does the lookups and
    // a broker never requires a heartbeat before accepting a send.
    const o = this.options;
    this.#every(o.pollNameServerInterval, async () => {
      for (const e of await this.routes.refreshAll()) this.#emitError(e, 'route refresh failed');
    });
    this.#every(o.heartbeatBrokerInterval, () => this.#heartbeatAll());
  }

  async shutdown(): Promise<void> {
    if (this.#state !== 'RUNNING') return;
    this.#setState('SHUTDOWN_ALREADY');
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#brokers].map((addr) => this.#unregister(addr)));
    this.#limiter.rejectAll(new MQClientError(-1, 'the producer was shut down while this send waited for capacity'));
    await this.client.close();
    try {
      await this.options.transport.close();
    } catch (e) {
      this.#emitError(e, 'transport close failed');
    }
  }

  /** SYNC send: 1 + retryTimesWhenSendFailed attempts within one sendMsgTimeout budget. */
  send(msg: Message, opts: SendOptions = {}): Promise<SendResult> {
    return this.#run(opts, () => this.#dispatch(this.#prepare(msg), SYNC, opts) as Promise<SendResult>);
  }

  /** ASYNC send: one pass, transport failures retried up to retryTimesWhenSendAsyncFailed, in-flight bounded. */
  sendAsync(msg: Message, opts: SendOptions = {}): Promise<SendResult> {
    return this.#run(opts, async () => {
      const t0 = this.#clock.now();
      const out = this.#prepare(msg);
      const timeout = this.#timeoutOf(opts);
      const release = await this.#limiter.acquire(out.wire.body.length, this.options.asyncBackpressure, timeout, opts.signal);
      try {
        return (await this.#dispatch(out, ASYNC, { ...opts, timeout: timeout - (this.#clock.now() - t0) })) as SendResult;
      } finally {
        release();
      }
    });
  }

  /** ONEWAY send: one attempt, flag bit 1, resolves once the request is written. */
  sendOneway(msg: Message, opts: SendOptions = {}): Promise<void> {
    return this.#run(opts, async () => void (await this.#dispatch(this.#prepare(msg), ONEWAY, opts)));
  }

  /** Batch send (SEND_BATCH_MESSAGE 320) with SYNC semantics; msgId = inner UNIQ_KEYs joined by ','. */
  sendBatch(msgs: Message[], opts: SendOptions = {}): Promise<SendResult> {
    return this.#run(opts, () => this.#dispatch(this.#prepareBatch(msgs), SYNC, opts) as Promise<SendResult>);
  }

  /** The queues a send to `topic` can use (route lookup if not cached). */
  async fetchPublishMessageQueues(topic: string): Promise<MessageQueue[]> {
    this.#checkState();
    validateTopic(topic);
    return copyQueues(await this.routes.tryToFindTopicPublishInfo(topic, this.options.mqClientApiTimeout));
  }

  // ---------- send paths ----------

  /** Runs a send; the caller's AbortSignal rejects at once (the inner send sees it and stops too). */
  #run<T>({ signal }: SendOptions, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const abort = (): void => reject(new AbortError(undefined, { cause: signal!.reason }));
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      // `task` may throw synchronously (validation): that rejects too.
      new Promise<T>((r) => r(task())).then(resolve, reject).finally(() => signal?.removeEventListener('abort', abort));
    });
  }

  #timeoutOf(opts: SendOptions): number {
    const t = opts.timeout ?? this.options.sendMsgTimeout;
    if (!Number.isFinite(t)) throw new MQClientError(-1, `send timeout must be a number of ms, got ${String(t)}`);
    return t;
  }

  #checkState(): void {
    const s = this.#state;
    if (s !== 'RUNNING') {
      throw new MQClientError(-1, `The producer service state not OK, ${s}: ${s === 'CREATE_JUST' ? '' : 'create a new Producer and '}call start() before sending`);
    }
  }

  #toWire(m: Message): WireMessage {
    validateTopic(m.topic);
    const w = toWireMessage(m);
    validateMessage(w, this.options.maxMessageSize);
    return w;
  }

  /** Validation first, before any network activity (5.1). */
  #prepare(msg: Message): Outgoing {
    this.#checkState();
    if (msg == null) throw new MQClientError(RS_MESSAGE_ILLEGAL, 'the message is null');
    return { wire: this.#toWire(msg), msg };
  }

  #prepareBatch(msgs: Message[]): Outgoing {
    this.#checkState();
    const fail = (why: string): never => {
      throw new MQClientError(-1, `Failed to initiate the MessageBatch: ${why}`);
    };
    if (!Array.isArray(msgs) || !msgs.length) fail('the batch is empty');
    const first = msgs[0]!;
    const wait = (m: Message): boolean => m.waitStoreMsgOK !== false;
    for (const m of msgs) {
      if (!m) fail('a message of the batch is null');
      if (m.delayLevel! > 0) fail('TimeDelayLevel is not supported for batching');
      if (m.topic?.startsWith('%RETRY%')) fail('Retry Group is not supported for batching');
      if (m.topic !== first.topic) fail('The topic of the messages in one batch should be the same');
      if (wait(m) !== wait(first)) fail('The waitStoreMsgOK of the messages in one batch should the same');
    }
    const wires = msgs.map((m) => this.#toWire(m));
    const batchIds = wires.map((w) => setUniqKeyIfAbsent(w));
    // The pseudo-message carries only WAIT (3.9); the encoded batch is checked as one message.
    const wire: WireMessage = { topic: first.topic, body: encodeBatchBody(wires), flag: 0, properties: { WAIT: String(wait(first)) } };
    validateMessage(wire, this.options.maxMessageSize);
    return { wire, msg: first, batchIds };
  }

  async #dispatch(out: Outgoing, mode: Mode, opts: SendOptions): Promise<SendResult | undefined> {
    const t0 = this.#clock.now();
    const timeout = this.#timeoutOf(opts);
    const { signal, selector } = opts;
    const topic = out.wire.topic;
    let mq = opts.queue;
    const bySelector = !mq;
    if (bySelector && !selector) return this.#sendDefault(out, mode, timeout, signal);
    // send(msg, mq) and send(msg, selector, arg): exactly one attempt; no retry, no fault update (5.7).
    if (mq) {
      if (mq.topic !== topic) throw new MQClientError(-1, `message's topic not equal mq's topic: ${topic} vs ${mq.topic}`);
    } else {
      const info = await this.#findInfo(topic, timeout, signal);
      try {
        mq = selector!(copyQueues(info), out.msg, opts.arg);
      } catch (e) {
        throw new MQClientError(-1, `select message queue threw exception: ${errorText(e)}`, { cause: e });
      }
    }
    const cost = this.#clock.now() - t0;
    if (timeout < cost) tooLate(bySelector ? 'sendSelectImpl call timeout' : 'call timeout');
    if (bySelector && (!mq || typeof mq.brokerName !== 'string')) {
      throw new MQClientError(-1, 'select message queue returned null: return one of the queues given');
    }
    // Like Java: an explicit queue gets the whole timeout, a selected one what is left.
    return this.#sendKernel(out, mq!, mode, bySelector ? timeout - cost : timeout, undefined, signal);
  }

  #findInfo(topic: string, timeout: number, signal?: AbortSignal): Promise<TopicPublishInfo> {
    if (timeout <= 0) tooLate('sendDefaultImpl call timeout');
    return this.routes.tryToFindTopicPublishInfo(topic, timeout, signal);
  }

  /** Charges a broker with an attempt's latency (no-op unless sendLatencyFaultEnable). */
  #fault(brokerName: string, begin: number, isolation: boolean): void {
    this.faultStrategy.updateFaultItem(brokerName, this.#clock.now() - begin, isolation);
  }

  /** The retry loop of DefaultMQProducerImpl.sendDefaultImpl (5.3). */
  async #sendDefault(out: Outgoing, mode: Mode, timeout: number, signal?: AbortSignal): Promise<SendResult | undefined> {
    const t0 = this.#clock.now();
    const topic = out.wire.topic;
    const o = this.options;
    const info = await this.#findInfo(topic, timeout, signal);
    const timesTotal = mode === SYNC ? 1 + o.retryTimesWhenSendFailed : 1;
    const brokersSent: string[] = [];
    let mq: MessageQueue | undefined;
    let lastResult: SendResult | undefined;
    let lastError: unknown;
    let times = 0;
    for (; times < timesTotal; times++) {
      mq = this.faultStrategy.selectOneMessageQueue(info, mq?.brokerName);
      brokersSent[times] = mq.brokerName;
      const begin = this.#clock.now();
      const cost = begin - t0;
      if (timeout < cost) {
        return lastResult ?? tooLate(`sendDefaultImpl call timeout after ${times} attempt(s) of ${timeout} ms, topic ${topic}`, '', { cause: lastError });
      }
      try {
        const result = await this.#sendKernel(out, mq, mode, timeout - cost, info, signal);
        if (mode !== ASYNC) this.#fault(mq.brokerName, begin, false);
        if (mode === SYNC && result!.sendStatus !== 'SEND_OK' && o.retryAnotherBrokerWhenNotStoreOK) {
          lastResult = result;
          continue;
        }
        return result;
      } catch (e) {
        if (out.exchanged) throw e;
        const abort = e instanceof AbortError;
        this.#fault(mq.brokerName, begin, !abort);
        if (abort) throw e;
        lastError = e;
        if (e instanceof MQBrokerError) {
          if (o.retryResponseCodes.includes(e.responseCode)) continue;
          if (lastResult) return lastResult;
          throw e;
        }
        if (!(e instanceof RemotingError || e instanceof MQClientError)) throw e;
      }
    }
    if (lastResult) return lastResult;
    const e = lastError;
    const code =
      e instanceof MQBrokerError ? e.responseCode
      : e instanceof RemotingConnectError ? CE_CONNECT_BROKER_EXCEPTION
      : e instanceof RemotingTimeoutError ? CE_ACCESS_BROKER_TIMEOUT
      : CE_BROKER_NOT_EXIST_EXCEPTION;
    throw new MQClientError(
      code,
      `Send [${times}] times, still failed, cost [${this.#clock.now() - t0}]ms, Topic: ${topic}, BrokersSent: [${brokersSent.join(', ')}]` +
        `; last error: ${errorText(e)}. Check the brokers and the topic's perm, or raise sendMsgTimeout / retryTimesWhenSendFailed`,
      { cause: e },
    );
  }

  /** One attempt (5.4). */
  async #sendKernel(
    out: Outgoing, mq: MessageQueue, mode: Mode, timeout: number, info: TopicPublishInfo | undefined, signal?: AbortSignal,
  ): Promise<SendResult | undefined> {
    const begin = this.#clock.now();
    const { brokerName, topic } = mq;
    const { routes, client } = this;
    const { wire, batchIds } = out;
    let addr = routes.findBrokerAddressInPublish(brokerName);
    if (!addr) {
      await routes.updateTopicRouteInfoFromNameServer(topic, false, Math.max(1, timeout), signal).catch(() => false);
      addr = routes.findBrokerAddressInPublish(brokerName);
    }
    if (!addr) {
      throw new MQClientError(-1, `The broker[${brokerName}] not exist: no master address in the routes; is it registered with the name server?`);
    }
    if (!batchIds) setUniqKeyIfAbsent(wire);
    const { body, sysFlag } = await this.#encodeBody(out);
    const req = createRequest(batchIds ? RC_SEND_BATCH_MESSAGE : RC_SEND_MESSAGE_V2, this.#sendHeader(out, mq, sysFlag), {
      body,
      serializeType: this.options.serializeType,
      oneway: mode === ONEWAY,
    });
    const left = timeout - (this.#clock.now() - begin);
    if (left < 0) tooLate('sendKernelImpl call timeout', addr);
    const msgId = batchIds ? batchIds.join(',') : wire.properties.UNIQ_KEY!;
    if (mode === ASYNC) {
      out.exchanged = true;
      return this.#sendAsync(addr, mq, req, left, info, msgId, signal);
    }
    const res = mode === SYNC ? await client.invoke(addr, req, left, signal) : await client.invokeOneway(addr, req, signal);
    this.#brokerUsed(addr);
    return res ? processSendResponse(res, topic, brokerName, addr, msgId) : undefined;
  }

  /** MQClientAPIImpl.sendMessageAsync + onExceptionImpl: transport failures retried, error responses not (5.5). */
  async #sendAsync(
    addr: string, mq: MessageQueue, req: RemotingCommand, timeout: number, info: TopicPublishInfo | undefined, msgId: string, signal?: AbortSignal,
  ): Promise<SendResult> {
    let brokerName = mq.brokerName;
    let left = timeout;
    for (let failures = 0; ; ) {
      const begin = this.#clock.now();
      let res: RemotingCommand;
      try {
        res = await this.client.invoke(addr, req, left, signal);
      } catch (e) {
        if (e instanceof AbortError) throw e;
        this.#fault(brokerName, begin, true);
        left -= this.#clock.now() - begin;
        if (++failures > this.options.retryTimesWhenSendAsyncFailed || left <= 0) throw e;
        // Same request (header and queueId included) to the broker the strategy picks next.
        if (info) brokerName = this.faultStrategy.selectOneMessageQueue(info, brokerName).brokerName;
        const next = this.routes.findBrokerAddressInPublish(brokerName);
        if (!next) throw e;
        addr = next;
        continue;
      }
      this.#brokerUsed(addr);
      let ok = false;
      try {
        const result = processSendResponse(res, mq.topic, brokerName, addr, msgId);
        ok = true;
        return result;
      } finally {
        this.#fault(brokerName, begin, !ok);
      }
    }
  }

  /** Compression once per send, reused by retries; batches are never compressed (3.8). */
  #encodeBody(out: Outgoing): Promise<{ body: Uint8Array; sysFlag: number }> {
    return (out.encoded ??= (async () => {
      let body = out.wire.body;
      let sysFlag = out.wire.properties.TRAN_MSG === 'true' ? SYSFLAG_TRANSACTION_PREPARED : 0;
      if (!out.batchIds && body.length >= this.options.compressMsgBodyOverHowmuch) {
        try {
          body = await compressZlib(body);
          sysFlag |= SYSFLAG_COMPRESSED_ZLIB;
        } catch {
          // like Java: send uncompressed
        }
      }
      return { body, sysFlag };
    })());
  }

  /** SendMessageRequestHeaderV2 (3.2): letters a..n, every value a string, in Java HashMap order. */
  #sendHeader({ wire, batchIds }: Outgoing, mq: MessageQueue, sysFlag: number): Record<string, string> {
    const o = this.options;
    const p = wire.properties;
    const retry = wire.topic.startsWith('%RETRY%');
    const h: Record<string, string | number | boolean | undefined> = {
      a: o.producerGroup,
      b: wire.topic,
      c: o.createTopicKey,
      d: o.defaultTopicQueueNums,
      e: mq.queueId,
      f: sysFlag,
      g: Date.now(),
      h: wire.flag,
      i: encodeProperties(p),
      j: (retry ? p.RECONSUME_TIME : undefined) ?? 0,
      k: false,
      l: retry ? p.MAX_RECONSUME_TIMES : undefined,
      m: !!batchIds,
      n: mq.brokerName,
    };
    const s: Record<string, string> = {};
    for (const k in h) if (h[k] !== undefined) s[k] = String(h[k]);
    return inJavaOrder(s);
  }

  // ---------- heartbeat, unregister, timers ----------

  #brokerUsed(addr: string): void {
    if (this.#brokers.has(addr) || this.#state !== 'RUNNING') return;
    this.#brokers.add(addr);
    // First contact: register the group right after the first exchange, never before it.
    void this.#heartbeat(addr);
  }

  #heartbeatAll(): Promise<unknown> {
    return Promise.all([...this.#brokers].map((addr) => this.#heartbeat(addr)));
  }

  /** A heartbeat whose failure becomes an 'error' event. */
  #heartbeat(addr: string): Promise<void> {
    return this.sendHeartbeat(addr).catch((e: unknown) => this.#emitError(e, `heartbeat to ${addr} failed`));
  }

  /** HEART_BEAT (34): no header, HeartbeatData body (8.2). */
  async sendHeartbeat(addr: string): Promise<void> {
    const o = this.options;
    const body =
      `{"clientID":${fastjsonString(this.clientId)},"consumerDataSet":[],"producerDataSet":[` +
      `{"groupName":${fastjsonString(o.producerGroup)}},{"groupName":"${CLIENT_INNER_PRODUCER_GROUP}"}]}`;
    const req = createRequest(RC_HEART_BEAT, undefined, { body: utf8.encode(body), serializeType: o.serializeType });
    const res = await this.client.invoke(addr, req, o.mqClientApiTimeout);
    if (res.code !== RS_SUCCESS) throw new MQBrokerError(res.code, res.remark ?? '', addr);
  }

  /** UNREGISTER_CLIENT (35) for the group and the inner group; failures ignored (8.3). */
  async #unregister(addr: string): Promise<void> {
    const o = this.options;
    try {
      for (const group of [o.producerGroup, CLIENT_INNER_PRODUCER_GROUP]) {
        const req = createRequest(RC_UNREGISTER_CLIENT, inJavaOrder({ clientID: this.clientId, producerGroup: group }), {
          serializeType: o.serializeType,
        });
        await this.client.invoke(addr, req, Math.min(UNREGISTER_TIMEOUT, o.mqClientApiTimeout));
      }
    } catch {
      // the broker is gone; it forgets us after 120 s anyway
    }
  }

  /** A repeating background task; errors become 'error' events and never escape. */
  #every(ms: number, task: () => Promise<unknown>): void {
    const timers = this.#timers;
    const tick = (): void => {
      timers.delete(timer);
      task()
        .catch((e: unknown) => this.#emitError(e, 'background task failed'))
        .finally(() => {
          if (this.#state === 'RUNNING') timers.add((timer = setTimeout(tick, ms)));
        });
    };
    let timer = setTimeout(tick, ms);
    timers.add(timer);
  }

  #emitError(e: unknown, context: string): void {
    if (this.#state !== 'RUNNING') return; // failures caused by shutdown itself are not news
    try {
      this.emit('error', e instanceof Error ? e : new Error(`${context}: ${String(e)}`));
    } catch {
      // a listener threw: background work must not crash the host
    }
  }

  #setState(s: ServiceState): void {
    this.emit('state', (this.#state = s));
  }
}
