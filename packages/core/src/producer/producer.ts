// Producer: DefaultMQProducer + DefaultMQProducerImpl + the producer half of MQClientInstance (5, 8).
// Internal state uses ES `#private` names and `_`-suffixed properties: the bundle shortens both.
import { EventEmitter } from '../emitter.js';
import {
  AbortError, MQBrokerError, MQClientError, RemotingConnectError, RemotingError, RemotingTimeoutError,
} from '../errors.js';
import {
  addUserProperties, compressZlib, encodeBatchBody, encodeProperties, setUniqKeyIfAbsent, toWireMessage,
  validateMessage, validateTopic, withoutNamespace, wrapNamespace, type Message, type MessageQueue, type WireMessage,
} from '../message/index.js';
import { RemotingClient, type ConnectionEvent } from '../remoting/client.js';
import {
  CE_BROKER_NOT_EXIST_EXCEPTION, CE_CONNECT_BROKER_EXCEPTION, GATEWAY_DENIED, RC_HEART_BEAT, RC_SEND_BATCH_MESSAGE,
  RC_SEND_MESSAGE_V2, RC_SEND_REPLY_MESSAGE_V2, RC_UNREGISTER_CLIENT, RS_MESSAGE_ILLEGAL, RS_SUCCESS,
} from '../remoting/codes.js';
import { createRequest, type RemotingCommand } from '../remoting/command.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { fastjsonString } from '../remoting/json.js';
import { RouteManager } from '../route/manager.js';
import type { TopicPublishInfo } from '../route/topic-route.js';
import type { ProduceAccumulator } from './accumulator.js';
import { MQFaultStrategy, systemClock, type Clock } from './fault.js';
import { InFlightLimiter } from './in-flight.js';
import { CLIENT_INNER_PRODUCER_GROUP, resolveProducerOptions, type ProducerOptions, type ResolvedProducerOptions } from './options.js';
import { processSendResponse, type SendResult } from './send-result.js';
import { utf8 } from '../utf8.js';

// Const enums: esbuild inlines their values (plain `const`s of a module that imports anything stay
// variables in the bundle).
/** Send modes. */
const enum Mode { SYNC, ASYNC, ONEWAY }
const enum K {
  UNREGISTER_TIMEOUT = 1000,
  /** MessageSysFlag.TRANSACTION_PREPARED_TYPE, and COMPRESSED_FLAG | COMPRESSION_ZLIB. */
  SYSFLAG_TRANSACTION_PREPARED = 0x4,
  SYSFLAG_COMPRESSED_ZLIB = 0x301,
}

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
  /**
   * @internal Reserved properties a subclass sends with (TRAN_MSG, PGROUP, CORRELATION_ID, …),
   * which a Message may not carry: added after the user's, in Java HashMap order.
   */
  props_?: Record<string, string>;
}

/** Java's CommunicationMode names. */
export type SendMode = 'SYNC' | 'ASYNC' | 'ONEWAY';

/**
 * What a send hook sees of one attempt (SendMessageContext): `beforeSend` gets the fields up to
 * `properties`, `afterSend` the same object with `result` or `error` and `latencyMs`.
 */
export interface SendContext {
  /** The producer group as sent (with the namespace, if any). */
  producerGroup: string;
  /** The message as the caller gave it (for a batch, its first message). */
  message: Message;
  /** The queue of this attempt, as sent (with the namespace, if any). */
  mq: MessageQueue;
  brokerAddr: string;
  mode: SendMode;
  /** 1 for the first attempt of a send, 2 for its first retry, … */
  attempt: number;
  /** UNIQ_KEY (for a batch: the inner ids joined by ','). */
  msgId: string;
  /**
   * User properties `beforeSend` adds to the message (e.g. a W3C `traceparent`); they go with this
   * attempt and the later ones. A reserved or blank name drops them all, as an 'error' event.
   */
  properties: Record<string, string>;
  result?: SendResult;
  error?: unknown;
  /** ms from the attempt's start to its result or error. */
  latencyMs?: number;
}

/** SendMessageHook: called for every attempt, in the order of `use()`; what a hook throws becomes an 'error' event. */
export interface SendHook {
  beforeSend?(ctx: SendContext): void;
  afterSend?(ctx: SendContext): void;
}

