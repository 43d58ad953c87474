// Producer: DefaultMQProducer + DefaultMQProducerImpl + the producer half of MQClientInstance (5, 8).
import { EventEmitter } from 'eventemitter3';
import {
  AbortError, MQBrokerError, MQClientError, RemotingConnectError, RemotingError, RemotingTimeoutError,
  RemotingTooMuchRequestError,
} from '../errors.js';
import {
  MessageConst, MessageSysFlag, compressZlib, encodeBatchBody, encodeProperties, setUniqKeyIfAbsent, toWireMessage,
  validateMessage, validateTopic, type Message, type MessageQueue, type WireMessage,
} from '../message/index.js';
import { RemotingClient, type ConnectionEvent } from '../remoting/client.js';
import { ClientErrorCode, RequestCode, ResponseCode } from '../remoting/codes.js';
import { createRequest, type RemotingCommand } from '../remoting/command.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';
import { fastjsonString } from '../remoting/json.js';
import { RouteManager } from '../route/manager.js';
import type { TopicPublishInfo } from '../route/topic-route.js';
import { MQFaultStrategy, systemClock, type Clock } from './fault.js';
import { InFlightLimiter } from './in-flight.js';
import { CLIENT_INNER_PRODUCER_GROUP, resolveProducerOptions, type ProducerOptions, type ResolvedProducerOptions } from './options.js';
import { processSendResponse, type SendResult } from './send-result.js';

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

type Mode = 'SYNC' | 'ASYNC' | 'ONEWAY';

/** A prepared send: the wire message keeps its UNIQ_KEY across attempts. */
interface Outgoing {
  wire: WireMessage;
  msg: Message;
  batchIds?: string[];
  encoded?: Promise<{ body: Uint8Array; sysFlag: number }>;
}

/** Wraps an ASYNC exchange failure so the send loop passes it through unwrapped (5.5). */
class AsyncFailure {
  constructor(readonly error: unknown) {}
}

const UNREGISTER_TIMEOUT = 1000;
const utf8 = new TextEncoder();

export class Producer extends EventEmitter<ProducerEvents> {
  readonly options: ResolvedProducerOptions;
  /** `${clientIP}@${instanceName}`: brokers key this client's connections by it (8.1). */
  readonly clientId: string;
  /** Internals for sibling packages and tests. */
  readonly client: RemotingClient;
  readonly routes: RouteManager;
  readonly faultStrategy: MQFaultStrategy;
  private state: ServiceState = 'CREATE_JUST';
  private readonly clock: Clock;
  private readonly limiter: InFlightLimiter;
  /** Broker addresses this producer has talked to: heartbeat and unregister targets. */
  private readonly brokersInUse = new Set<string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(opts: ProducerOptions) {
    super();
    const o = (this.options = resolveProducerOptions(opts));
    this.clock = o.clock ?? systemClock;
    const [a, b] = crypto.getRandomValues(new Uint32Array(2));
    // Java uses `<pid>#<nanoTime>`; a web runtime has neither, so two random numbers keep ids unique.
    this.clientId = `${o.clientIP}@${o.instanceName ?? `${a! % 100000}#${b}`}`;
    this.client = new RemotingClient(o.transport);
    this.client.on('connection', (e) => this.emit('connection', e));
    this.routes = new RouteManager(this.client, {
      createTopicKey: o.createTopicKey,
      defaultTopicQueueNums: o.defaultTopicQueueNums,
      mqClientApiTimeout: o.mqClientApiTimeout,
      serializeType: o.serializeType,
    });
    this.faultStrategy = new MQFaultStrategy({ sendLatencyFaultEnable: o.sendLatencyFaultEnable, latencyTable: o.latencyTable, clock: this.clock });
    this.limiter = new InFlightLimiter(o.maxAsyncInFlight, o.maxAsyncInFlightBytes);
  }

  get serviceState(): ServiceState {
    return this.state;
  }

  /** Async sends currently holding a permit. */
  get inFlight(): { count: number; bytes: number } {
    return { count: this.limiter.count, bytes: this.limiter.bytes };
  }

