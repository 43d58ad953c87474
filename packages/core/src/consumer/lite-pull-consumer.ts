// LitePullConsumer: DefaultLitePullConsumer + DefaultLitePullConsumerImpl + the consumer half of
// MQClientInstance. Per assigned queue one pull loop long-polls the broker and buffers what it
// brings; poll() and the async iterator hand the buffer out in queue order; offsets of what was
// handed out are committed to the broker. Internal state uses ES `#private` names.
import { EventEmitter } from '../emitter.js';
import { AbortError, MQClientError } from '../errors.js';
import { validateTopic, withoutNamespace, wrapNamespace, type MessageExt, type MessageQueue } from '../message/index.js';
import { RemotingClient, type ConnectionEvent } from '../remoting/client.js';
import { RS_REQUEST_CODE_NOT_SUPPORTED } from '../remoting/codes.js';
import { createResponse } from '../remoting/command.js';
import { RouteManager } from '../route/manager.js';
import { DEFAULT_CREATE_TOPIC_KEY, DEFAULT_TOPIC_QUEUE_NUMS } from '../producer/defaults.js';
import { queueOffset, type ClientApi } from './client-api.js';
import { ConsumerClientInstance } from './client-instance.js';
import { RC_GET_MAX_OFFSET, RC_GET_MIN_OFFSET, RC_NOTIFY_CONSUMER_IDS_CHANGED, RC_SEARCH_OFFSET_BY_TIMESTAMP } from './codes.js';
import { ConsumeRequestCache } from './consume-cache.js';
import { OFFSET_READ_FAILED, RemoteBrokerOffsetStore, mqKey } from './offset-store.js';
import { resolveConsumerOptions, type LitePullConsumerOptions, type ResolvedConsumerOptions } from './options.js';
import { newQueueState, type ConsumeRequest, type QueueState } from './process-queue.js';
import { pullLoop, type PullTaskContext } from './pull-task.js';
import { computePullFromWhere, rebalanceByTopic, subscribeQueues } from './rebalance.js';
import { SUB_ALL, buildSubscriptionData, type SubscriptionData } from './subscription.js';

export type ConsumerState = 'CREATE_JUST' | 'RUNNING' | 'SHUTDOWN_ALREADY';

/** MessageQueueListener.messageQueueChanged: the queues of `topic`, and the ones this member reads. */
export interface RebalanceEvent { topic: string; mqAll: MessageQueue[]; mqDivided: MessageQueue[] }

export interface LitePullConsumerEvents {
  state: [ConsumerState];
  connection: [ConnectionEvent];
  /** Background failures (pulls, heartbeats, rebalances, offset writes). Emitted, never thrown. */
  error: [Error];
  /** Subscribe mode: the queues this member reads changed. */
  rebalance: [RebalanceEvent];
}

export interface PollOptions {
  /** ms to wait for messages (default pollTimeoutMillis); resolves [] when none came. */
  timeout?: number;
  /** Rejects the poll with AbortError (ends an iteration quietly). */
  signal?: AbortSignal;
}

const copyMq = (mq: MessageQueue): MessageQueue => ({ topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId });

function checkQueue(mq: MessageQueue): void {
  if (!mq || typeof mq.brokerName !== 'string' || !Number.isInteger(mq.queueId) || mq.queueId < 0) {
    throw new MQClientError(-1, `not a message queue: ${JSON.stringify(mq)} (needs topic, brokerName and queueId ≥ 0)`);
  }
  validateTopic(mq.topic);
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new MQClientError(-1, `offset ${offset} must be a whole number ≥ 0`);
}