/**
 * One send in progress: the wire message (it keeps its UNIQ_KEY across attempts) and what every
 * attempt needs. Built whole by #prepare, so later stages only fill in its fields.
 */
interface Outgoing {
  wire_: WireMessage;
  msg_: Message;
  /** Batch: the inner messages' UNIQ_KEYs. */
  ids_: string[] | undefined;
  mode_: Mode;
  /** Deadline (clock time) of the whole send: its budget (ms_, sendMsgTimeout or SendOptions.timeout) from its start. */
  end_: number;
  ms_: number;
  signal_: AbortSignal | undefined;
  /** The body as sent and its sysFlag, computed once (compression) and reused by retries. */
  body_: Promise<[Uint8Array, number]> | undefined;
  /** ASYNC: the exchange began; its failures reach the caller as they are, without a retry of the send loop (5.5). */
  sent_: boolean;
  /** Attempts so far (SendContext.attempt). */
  n_: number;
  /** autoBatch: its attempts may join a batch (it holds totalBatchMaxBytes room). */
  batch_: boolean;
}

/**
 * The send's budget ran out: RemotingTimeoutError (Java throws RemotingTooMuchRequestException
 * here, which reads as back-pressure) with `timeoutMs` = the budget, Java's text (`what`) and the
 * last attempt's error, if any.
 */
const tooLate = (out: Outgoing, what = 'call timeout', cause?: unknown): never => {
  throw new RemotingTimeoutError('', out.ms_, { cause },
    `${what}: out of time (sendMsgTimeout / SendOptions.timeout)${cause ? `; last error: ${cause}` : ''}`);
};

export class Producer extends EventEmitter<ProducerEvents> {
  declare readonly options: ResolvedProducerOptions;
  /** `${clientIP}@${instanceName}`: brokers key this client's connections by it (8.1). */
  declare readonly clientId: string;
  /** Internals for sibling packages and tests (the class itself uses the #private aliases). */
  declare readonly client: RemotingClient;
  declare readonly routes: RouteManager;
  declare readonly faultStrategy: MQFaultStrategy;
  readonly #o: ResolvedProducerOptions;
  readonly #client: RemotingClient;
  readonly #routes: RouteManager;
  readonly #strategy: MQFaultStrategy;
  #state: ServiceState = 'CREATE_JUST';
  readonly #clock: Clock;
  readonly #limiter: InFlightLimiter;
  readonly #batcher: ProduceAccumulator | undefined;
  /** Broker addresses this producer has talked to: heartbeat and unregister targets. */
  readonly #brokers = new Set<string>();
  /** The route-refresh and heartbeat timers. */
  readonly #timers: ReturnType<typeof setTimeout>[] = [];
  readonly #hooks: SendHook[] = [];
  /** The producer group as sent: with the namespace. */
  readonly #group: string;