  async start(): Promise<void> {
    if (this.state !== 'CREATE_JUST') {
      throw new MQClientError(-1, `The producer service state not OK, maybe started once, ${this.state}: a Producer can be started only once; create a new one`);
    }
    this.setState('RUNNING');
    // No name-server or broker traffic at start: like Java, the first send does the lookups and
    // a broker never requires a heartbeat before accepting a send.
    this.every(this.options.pollNameServerInterval, async () => {
      for (const e of await this.routes.refreshAll()) this.emitError(e, 'route refresh failed');
    });
    this.every(this.options.heartbeatBrokerInterval, () => this.sendHeartbeatToAllBrokers());
  }

  async shutdown(): Promise<void> {
    if (this.state !== 'RUNNING') return;
    this.setState('SHUTDOWN_ALREADY');
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.brokersInUse].map((addr) => this.unregister(addr)));
    this.limiter.rejectAll(new MQClientError(-1, 'the producer was shut down while this send waited for capacity'));
    await this.client.close();
    try {
      await this.options.transport.close();
    } catch (e) {
      this.emitError(e, 'transport close failed');
    }
  }

  /** SYNC send: 1 + retryTimesWhenSendFailed attempts within one sendMsgTimeout budget. */
  send(msg: Message, opts: SendOptions = {}): Promise<SendResult> {
    return this.run(opts, async () => this.dispatch(this.prepare(msg), 'SYNC', opts) as Promise<SendResult>);
  }

  /** ASYNC send: one pass, transport failures retried up to retryTimesWhenSendAsyncFailed, in-flight bounded. */
  sendAsync(msg: Message, opts: SendOptions = {}): Promise<SendResult> {
    return this.run(opts, async () => {
      const t0 = this.clock.now();
      const out = this.prepare(msg);
      const timeout = this.timeoutOf(opts);
      const release = await this.limiter.acquire(out.wire.body.length, this.options.asyncBackpressure, timeout, opts.signal);
      try {
        return (await this.dispatch(out, 'ASYNC', { ...opts, timeout: timeout - (this.clock.now() - t0) })) as SendResult;
      } finally {
        release();
      }
    });
  }

  /** ONEWAY send: one attempt, flag bit 1, resolves once the request is written. */
  sendOneway(msg: Message, opts: SendOptions = {}): Promise<void> {
    return this.run(opts, async () => void (await this.dispatch(this.prepare(msg), 'ONEWAY', opts)));
  }

  /** Batch send (SEND_BATCH_MESSAGE 320) with SYNC semantics; msgId = inner UNIQ_KEYs joined by ','. */
  sendBatch(msgs: Message[], opts: SendOptions = {}): Promise<SendResult> {
    return this.run(opts, async () => {
      this.makeSureStateOK();
      return (await this.dispatch(this.prepareBatch(msgs), 'SYNC', opts)) as SendResult;
    });
  }

  /** The queues a send to `topic` can use (route lookup if not cached). */
  async fetchPublishMessageQueues(topic: string): Promise<MessageQueue[]> {
    this.makeSureStateOK();
    validateTopic(topic);
    const info = await this.routes.tryToFindTopicPublishInfo(topic, this.options.mqClientApiTimeout);
    return info.messageQueueList.map((q) => ({ ...q }));
  }

  // ---------- send paths ----------

  private run<T>(opts: SendOptions, task: () => Promise<T>): Promise<T> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    const p = task();
    if (!signal) return p;
    // Abort rejects at once; the inner send sees the same signal and stops too.
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortError(undefined, { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
        (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
      );
    });
  }

  private timeoutOf(opts: SendOptions): number {
    const t = opts.timeout ?? this.options.sendMsgTimeout;
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new MQClientError(-1, `send timeout must be a number of ms, got ${String(t)}`);
    return t;
  }

  private makeSureStateOK(): void {
    if (this.state !== 'RUNNING') {
      const what = this.state === 'CREATE_JUST' ? 'call producer.start() before sending' : 'it was shut down or failed to start; create and start() a new Producer';
      throw new MQClientError(-1, `The producer service state not OK, ${this.state}: ${what}`);
    }
  }

  /** Validation first, before any network activity (5.1). */
  private prepare(msg: Message): Outgoing {
    this.makeSureStateOK();
    if (msg === null || msg === undefined) throw new MQClientError(ResponseCode.MESSAGE_ILLEGAL, 'the message is null');
    validateTopic(msg.topic);
    const wire = toWireMessage(msg);
    validateMessage(wire, this.options.maxMessageSize);
    return { wire, msg };
  }

  private prepareBatch(msgs: Message[]): Outgoing {
    const fail = (why: string): never => {
      throw new MQClientError(-1, `Failed to initiate the MessageBatch: ${why}`);
    };
    if (!Array.isArray(msgs) || msgs.length === 0) fail('the batch is empty');
    const first = msgs[0]!;
    for (const m of msgs) {
      if (!m) fail('a message of the batch is null');
      if ((m.delayLevel ?? 0) > 0) fail('TimeDelayLevel is not supported for batching');
      if (m.topic?.startsWith('%RETRY%')) fail('Retry Group is not supported for batching');
      if (m.topic !== first.topic) fail('The topic of the messages in one batch should be the same');
      if ((m.waitStoreMsgOK ?? true) !== (first.waitStoreMsgOK ?? true)) fail('The waitStoreMsgOK of the messages in one batch should the same');
    }
    const wires = msgs.map((m) => {
      validateTopic(m.topic);
      const w = toWireMessage(m);
      validateMessage(w, this.options.maxMessageSize);
      return w;
    });
    const batchIds = wires.map((w) => setUniqKeyIfAbsent(w));
    // The pseudo-message carries only WAIT (3.9); the encoded batch is checked as one message.
    const wire: WireMessage = {
      topic: first.topic,
      body: encodeBatchBody(wires),
      flag: 0,
      properties: { [MessageConst.WAIT]: first.waitStoreMsgOK === false ? 'false' : 'true' },
    };
    validateMessage(wire, this.options.maxMessageSize);
    return { wire, msg: first, batchIds };
  }

  private async dispatch(out: Outgoing, mode: Mode, opts: SendOptions): Promise<SendResult | undefined> {
    const t0 = this.clock.now();
    const timeout = this.timeoutOf(opts);
    const { signal } = opts;
    const unwrap = (e: unknown): never => {
      throw e instanceof AsyncFailure ? e.error : e;
    };
    if (opts.queue) {
      // send(msg, mq): exactly one attempt to that queue; no retry, no fault update (5.7).
      const mq = opts.queue;
      if (mq.topic !== out.wire.topic) throw new MQClientError(-1, `message's topic not equal mq's topic: ${out.wire.topic} vs ${mq.topic}`);
      if (timeout < this.clock.now() - t0) throw new RemotingTooMuchRequestError('', 'call timeout');
      return this.sendKernelImpl(out, mq, mode, timeout, undefined, signal).catch(unwrap);
    }
    if (opts.selector) {
      const info = await this.findPublishInfo(out.wire.topic, timeout, signal);
      let mq: MessageQueue | null | undefined;
      try {
        mq = opts.selector(info.messageQueueList.map((q) => ({ ...q })), out.msg, opts.arg);
      } catch (e) {
        throw new MQClientError(-1, `select message queue threw exception: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      if (timeout < this.clock.now() - t0) throw new RemotingTooMuchRequestError('', 'sendSelectImpl call timeout');
      if (!mq || typeof mq.brokerName !== 'string') throw new MQClientError(-1, 'select message queue returned null: the selector must return one of the queues it was given');
      return this.sendKernelImpl(out, mq, mode, timeout - (this.clock.now() - t0), undefined, signal).catch(unwrap);
    }
    return this.sendDefaultImpl(out, mode, timeout, signal);
  }

  private async findPublishInfo(topic: string, timeout: number, signal?: AbortSignal): Promise<TopicPublishInfo> {
    if (timeout <= 0) throw new RemotingTooMuchRequestError('', 'sendDefaultImpl call timeout: no time left for the route lookup');
    return this.routes.tryToFindTopicPublishInfo(topic, timeout, signal);
  }

  /** The retry loop of DefaultMQProducerImpl.sendDefaultImpl (5.3). */
  private async sendDefaultImpl(out: Outgoing, mode: Mode, timeout: number, signal?: AbortSignal): Promise<SendResult | undefined> {
    const t0 = this.clock.now();
    const topic = out.wire.topic;
    const info = await this.findPublishInfo(topic, timeout, signal);
    const timesTotal = mode === 'SYNC' ? 1 + this.options.retryTimesWhenSendFailed : 1;
    const brokersSent: (string | null)[] = new Array<string | null>(timesTotal).fill(null);
    let mq: MessageQueue | undefined;
    let lastResult: SendResult | undefined;
    let lastError: unknown;
    let callTimeout = false;
    let times = 0;
    for (; times < timesTotal; times++) {
      mq = this.faultStrategy.selectOneMessageQueue(info, mq?.brokerName);
      brokersSent[times] = mq.brokerName;
      const begin = this.clock.now();
      const cost = begin - t0;
      if (timeout < cost) {
        callTimeout = true;
        break;
      }
      try {
        const result = await this.sendKernelImpl(out, mq, mode, timeout - cost, info, signal);
        if (mode !== 'ASYNC') this.faultStrategy.updateFaultItem(mq.brokerName, this.clock.now() - begin, false);
        if (mode !== 'SYNC') return result;
        if (result!.sendStatus !== 'SEND_OK' && this.options.retryAnotherBrokerWhenNotStoreOK) {
          lastResult = result;
          continue;
        }
        return result;
      } catch (e) {
        if (e instanceof AsyncFailure) throw e.error;
        if (e instanceof AbortError) {
          this.faultStrategy.updateFaultItem(mq.brokerName, this.clock.now() - begin, false);
          throw e;
        }
        this.faultStrategy.updateFaultItem(mq.brokerName, this.clock.now() - begin, true);
        lastError = e;
        if (e instanceof MQBrokerError) {
          if (this.options.retryResponseCodes.includes(e.responseCode)) continue;
          if (lastResult) return lastResult;
          throw e;
        }
        if (e instanceof RemotingError || e instanceof MQClientError) continue;
        throw e;
      }
    }
    if (lastResult) return lastResult;
    if (callTimeout) {
      throw new RemotingTooMuchRequestError(
        '',
        `sendDefaultImpl call timeout: the ${timeout} ms budget (sendMsgTimeout) was used up after ${times} attempt(s), ` +
          `topic ${topic}; raise sendMsgTimeout or check the brokers' latency`,
        { cause: lastError },
      );
    }
    const e = lastError;
    const code =
      e instanceof MQBrokerError ? e.responseCode
      : e instanceof RemotingConnectError ? ClientErrorCode.CONNECT_BROKER_EXCEPTION
      : e instanceof RemotingTimeoutError ? ClientErrorCode.ACCESS_BROKER_TIMEOUT
      : ClientErrorCode.BROKER_NOT_EXIST_EXCEPTION;
    throw new MQClientError(
      code,
      `Send [${times}] times, still failed, cost [${this.clock.now() - t0}]ms, Topic: ${topic}, BrokersSent: [${brokersSent.map((b) => b ?? 'null').join(', ')}]` +
        `; last error: ${e instanceof Error ? e.message : String(e)}. Check that the brokers are running and reachable ` +
        `from this client, and that the topic is writable; a larger sendMsgTimeout or retryTimesWhenSendFailed may help.`,
      { cause: e },
    );
  }

  /** One attempt (5.4). ASYNC exchange failures come back wrapped in AsyncFailure. */
  private async sendKernelImpl(
    out: Outgoing, mq: MessageQueue, mode: Mode, timeout: number, info: TopicPublishInfo | undefined, signal?: AbortSignal,
  ): Promise<SendResult | undefined> {
    const begin = this.clock.now();
    let addr = this.routes.findBrokerAddressInPublish(mq.brokerName);
    if (!addr) {
      await this.routes.updateTopicRouteInfoFromNameServer(mq.topic, false, Math.max(1, timeout), signal).catch(() => false);
      addr = this.routes.findBrokerAddressInPublish(mq.brokerName);
    }
    if (!addr) {
      throw new MQClientError(-1, `The broker[${mq.brokerName}] not exist: no master address for it in the topic routes; check that the broker is registered with the name server`);
    }
    if (!out.batchIds) setUniqKeyIfAbsent(out.wire);
    const { body, sysFlag } = await this.encodeBody(out);
    const req = createRequest(out.batchIds ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2, this.sendHeader(out, mq, sysFlag), {
      body,
      serializeType: this.options.serializeType,
      oneway: mode === 'ONEWAY',
    });
    const cost = this.clock.now() - begin;
    if (timeout < cost) throw new RemotingTooMuchRequestError(addr, 'sendKernelImpl call timeout');
    const left = timeout - cost;
    const msgId = out.batchIds ? out.batchIds.join(',') : out.wire.properties[MessageConst.UNIQ_KEY]!;
    if (mode === 'ONEWAY') {
      await this.client.invokeOneway(addr, req, signal);
      this.brokerUsed(addr);
      return undefined;
    }
    if (mode === 'SYNC') {
      const res = await this.client.invoke(addr, req, left, signal);
      this.brokerUsed(addr);
      return processSendResponse(res, mq.topic, mq.brokerName, addr, msgId);
    }
    return this.sendMessageAsync(addr, mq, req, left, info, msgId, signal);
  }

  /** MQClientAPIImpl.sendMessageAsync + onExceptionImpl: transport failures retried, error responses not (5.5). */
  private async sendMessageAsync(
    addr: string, mq: MessageQueue, req: RemotingCommand, timeout: number, info: TopicPublishInfo | undefined, msgId: string, signal?: AbortSignal,
  ): Promise<SendResult> {
    let brokerName = mq.brokerName;
    let left = timeout;
    for (let failures = 0; ; ) {
      const begin = this.clock.now();
      let res: RemotingCommand;
      try {
        res = await this.client.invoke(addr, req, left, signal);
      } catch (e) {
        if (e instanceof AbortError) throw new AsyncFailure(e);
        this.faultStrategy.updateFaultItem(brokerName, this.clock.now() - begin, true);
        left -= this.clock.now() - begin;
        if (++failures > this.options.retryTimesWhenSendAsyncFailed || left <= 0) throw new AsyncFailure(e);
        // Same request (header and queueId included) to the broker the strategy picks next.
        if (info) brokerName = this.faultStrategy.selectOneMessageQueue(info, brokerName).brokerName;
        const next = this.routes.findBrokerAddressInPublish(brokerName);
        if (!next) throw new AsyncFailure(e);
        addr = next;
        continue;
      }
      this.brokerUsed(addr);
      try {
        const result = processSendResponse(res, mq.topic, brokerName, addr, msgId);
        this.faultStrategy.updateFaultItem(brokerName, this.clock.now() - begin, false);
        return result;
      } catch (e) {
        this.faultStrategy.updateFaultItem(brokerName, this.clock.now() - begin, true);
        throw new AsyncFailure(e);
      }
    }
  }

  /** Compression once per send, reused by retries; batches are never compressed (3.8). */
  private encodeBody(out: Outgoing): Promise<{ body: Uint8Array; sysFlag: number }> {
    return (out.encoded ??= (async () => {
      let body = out.wire.body;
      let sysFlag = 0;
      if (!out.batchIds && body.length >= this.options.compressMsgBodyOverHowmuch) {
        try {
          body = await compressZlib(body);
          sysFlag |= MessageSysFlag.COMPRESSED_FLAG | MessageSysFlag.COMPRESSION_ZLIB;
        } catch {
          body = out.wire.body; // like Java: send uncompressed
        }
      }
      if (out.wire.properties[MessageConst.TRAN_MSG] === 'true') sysFlag |= MessageSysFlag.TRANSACTION_PREPARED_TYPE;
      return { body, sysFlag };
    })());
  }

  /** SendMessageRequestHeaderV2 (3.2): letters a..n, every value a string, in Java HashMap order. */
  private sendHeader(out: Outgoing, mq: MessageQueue, sysFlag: number): Record<string, string> {
    const p = out.wire.properties;
    const h: Record<string, string> = {
      a: this.options.producerGroup,
      b: out.wire.topic,
      c: this.options.createTopicKey,
      d: String(this.options.defaultTopicQueueNums),
      e: String(mq.queueId),
      f: String(sysFlag),
      g: String(Date.now()),
      h: String(out.wire.flag),
      i: encodeProperties(p),
      j: '0',
      k: 'false',
    };
    if (out.wire.topic.startsWith('%RETRY%')) {
      if (p[MessageConst.RECONSUME_TIME] !== undefined) h.j = p[MessageConst.RECONSUME_TIME]!;
      if (p[MessageConst.MAX_RECONSUME_TIMES] !== undefined) h.l = p[MessageConst.MAX_RECONSUME_TIMES]!;
    }
    h.m = out.batchIds ? 'true' : 'false';
    h.n = mq.brokerName;
    return inJavaOrder(h);
  }

  // ---------- heartbeat, unregister, timers ----------

  private brokerUsed(addr: string): void {
    if (this.brokersInUse.has(addr) || this.state !== 'RUNNING') return;
    this.brokersInUse.add(addr);
    // First contact: register the group right after the first exchange, never before it.
    void this.sendHeartbeat(addr).catch((e: unknown) => this.emitError(e, `heartbeat to ${addr} failed`));
  }

  private async sendHeartbeatToAllBrokers(): Promise<void> {
    await Promise.all(
      [...this.brokersInUse].map((addr) => this.sendHeartbeat(addr).catch((e: unknown) => this.emitError(e, `heartbeat to ${addr} failed`))),
    );
  }

  /** HEART_BEAT (34): no header, HeartbeatData body (8.2). */
  async sendHeartbeat(addr: string): Promise<void> {
    const body =
      `{"clientID":${fastjsonString(this.clientId)},"consumerDataSet":[],"producerDataSet":[` +
      `{"groupName":${fastjsonString(this.options.producerGroup)}},{"groupName":"${CLIENT_INNER_PRODUCER_GROUP}"}]}`;
    const req = createRequest(RequestCode.HEART_BEAT, undefined, { body: utf8.encode(body), serializeType: this.options.serializeType });
    const res = await this.client.invoke(addr, req, this.options.mqClientApiTimeout);
    if (res.code !== ResponseCode.SUCCESS) throw new MQBrokerError(res.code, res.remark ?? '', addr);
  }

  /** UNREGISTER_CLIENT (35) for the group and the inner group; failures ignored (8.3). */
  private async unregister(addr: string): Promise<void> {
    for (const group of [this.options.producerGroup, CLIENT_INNER_PRODUCER_GROUP]) {
      const req = createRequest(RequestCode.UNREGISTER_CLIENT, inJavaOrder({ clientID: this.clientId, producerGroup: group }), {
        serializeType: this.options.serializeType,
      });
      try {
        await this.client.invoke(addr, req, Math.min(UNREGISTER_TIMEOUT, this.options.mqClientApiTimeout));
      } catch {
        return; // the broker is gone; it forgets us after 120 s anyway
      }
    }
  }

  /** A repeating background task; errors become 'error' events and never escape. */
  private every(ms: number, task: () => Promise<void>): void {
    const tick = (): void => {
      this.timers.delete(timer);
      task()
        .catch((e: unknown) => this.emitError(e, 'background task failed'))
        .finally(() => {
          if (this.state === 'RUNNING') {
            timer = setTimeout(tick, ms);
            this.timers.add(timer);
          }
        });
    };
    let timer = setTimeout(tick, ms);
    this.timers.add(timer);
  }

  private emitError(e: unknown, context: string): void {
    if (this.state !== 'RUNNING') return; // failures caused by shutdown itself are not news
    const err = e instanceof Error ? e : new Error(`${context}: ${String(e)}`);
    try {
      this.emit('error', err);
    } catch {
      // a listener threw: background work must not crash the host
    }
  }

  private setState(s: ServiceState): void {
    this.state = s;
    this.emit('state', s);
  }
}