export class LitePullConsumer extends EventEmitter<LitePullConsumerEvents> {
  declare readonly options: ResolvedConsumerOptions;
  /** `${clientIP}@${instanceName}`: one per consumer, so every tab or process is its own group member (8.1). */
  declare readonly clientId: string;
  /** Internals for sibling packages and tests. */
  declare readonly client: RemotingClient;
  declare readonly routes: RouteManager;
  readonly #o: ResolvedConsumerOptions;
  readonly #client: RemotingClient;
  readonly #routes: RouteManager;
  readonly #api: ClientApi;
  readonly #store: RemoteBrokerOffsetStore;
  #state: ConsumerState = 'CREATE_JUST';
  #mode: 'NONE' | 'SUBSCRIBE' | 'ASSIGN' = 'NONE';
  readonly #subscriptions = new Map<string, SubscriptionData>();
  /** Assign mode: the queues given, and per topic the tags to read (setSubExpressionForAssign). */
  #assigned: MessageQueue[] = [];
  readonly #assignSubs = new Map<string, SubscriptionData>();
  /** Queues this consumer reads, by mqKey. */
  readonly #queues = new Map<string, QueueState>();
  /** Pulled batches waiting for poll(); a poll that frees room lets flow-controlled pull tasks go on. */
  readonly #cache = new ConsumeRequestCache(() => {
    for (const q of this.#queues.values()) if (q.drainWakes_) q.wake_?.();
  });
  /** What the pull tasks use of this consumer. */
  readonly #pullTask: PullTaskContext;
  #nextAutoCommit = -1;
  readonly #instance: ConsumerClientInstance;
  readonly #timers: ReturnType<typeof setTimeout>[] = [];
  #rebalancing: Promise<void> | undefined;
  #rebalanceAgain = false;

  constructor(opts: LitePullConsumerOptions) {
    super();
    const o = (this.options = this.#o = resolveConsumerOptions(opts));
    const [a, b] = crypto.getRandomValues(new Uint32Array(2));
    // The Producer's rule: Java uses `<pid>#<nanoTime>`, which a web runtime lacks; two random numbers keep ids apart.
    this.clientId = `${o.clientIP}@${o.instanceName ?? `${a! % 100000}#${b}`}`;
    const client = (this.client = this.#client = new RemotingClient(o.transport));
    const lost = new Set<string>();
    client.on('connection', (e) => {
      this.emit('connection', e);
      if (e.type === 'disconnected') {
        if (this.#instance.brokers_.has(e.target)) lost.add(e.target);
      } else if (lost.delete(e.target) && this.#state === 'RUNNING') {
        // A broker drops the members of a closed connection: register again and re-divide at once,
        // not at the next heartbeat, so this member and the others stop reading the same queues soon.
        this.#instance.heartbeat_(e.target).then(() => this.#rebalanceSoon(), (err: unknown) => this.#emitError(err));
      }
    });
    client.onRequest((_target, cmd) => {
      // The broker's notice that the group changed: divide the queues again now (over TCP, and
      // through the WebSocket gateway, which relays it over the client's own broker connection).
      if (cmd.code === RC_NOTIFY_CONSUMER_IDS_CHANGED) return void this.#rebalanceSoon();
      return createResponse(cmd, RS_REQUEST_CODE_NOT_SUPPORTED, ` request type ${cmd.code} not supported`);
    });
    // createTopicKey / defaultTopicQueueNums only matter to a producer's first send (auto-creation).
    this.routes = this.#routes = new RouteManager(client, { ...o, createTopicKey: DEFAULT_CREATE_TOPIC_KEY, defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS });
    this.#api = { client, serializeType: o.serializeType, timeoutMs: o.mqClientApiTimeout };
    this.#instance = new ConsumerClientInstance(this.#api, this.#routes, this.clientId, () => ({
      groupName: o.consumerGroup,
      consumeType: 'CONSUME_ACTIVELY',
      messageModel: 'CLUSTERING',
      // What DefaultLitePullConsumerImpl.consumeFromWhere() reports, whatever the option says.
      consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      subscriptionDataSet: [...this.#subscriptions.values()],
    }));
    this.#store = new RemoteBrokerOffsetStore(this.#api, o.consumerGroup, (mq) => this.#subscribeAddr(mq, 0));
    this.#pullTask = {
      options_: o,
      api_: this.#api,
      cache_: this.#cache,
      running_: () => this.#state === 'RUNNING',
      subscriptionOf_: (topic) =>
        (this.#mode === 'SUBSCRIBE' ? this.#subscriptions : this.#assignSubs).get(topic) ?? buildSubscriptionData(topic, SUB_ALL),
      brokerAddr_: (mq, brokerId) => this.#subscribeAddr(mq, brokerId),
      computePullFromWhere_: (mq) => this.#computePullFromWhere(mq),
      emitError_: (e) => this.#emitError(e),
    };
  }

  get serviceState(): ConsumerState {
    return this.#state;
  }

  /** The queues this consumer reads now (subscribe mode: its share after the last rebalance). */
  assignment(): MessageQueue[] {
    return [...this.#queues.values()].map((q) => this.#userMq(q.mq_));
  }

  // ---------- namespace (names on the wire ⇄ the user's names) ----------

  /** A topic as the brokers know it. */
  #ns(topic: string): string {
    return wrapNamespace(this.#o.namespace, topic);
  }

  /** A queue as the brokers know it (queueWithNamespace); checked first. */
  #nsMq(mq: MessageQueue): MessageQueue {
    checkQueue(mq);
    return { ...copyMq(mq), topic: this.#ns(mq.topic) };
  }

  /** A queue as the user names it. */
  #userMq(mq: MessageQueue): MessageQueue {
    return { ...copyMq(mq), topic: withoutNamespace(mq.topic, this.#o.namespace) };
  }

  /** Messages handed out name the user's topic (DefaultLitePullConsumer.resetTopic). */
  #userMsgs(msgs: MessageExt[]): MessageExt[] {
    if (this.#o.namespace) {
      for (const m of msgs) {
        m.topic = withoutNamespace(m.topic, this.#o.namespace);
        if (m.queue) m.queue = this.#userMq(m.queue);
      }
    }
    return msgs;
  }

  // ---------- lifecycle ----------

  /** Starts pulling. Subscribe mode: resolves after the first heartbeat and rebalance (their failures are 'error' events and retried). */
  async start(): Promise<void> {
    if (this.#state !== 'CREATE_JUST') throw new MQClientError(-1, `The consumer is ${this.#state}: start() works once; create a new LitePullConsumer`);
    this.#setState('RUNNING');
    const o = this.#o;
    this.#every(o.pollNameServerInterval, async () => {
      for (const e of await this.#routes.refreshAll()) this.#emitError(e);
    });
    this.#every(o.heartbeatBrokerInterval, () => this.#instance.heartbeatAll_((e) => this.#emitError(e)));
    this.#every(o.persistConsumerOffsetInterval, () => this.#persistAll(true));
    this.#every(o.rebalanceInterval, () => this.#rebalanceSoon());
    if (this.#mode === 'ASSIGN') this.#applyAssign();
    if (this.#mode === 'SUBSCRIBE') await this.#subscriptionChanged();
  }

  /** Commits (with autoCommit), writes committed offsets to the brokers, leaves the group, closes the transport. */
  async shutdown(): Promise<void> {
    if (this.#state !== 'RUNNING') return;
    if (this.#o.autoCommit) this.#commitAll();
    this.#setState('SHUTDOWN_ALREADY');
    for (const t of this.#timers) clearTimeout(t);
    const queues = [...this.#queues.values()];
    for (const q of queues) this.#drop(q);
    this.#cache.wakeAll_();
    // As Java: the committed offsets oneway, then UNREGISTER_CLIENT on the same connections.
    await Promise.all(queues.map((q) => this.#store.persist(q.mq_, true, true).catch(() => {})));
    await this.#instance.unregisterAll_(this.#o.consumerGroup);
    await this.#client.close();
    try {
      await this.#o.transport.close();
    } catch {
      // shutting down anyway
    }
  }

  /** Same as shutdown(). */
  close(): Promise<void> {
    return this.shutdown();
  }

  // ---------- what to read ----------

  /** Subscribe mode: read `topic` (tags "A || B", or "*"), sharing its queues with the group's other members. */
  subscribe(topic: string, subExpression: string = SUB_ALL): void {
    validateTopic(topic);
    topic = this.#ns(topic);
    const sub = buildSubscriptionData(topic, subExpression);
    this.#setMode('SUBSCRIBE');
    this.#subscriptions.set(topic, sub);
    if (this.#state === 'RUNNING') void this.#subscriptionChanged();
  }

  unsubscribe(topic: string): void {
    topic = this.#ns(topic);
    if (!this.#subscriptions.delete(topic)) return;
    for (const q of this.#queues.values()) if (q.mq_.topic === topic) this.#drop(q, true);
  }

  /** Assign mode: read exactly these queues (no group rebalancing). Replaces an earlier assignment. */
  assign(queues: readonly MessageQueue[]): void {
    if (!queues?.length) throw new MQClientError(-1, 'assign() needs at least one message queue (see fetchMessageQueues)');
    const wanted = queues.map((mq) => this.#nsMq(mq));
    this.#setMode('ASSIGN');
    this.#assigned = wanted;
    if (this.#state === 'RUNNING') this.#applyAssign();
  }

  /** Assign mode, before start(): only messages of these tags ("A || B") from `topic`'s queues. */
  setSubExpressionForAssign(topic: string, subExpression: string): void {
    if (this.#state !== 'CREATE_JUST') throw new MQClientError(-1, 'setSubExpressionForAssign works before start() only');
    validateTopic(topic);
    const sub = buildSubscriptionData(this.#ns(topic), subExpression);
    this.#setMode('ASSIGN');
    this.#assignSubs.set(sub.topic, sub);
  }

  /** The readable queues of `topic` (fresh from the name server), e.g. for assign(). */
  async fetchMessageQueues(topic: string): Promise<MessageQueue[]> {
    this.#checkRunning();
    validateTopic(topic);
    topic = this.#ns(topic);
    await this.#routes.updateRoute_(topic, false, this.#o.mqClientApiTimeout);
    return subscribeQueues(this.#routes, topic).map((mq) => this.#userMq(mq));
  }

  pause(queues: readonly MessageQueue[]): void {
    for (const mq of queues) {
      const q = this.#queues.get(mqKey(this.#nsMq(mq)));
      if (q) q.paused_ = true;
    }
  }

  resume(queues: readonly MessageQueue[]): void {
    for (const mq of queues) {
      const q = this.#queues.get(mqKey(this.#nsMq(mq)));
      if (q?.paused_) {
        q.paused_ = false;
        q.wake_?.();
      }
    }
  }

  // ---------- reading ----------

  /**
   * The next pulled batch of one queue, in queue order; [] when nothing came within the timeout.
   * What it returns counts as consumed: the next commit (or, with autoCommit, a later poll) stores it.
   */
  async poll(opts: number | PollOptions = {}): Promise<MessageExt[]> {
    this.#checkRunning();
    const { timeout = this.#o.pollTimeoutMillis, signal } = typeof opts === 'number' ? { timeout: opts } : opts;
    if (!(timeout >= 0)) throw new MQClientError(-1, `poll timeout must be ≥ 0 ms, got ${timeout}`);
    if (this.#o.autoCommit) this.#maybeAutoCommit();
    const r = await this.#take(timeout, signal);
    if (!r) return [];
    this.#cache.consumed_(r, 0, r.msgs_.length);
    return this.#userMsgs(r.msgs_);
  }

  /**
   * Messages one at a time until shutdown (or `signal`). A message counts as consumed once the loop
   * asks for the next one; leaving the loop (break, throw) hands the current message back, so the
   * next poll or loop delivers it again and no commit covers it.
   */
  async *messages(opts: { signal?: AbortSignal } = {}): AsyncGenerator<MessageExt, void, undefined> {
    const { signal } = opts;
    while (this.#state === 'RUNNING' && !signal?.aborted) {
      if (this.#o.autoCommit) this.#maybeAutoCommit();
      let r: ConsumeRequest | undefined;
      try {
        r = await this.#take(this.#o.pollTimeoutMillis, signal);
      } catch (e) {
        if (e instanceof AbortError) return;
        throw e;
      }
      if (!r) continue;
      let i = 0;
      try {
        for (; i < r.msgs_.length; i++) {
          yield this.#userMsgs([r.msgs_[i]!])[0]!;
          this.#cache.consumed_(r, i, i + 1);
        }
      } finally {
        this.#cache.putBack_(r, i);
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<MessageExt, void, undefined> {
    return this.messages();
  }

  // ---------- positions ----------

  /** The next message of `mq` handed out is the one at `offset` (min ≤ offset ≤ max of the queue). */
  async seek(mq: MessageQueue, offset: number): Promise<void> {
    this.#checkRunning();
    checkOffset(offset);
    this.#assignedState(mq);
    const [min, max] = await Promise.all([this.#adminOffset(RC_GET_MIN_OFFSET, mq), this.#adminOffset(RC_GET_MAX_OFFSET, mq)]);
    if (offset < min || offset > max) throw new MQClientError(-1, `Seek offset illegal, seek offset = ${offset}, min offset = ${min}, max offset = ${max}`);
    const q = this.#assignedState(mq);
    this.#reset(q);
    q.seekOffset_ = offset;
  }

  async seekToBegin(mq: MessageQueue): Promise<void> {
    this.#checkRunning();
    return this.seek(mq, await this.#adminOffset(RC_GET_MIN_OFFSET, mq));
  }

  async seekToEnd(mq: MessageQueue): Promise<void> {
    this.#checkRunning();
    return this.seek(mq, await this.#adminOffset(RC_GET_MAX_OFFSET, mq));
  }

  /** seek to offsetForTimestamp(mq, timestamp). */
  async seekToTimestamp(mq: MessageQueue, timestamp: number): Promise<void> {
    return this.seek(mq, await this.offsetForTimestamp(mq, timestamp));
  }

  /** SEARCH_OFFSET_BY_TIMESTAMP: the offset of the first message stored at or after `timestamp` (ms) (a 4.9 broker: the nearest). */
  offsetForTimestamp(mq: MessageQueue, timestamp: number): Promise<number> {
    this.#checkRunning();
    checkQueue(mq);
    if (!Number.isSafeInteger(timestamp)) throw new MQClientError(-1, `timestamp ${timestamp} must be ms since the epoch`);
    return this.#adminOffset(RC_SEARCH_OFFSET_BY_TIMESTAMP, mq, timestamp);
  }

  // ---------- offsets ----------

  /**
   * Records offsets as committed: the given ones, or after everything handed out so far. The
   * brokers get them with the next periodic write (persistConsumerOffsetInterval) or at shutdown.
   */
  commit(offsets?: Iterable<readonly [MessageQueue, number]>): void {
    this.#checkRunning();
    if (!offsets) return this.#commitAll();
    for (const [mq, offset] of offsets) {
      checkOffset(offset);
      this.#store.updateOffset(this.#assignedState(mq).mq_, offset);
    }
  }

  /** commit(), then writes those offsets to their brokers and resolves once every broker acknowledged them. */
  async commitSync(offsets?: Iterable<readonly [MessageQueue, number]>): Promise<void> {
    const list = offsets && [...offsets];
    this.commit(list);
    const mqs = list ? list.map(([mq]) => this.#nsMq(mq)) : [...this.#queues.values()].map((q) => q.mq_);
    await Promise.all(mqs.map((mq) => this.#store.persist(mq, false)));
  }

  /** The group's committed offset of `mq` (this consumer's, else the broker's); -1 when it has none. */
  async committed(mq: MessageQueue): Promise<number> {
    this.#checkRunning();
    const offset = await this.#store.readOffset(this.#nsMq(mq));
    if (offset === OFFSET_READ_FAILED) throw new MQClientError(-1, `Fetch consume offset from broker exception: could not ask the broker of ${mq.brokerName}`);
    return offset;
  }

  // ---------- internals: state ----------

  #setState(s: ConsumerState): void {
    this.emit('state', (this.#state = s));
  }

  #setMode(mode: 'SUBSCRIBE' | 'ASSIGN'): void {
    if (this.#mode !== 'NONE' && this.#mode !== mode) throw new MQClientError(-1, 'Subscribe and assign are mutually exclusive.');
    this.#mode = mode;
  }

  #checkRunning(): void {
    const s = this.#state;
    if (s !== 'RUNNING') throw new MQClientError(-1, `The consumer is ${s}: ${s === 'CREATE_JUST' ? 'call start() first' : 'create a new LitePullConsumer'}`);
  }

  #assignedState(mq: MessageQueue): QueueState {
    const q = this.#queues.get(mqKey(this.#nsMq(mq)));
    if (!q) {
      throw new MQClientError(-1, `The message queue is not in assigned list${this.#mode === 'SUBSCRIBE' ? ', may be rebalancing' : ''}, message queue: ${JSON.stringify(copyMq(mq))}`);
    }
    return q;
  }

  /** A repeating background task; errors become 'error' events and never escape. */
  #every(ms: number, task: () => unknown): void {
    const timers = this.#timers;
    const i = timers.length;
    const tick = (): void => {
      Promise.resolve()
        .then(task)
        .catch((e: unknown) => this.#emitError(e))
        .finally(() => {
          if (this.#state === 'RUNNING') timers[i] = setTimeout(tick, ms);
        });
    };
    timers[i] = setTimeout(tick, ms);
  }

  #emitError(e: unknown): void {
    if (this.#state !== 'RUNNING') return; // failures caused by shutdown itself are not news
    try {
      this.emit('error', e instanceof Error ? e : new Error(`background task failed: ${e}`));
    } catch {
      // a listener threw: background work must not crash the host
    }
  }

  // ---------- internals: brokers ----------

  #subscribeAddr(mq: MessageQueue, brokerId: number): Promise<string> {
    return this.#instance.subscribeAddr_(mq, brokerId, (e) => this.#emitError(e));
  }

  #adminOffset(code: number, mq: MessageQueue, timestamp?: number): Promise<number> {
    mq = this.#nsMq(mq);
    return this.#instance.masterAddr_(mq).then((addr) => queueOffset(this.#api, addr, code, mq, timestamp));
  }

  // ---------- internals: rebalance ----------

  /** A subscription changed: routes of every subscribed topic, a heartbeat everywhere, a rebalance. */
  async #subscriptionChanged(): Promise<void> {
    await Promise.all([...this.#subscriptions.keys()].map((t) =>
      this.#routes.updateRoute_(t, false, this.#o.mqClientApiTimeout).catch((e: unknown) => this.#emitError(e))));
    await this.#instance.heartbeatAll_((e) => this.#emitError(e));
    await this.#rebalanceSoon();
  }

  /** Runs a rebalance now, or once more after the running one (requests in between are merged). */
  #rebalanceSoon(): Promise<void> {
    if (this.#mode !== 'SUBSCRIBE' || this.#state !== 'RUNNING') return Promise.resolve();
    if (this.#rebalancing) {
      this.#rebalanceAgain = true;
      return this.#rebalancing;
    }
    const run = async (): Promise<void> => {
      do {
        this.#rebalanceAgain = false;
        for (const topic of [...this.#subscriptions.keys()]) {
          try {
            await this.#rebalanceByTopic(topic);
          } catch (e) {
            this.#emitError(e);
          }
        }
      } while (this.#rebalanceAgain && this.#state === 'RUNNING');
    };
    return (this.#rebalancing = run().finally(() => (this.#rebalancing = undefined)));
  }

  /** RebalanceImpl.rebalanceByTopic: this member's share of the topic's queues, applied. */
  async #rebalanceByTopic(topic: string): Promise<void> {
    const ctx = {
      routes_: this.#routes, api_: this.#api, consumerGroup_: this.#o.consumerGroup, clientId_: this.clientId,
      ensureHeartbeat_: (addr: string) => (this.#instance.brokers_.has(addr) ? Promise.resolve() : this.#instance.heartbeat_(addr)),
    };
    const { mqAll, mqDivided } = await rebalanceByTopic(ctx, topic, this.#o.mqClientApiTimeout);
    if (this.#state !== 'RUNNING' || !this.#subscriptions.has(topic)) return;
    if (await this.#updateQueues(topic, mqDivided, true)) {
      const user = (mqs: MessageQueue[]): MessageQueue[] => mqs.map((mq) => this.#userMq(mq));
      this.emit('rebalance', { topic: withoutNamespace(topic, this.#o.namespace), mqAll: user(mqAll), mqDivided: user(mqDivided) });
    }
  }

  /**
   * updateProcessQueueTableInRebalance: drops queues of `topic` no longer wanted (their committed
   * offsets written to the broker first), adds new ones at their start offsets. Resolves whether anything changed.
   */
  async #updateQueues(topic: string, wanted: readonly MessageQueue[], computeStart: boolean): Promise<boolean> {
    const want = new Map(wanted.map((mq) => [mqKey(mq), mq]));
    let changed = false;
    for (const [key, q] of this.#queues) {
      if (q.mq_.topic === topic && !want.has(key)) {
        this.#drop(q, true);
        changed = true;
      }
    }
    const added = await Promise.all([...want].filter(([key]) => !this.#queues.has(key)).map(async ([key, mq]) => {
      let start = -1;
      if (computeStart) {
        this.#store.removeOffset(mq);
        try {
          start = await this.#computePullFromWhere(mq);
        } catch (e) {
          this.#emitError(e);
          return false; // not added: the next rebalance tries again
        }
      }
      if (this.#state !== 'RUNNING' || this.#queues.has(key)) return false;
      const q = newQueueState(mq, start);
      this.#queues.set(key, q);
      pullLoop(this.#pullTask, q).catch((e: unknown) => this.#emitError(e));
      return true;
    }));
    return changed || added.includes(true);
  }

  #applyAssign(): void {
    const topics = new Set([...this.#queues.values()].map((q) => q.mq_.topic).concat(this.#assigned.map((mq) => mq.topic)));
    for (const topic of topics) void this.#updateQueues(topic, this.#assigned.filter((mq) => mq.topic === topic), false);
  }

  #computePullFromWhere(mq: MessageQueue): Promise<number> {
    return computePullFromWhere(this.#store, this.#o, mq, (code, q, ts) => this.#adminOffset(code, q, ts));
  }

  // ---------- internals: pulling ----------

  /** A queue no longer read: pull stopped, its buffer dropped; with `persist` its committed offset goes to the broker. */
  #drop(q: QueueState, persist = false): void {
    this.#reset(q);
    q.dropped_ = true;
    if (this.#queues.get(q.key_) === q) this.#queues.delete(q.key_);
    if (persist) {
      const store = this.#store;
      void store.persist(q.mq_, true, true).catch((e: unknown) => this.#emitError(e)).finally(() => {
        if (!this.#queues.has(q.key_)) store.removeOffset(q.mq_);
      });
    }
  }

  /** Discards what was pulled for `q` and the pull in flight (seek, drop). */
  #reset(q: QueueState): void {
    q.gen_++;
    this.#cache.discard_(q);
    q.pull_?.abort();
    q.wake_?.();
  }

  /** The oldest current batch; waits up to `timeoutMs` for one. undefined on timeout or shutdown. */
  #take(timeoutMs: number, signal?: AbortSignal): Promise<ConsumeRequest | undefined> {
    return this.#cache.take_(timeoutMs, () => this.#state === 'RUNNING', signal);
  }

  #commitAll(): void {
    for (const q of this.#queues.values()) if (q.consumeOffset_ >= 0 && !q.dropped_) this.#store.updateOffset(q.mq_, q.consumeOffset_);
  }

  /** DefaultLitePullConsumerImpl.maybeAutoCommit: commitAll once per autoCommitIntervalMillis, at a poll. */
  #maybeAutoCommit(): void {
    const now = Date.now();
    if (now >= this.#nextAutoCommit) {
      this.#commitAll();
      this.#nextAutoCommit = now + this.#o.autoCommitIntervalMillis;
    }
  }

  /** The periodic persist: committed offsets the brokers do not have yet, oneway. */
  async #persistAll(onlyChanged: boolean): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => this.#store.persist(q.mq_, true, onlyChanged).catch((e: unknown) => this.#emitError(e))));
  }
}