  constructor(opts: ProducerOptions) {
    super();
    const o = (this.options = this.#o = resolveProducerOptions(opts));
    const clock = (this.#clock = o.clock ?? systemClock);
    const [a, b] = crypto.getRandomValues(new Uint32Array(2));
    // Java uses `<pid>#<nanoTime>`; a web runtime has neither, so two random numbers keep ids unique.
    this.clientId = `${o.clientIP}@${o.instanceName ?? `${a! % 100000}#${b}`}`;
    this.#group = this.#ns(o.producerGroup);
    const client = (this.client = this.#client = new RemotingClient(o.transport));
    client.on('connection', (e) => this.emit('connection', e));
    this.routes = this.#routes = new RouteManager(client, o);
    this.faultStrategy = this.#strategy = new MQFaultStrategy({ ...o, clock });
    this.#limiter = new InFlightLimiter(o.maxAsyncInFlight, o.maxAsyncInFlightBytes);
    this.#batcher = (o.autoBatch || undefined)?.(client, o);
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
    if (this.#state !== 'CREATE_JUST') throw new MQClientError(-1, `The producer is ${this.#state}: start() works once; create a new Producer`);
    this.#setState('RUNNING');
    // No name-server or broker traffic at start: like Java, the first send does the lookups and
    // a broker never requires a heartbeat before accepting a send.
    const o = this.#o;
    this.#every(o.pollNameServerInterval, async () => {
      for (const e of await this.#routes.refreshAll()) this.emitError_(e);
    });
    this.#every(o.heartbeatBrokerInterval, () => Promise.all([...this.#brokers].map((addr) => this.#heartbeat(addr))));
  }

  async shutdown(): Promise<void> {
    if (this.#state !== 'RUNNING') return;
    this.#setState('SHUTDOWN_ALREADY');
    for (const t of this.#timers) clearTimeout(t);
    this.#batcher?.close_();
    await Promise.all([...this.#brokers].map((addr) => this.#unregister(addr)));
    this.#limiter.rejectAll(new MQClientError(-1, 'the producer shut down'));
    await this.#client.close();
    try {
      await this.#o.transport.close();
    } catch {
      // shutting down anyway
    }
  }

  /** SYNC send: 1 + retryTimesWhenSendFailed attempts within one sendMsgTimeout budget. */
  send(msg: Message, opts: SendOptions = {}): Promise<SendResult> {
    return this.#run(opts, () => this.#prepare(Mode.SYNC, opts, msg)) as Promise<SendResult>;
  }

  /** ASYNC send: one pass, transport failures retried up to retryTimesWhenSendAsyncFailed, in-flight bounded. */
  sendAsync(msg: Message, opts: SendOptions = {}): Promise<SendResult> {
    return this.#run(opts, () => this.#prepare(Mode.ASYNC, opts, msg)) as Promise<SendResult>;
  }

  /** ONEWAY send: one attempt, flag bit 1, resolves once the request is written. */
  async sendOneway(msg: Message, opts: SendOptions = {}): Promise<void> {
    await this.#run(opts, () => this.#prepare(Mode.ONEWAY, opts, msg));
  }

  /** Batch send (SEND_BATCH_MESSAGE 320) with SYNC semantics; msgId = inner UNIQ_KEYs joined by ','. */
  sendBatch(msgs: Message[], opts: SendOptions = {}): Promise<SendResult> {
    return this.#run(opts, () => this.#prepare(Mode.SYNC, opts, msgs, true)) as Promise<SendResult>;
  }

  /** The queues a send to `topic` can use (route lookup if not cached). */
  async fetchPublishMessageQueues(topic: string): Promise<MessageQueue[]> {
    this.#checkState();
    validateTopic(topic);
    return this.#copyQueues(await this.#routes.tryToFindTopicPublishInfo(this.#ns(topic), this.#o.mqClientApiTimeout));
  }

  /** Adds a send hook (registerSendMessageHook). */
  use(hook: SendHook): this {
    this.#hooks.push(hook);
    return this;
  }

  // ---------- send paths ----------

  #now(): number {
    return this.#clock.now();
  }

  /** A topic or group as sent (namespace added). */
  #ns(name: string): string {
    return wrapNamespace(this.#o.namespace, name);
  }

  /** The route's queues as the user names them (parsePublishMessageQueues). */
  #copyQueues(info: TopicPublishInfo): MessageQueue[] {
    return info.messageQueueList.map((q) => ({ ...q, topic: withoutNamespace(q.topic, this.#o.namespace) }));
  }

  /** Runs a send; the caller's AbortSignal rejects at once (the inner send sees it and stops too). */
  #run({ signal, queue, selector, arg }: SendOptions, prepare: () => Outgoing): Promise<SendResult | undefined> {
    return new Promise((resolve, reject) => {
      const abort = (): void => reject(new AbortError(undefined, { cause: signal!.reason }));
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      // `prepare` throws synchronously for invalid sends: that rejects too. An ASYNC send takes
      // its in-flight permit synchronously (#dispatch runs up to its first await).
      new Promise<SendResult | undefined>((r) => r(this.#dispatch(prepare(), queue, selector, arg)))
        .then(resolve, reject)
        .finally(() => signal?.removeEventListener('abort', abort));
    });
  }

  #checkState(): void {
    const s = this.#state;
    if (s !== 'RUNNING') throw new MQClientError(-1, `The producer is ${s}: ${s === 'CREATE_JUST' ? '' : 'create a new Producer and '}call start() before sending`);
  }

  #toWire(m: Message): WireMessage {
    validateTopic(m.topic);
    const w = toWireMessage(m);
    validateMessage(w, this.#o.maxMessageSize);
    return w;
  }

  /** Validation first, before any network activity (5.1). */
  #prepare(mode: Mode, opts: SendOptions, msg: Message | Message[], batch?: boolean): Outgoing {
    this.#checkState();
    const timeout = opts.timeout ?? this.#o.sendMsgTimeout;
    if (!Number.isFinite(timeout)) throw new MQClientError(-1, `send timeout must be a number of ms, got ${timeout}`);
    let first = msg as Message;
    let wire: WireMessage;
    let ids: string[] | undefined;
    if (batch) {
      const msgs = msg as Message[];
      const n = Array.isArray(msgs) ? msgs.length : 0;
      const wait = (m: Message): boolean => m.waitStoreMsgOK !== false;
      first = msgs?.[0]!;
      if (!n || !msgs.every(Boolean)) throw new MQClientError(-1, 'sendBatch: the batch is empty or has a null message');
      for (const m of msgs) {
        if (m.delayLevel! > 0 || m.topic?.startsWith('%RETRY%') || m.topic !== first.topic || wait(m) !== wait(first)) {
          throw new MQClientError(-1, 'sendBatch: the messages need one topic (not %RETRY%) and one waitStoreMsgOK, and no delayLevel');
        }
      }
      const wires = msgs.map((m) => this.#toWire(m));
      ids = wires.map((w) => setUniqKeyIfAbsent(w));
      // The pseudo-message carries only WAIT (3.9); the encoded batch is checked as one message.
      wire = { topic: first.topic, body: encodeBatchBody(wires), flag: 0, properties: { WAIT: `${wait(first)}` } };
      validateMessage(wire, this.#o.maxMessageSize);
    } else {
      if (msg == null) throw new MQClientError(RS_MESSAGE_ILLEGAL, 'the message is null');
      wire = this.#toWire(first);
    }
    // A namespace wraps the topic and is named in INSTANCE_ID (sendKernelImpl's setInstanceId).
    const ns = this.#o.namespace;
    let props = opts.props_;
    if (ns) {
      wire.topic = this.#ns(wire.topic);
      props = { ...props, INSTANCE_ID: ns };
    }
    if (props) wire.properties = inJavaOrder({ ...wire.properties, ...props });
    return {
      wire_: wire, msg_: first, ids_: ids, mode_: mode, end_: this.#now() + timeout, ms_: timeout, signal_: opts.signal, body_: undefined, sent_: false, n_: 0, batch_: false,
    };
  }

  /** Route lookup within what is left of the budget. */
  #findInfo(out: Outgoing): Promise<TopicPublishInfo> {
    const left = out.end_ - this.#now();
    if (left <= 0) tooLate(out);
    return this.#routes.tryToFindTopicPublishInfo(out.wire_.topic, left, out.signal_).catch((e: unknown) => {
      // Lookup errors name the topic as the user wrote it (without the namespace).
      if (e instanceof MQClientError) e.message = e.message.replace(out.wire_.topic, out.msg_.topic);
      throw e;
    });
  }

  /** Charges a broker with an attempt's latency (no-op unless sendLatencyFaultEnable). */
  #fault(brokerName: string, begin: number, isolation: boolean): void {
    this.#strategy.updateFaultItem(brokerName, this.#now() - begin, isolation);
  }

  /** ASYNC sends wait for (or are refused) an in-flight permit first. */
  async #dispatch(out: Outgoing, mq: MessageQueue | undefined, selector: SendOptions['selector'], arg: unknown): Promise<SendResult | undefined> {
    const release = out.mode_ === Mode.ASYNC
      ? await this.#limiter.acquire(out.wire_.body.length, this.#o.asyncBackpressure, out.end_ - this.#now(), out.signal_)
      : undefined;
    let held: (() => void) | undefined;
    try {
      if (!mq && !selector) {
        // autoBatch: a SYNC or ASYNC message that may be batched first takes room under totalBatchMaxBytes.
        const hold = out.mode_ === Mode.ONEWAY || out.ids_ ? undefined : this.#batcher?.hold_(out.wire_, out.mode_ === Mode.ASYNC, out.end_ - this.#now(), out.signal_);
        out.batch_ = !!(held = hold && (await hold));
        return await this.#sendDefault(out);
      }
      // send(msg, mq) and send(msg, selector, arg): exactly one attempt; no retry, no fault update (5.7).
      // The caller names queues without the namespace (queueWithNamespace).
      if (mq) {
        if (this.#ns(mq.topic) !== out.wire_.topic) throw new MQClientError(-1, `topic not equal: message ${out.msg_.topic}, queue ${mq.topic}`);
      } else {
        const info = await this.#findInfo(out);
        try {
          mq = selector!(this.#copyQueues(info), out.msg_, arg);
        } catch (e) {
          throw new MQClientError(-1, `select message queue threw exception: ${e}`, { cause: e });
        }
        if (typeof mq?.brokerName !== 'string') throw new MQClientError(-1, 'select message queue returned null: return one of the queues');
      }
      return await this.#sendKernel(out, { ...mq, topic: this.#ns(mq.topic) });
    } finally {
      release?.();
      held?.();
    }
  }

  /** The retry loop of DefaultMQProducerImpl.sendDefaultImpl (5.3). */
  async #sendDefault(out: Outgoing): Promise<SendResult | undefined> {
    const t0 = this.#now();
    const { mode_: mode } = out;
    const o = this.#o;
    const info = await this.#findInfo(out);
    const brokersSent: string[] = [];
    let mq: MessageQueue | undefined;
    let lastResult: SendResult | undefined;
    let e: unknown;
    let times = 0;
    const attempts = mode ? 1 : 1 + o.retryTimesWhenSendFailed;
    for (; times < attempts; times++) {
      const begin = this.#now();
      if (out.end_ <= begin) break; // no budget left: an attempt would be written, then time out at once
      mq = this.#strategy.selectOneMessageQueue(info, mq?.brokerName);
      brokersSent[times] = mq.brokerName;
      try {
        const result = await this.#sendKernel(out, mq, info);
        if (mode !== Mode.ASYNC) this.#fault(mq.brokerName, begin, false);
        if (mode || result!.sendStatus === 'SEND_OK' || !o.retryAnotherBrokerWhenNotStoreOK) return result;
        lastResult = result;
      } catch (err) {
        if (out.sent_) throw err;
        const abort = err instanceof AbortError;
        this.#fault(mq.brokerName, begin, !abort);
        if (abort) throw err;
        e = err;
        if (err instanceof MQBrokerError) {
          // A gateway's policy refusal is no broker state: another broker would refuse it too.
          if (o.retryResponseCodes.includes(err.responseCode) && !err.remark.startsWith(GATEWAY_DENIED)) continue;
          if (lastResult) return lastResult;
          throw err;
        }
        if (!(err instanceof RemotingError || err instanceof MQClientError)) throw err;
      }
    }
    if (lastResult) return lastResult;
    const what = `Send [${times}] times, still failed, cost [${this.#now() - t0}]ms, Topic: ${out.msg_.topic}, BrokersSent: [${brokersSent.join(', ')}]`;
    // Out of budget (an attempt that timed out had waited for all that was left of it).
    if (times < attempts || e instanceof RemotingTimeoutError) tooLate(out, what, e);
    throw new MQClientError(
      e instanceof MQBrokerError ? e.responseCode : e instanceof RemotingConnectError ? CE_CONNECT_BROKER_EXCEPTION : CE_BROKER_NOT_EXIST_EXCEPTION,
      `${what}; last error: ${e}. Check the brokers, or raise retryTimesWhenSendFailed / sendMsgTimeout`,
      { cause: e },
    );
  }

  /**
   * One attempt (5.4). ASYNC: MQClientAPIImpl.sendMessageAsync + onExceptionImpl, where transport
   * failures are retried (the same request, to the broker the strategy picks next) and error
   * responses are not (5.5); faults are charged here, not by the send loop.
   */
  async #sendKernel(out: Outgoing, mq: MessageQueue, info?: TopicPublishInfo): Promise<SendResult | undefined> {
    let { brokerName } = mq;
    const { topic } = mq;
    const routes = this.#routes;
    const client = this.#client;
    const { wire_: wire, ids_: ids, mode_: mode, signal_: signal } = out;
    let addr = routes.findBrokerAddressInPublish(brokerName);
    if (!addr) {
      await routes.updateRoute_(topic, false, Math.max(1, out.end_ - this.#now()), signal).catch(() => 0);
      addr = routes.findBrokerAddressInPublish(brokerName);
      if (!addr) throw new MQClientError(-1, `The broker[${brokerName}] not exist: no master in its route`);
    }
    if (!ids) setUniqKeyIfAbsent(wire);
    const [body, sysFlag] = await (out.body_ ??= this.#encodeBody(out));
    let left = out.end_ - this.#now();
    if (left <= 0) tooLate(out);
    const msgId = ids ? ids.join() : wire.properties.UNIQ_KEY!;
    const t0 = this.#now();
    // Send hooks (sendKernelImpl's executeSendMessageHookBefore / After), only when there are any.
    const ctx: SendContext | undefined = this.#hooks[0] && {
      producerGroup: this.#group, message: out.msg_, mq, brokerAddr: addr, mode: (['SYNC', 'ASYNC', 'ONEWAY'] as const)[mode], attempt: ++out.n_, msgId, properties: {},
    };
    if (ctx) {
      this.#hook('beforeSend', ctx);
      try {
        wire.properties = inJavaOrder({ ...wire.properties, ...addUserProperties({}, ctx.properties) });
      } catch (e) {
        this.emitError_(e);
      }
    }
    const code = ids ? RC_SEND_BATCH_MESSAGE : wire.properties.MSG_TYPE === 'reply' ? RC_SEND_REPLY_MESSAGE_V2 : RC_SEND_MESSAGE_V2;
    const req = createRequest(code, this.#sendHeader(out, mq, sysFlag), {
      body,
      serializeType: this.#o.serializeType,
      oneway: mode === Mode.ONEWAY,
    });
    out.sent_ = mode === Mode.ASYNC;
    let result: SendResult | undefined;
    try {
      for (let failures = 0; ; ) {
        const begin = this.#now();
        let res: RemotingCommand | void;
        try {
          res = mode === Mode.ONEWAY ? await client.invokeOneway(addr, req, signal)
            : await (out.batch_ ? this.#batcher!.invoke_(addr, req, left, wire, signal) : client.invoke(addr, req, left, signal));
        } catch (e) {
          if (mode !== Mode.ASYNC || e instanceof AbortError) throw e;
          this.#fault(brokerName, begin, true);
          left = out.end_ - this.#now();
          if (++failures > this.#o.retryTimesWhenSendAsyncFailed || left <= 0) throw e;
          if (info) brokerName = this.#strategy.selectOneMessageQueue(info, brokerName).brokerName;
          const next = routes.findBrokerAddressInPublish(brokerName);
          if (!next) throw e;
          addr = next;
          continue;
        }
        this.#brokerUsed(addr);
        try {
          // Results name the user's topic (processSendResponse's withoutNamespace).
          return (result = res ? processSendResponse(res, withoutNamespace(topic, this.#o.namespace), brokerName, addr, msgId) : undefined);
        } finally {
          if (mode === Mode.ASYNC) this.#fault(brokerName, begin, !result);
        }
      }
    } catch (e) {
      if (ctx) ctx.error = e;
      throw e;
    } finally {
      if (ctx) {
        Object.assign(ctx, { brokerAddr: addr, result, latencyMs: this.#now() - t0 });
        this.#hook('afterSend', ctx);
      }
    }
  }

  /** Runs one kind of hook; what a hook throws is an 'error' event, never the send's failure. */
  #hook(kind: keyof SendHook, ctx: SendContext): void {
    for (const h of this.#hooks) {
      try {
        h[kind]?.(ctx);
      } catch (e) {
        this.emitError_(e);
      }
    }
  }

  /** The body as sent and its sysFlag; batches are never compressed (3.8). */
  async #encodeBody({ wire_: { body, properties }, ids_ }: Outgoing): Promise<[Uint8Array, number]> {
    let sysFlag = properties.TRAN_MSG === 'true' ? K.SYSFLAG_TRANSACTION_PREPARED : 0;
    if (!ids_ && body.length >= this.#o.compressMsgBodyOverHowmuch) {
      try {
        body = await compressZlib(body);
        sysFlag |= K.SYSFLAG_COMPRESSED_ZLIB;
      } catch {
        // like Java: send uncompressed
      }
    }
    return [body, sysFlag];
  }

  /**
   * SendMessageRequestHeaderV2 (3.2): letters a..n, every value a string. A Java HashMap iterates
   * these one-letter keys in letter order, so the record is built in that order. j (reconsumeTimes)
   * and l (maxReconsumeTimes) come from RECONSUME_TIME / MAX_RECONSUME_TIMES, reserved properties a
   * Message cannot carry: j is always 0 and l is left out, as Java does for a message without them.
   */
  #sendHeader({ wire_: w, ids_ }: Outgoing, mq: MessageQueue, sysFlag: number): Record<string, string> {
    const o = this.#o;
    return {
      a: this.#group,
      b: w.topic,
      c: o.createTopicKey,
      d: `${o.defaultTopicQueueNums}`,
      e: `${mq.queueId}`,
      f: `${sysFlag}`,
      g: `${Date.now()}`,
      h: `${w.flag}`,
      i: encodeProperties(w.properties),
      j: '0',
      k: 'false',
      m: `${!!ids_}`,
      n: mq.brokerName,
    };
  }

  // ---------- heartbeat, unregister, timers ----------

  #brokerUsed(addr: string): void {
    if (this.#brokers.has(addr) || this.#state !== 'RUNNING') return;
    // First contact: register the group right after the first exchange, never before it.
    void this.#heartbeat(addr);
  }

  /** A heartbeat whose failure becomes an 'error' event. */
  #heartbeat(addr: string): Promise<void> {
    return this.sendHeartbeat(addr).catch((e: unknown) => this.emitError_(e));
  }

  /** HEART_BEAT (34): no header, HeartbeatData body (8.2). */
  async sendHeartbeat(addr: string): Promise<void> {
    const o = this.#o;
    // Heartbeated once, kept alive: the periodic heartbeat and the unregister at shutdown go there too.
    this.#brokers.add(addr);
    const body =
      `{"clientID":${fastjsonString(this.clientId)},"consumerDataSet":[],"producerDataSet":[` +
      `{"groupName":${fastjsonString(this.#group)}},{"groupName":"${CLIENT_INNER_PRODUCER_GROUP}"}]}`;
    const req = createRequest(RC_HEART_BEAT, undefined, { body: utf8.encode(body), serializeType: o.serializeType });
    const res = await this.#client.invoke(addr, req, o.mqClientApiTimeout);
    if (res.code !== RS_SUCCESS) throw new MQBrokerError(res.code, res.remark ?? '', addr);
  }

  /** UNREGISTER_CLIENT (35) for the group and the inner group; failures ignored (8.3). */
  async #unregister(addr: string): Promise<void> {
    const o = this.#o;
    try {
      for (const producerGroup of [this.#group, CLIENT_INNER_PRODUCER_GROUP]) {
        // Fields in Java HashMap order.
        const req = createRequest(RC_UNREGISTER_CLIENT, { producerGroup, clientID: this.clientId }, { serializeType: o.serializeType });
        await this.#client.invoke(addr, req, Math.min(K.UNREGISTER_TIMEOUT, o.mqClientApiTimeout));
      }
    } catch {
      // the broker is gone; it forgets us after 120 s anyway
    }
  }

  /** A repeating background task; errors become 'error' events and never escape. */
  #every(ms: number, task: () => Promise<unknown>): void {
    const timers = this.#timers;
    const i = timers.length;
    const tick = (): void => {
      task()
        .catch((e: unknown) => this.emitError_(e))
        .finally(() => {
          if (this.#state === 'RUNNING') timers[i] = setTimeout(tick, ms);
        });
    };
    timers[i] = setTimeout(tick, ms);
  }

  /** @internal A background failure (route refresh, heartbeat, a hook, a check-back) as an 'error' event. */
  emitError_(e: unknown): void {
    if (this.#state !== 'RUNNING') return; // failures caused by shutdown itself are not news
    try {
      this.emit('error', e instanceof Error ? e : new Error(`background task failed: ${e}`));
    } catch {
      // a listener threw: background work must not crash the host
    }
  }

  #setState(s: ServiceState): void {
    this.emit('state', (this.#state = s));
  }
}
