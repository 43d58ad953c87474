// One queue's pull task (DefaultLitePullConsumerImpl.PullTaskImpl): flow control, the next offset,
// one long-polling PULL_MESSAGE, its messages into the cache; again until the queue is dropped.
import { AbortError, MQBrokerError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import { PullSysFlag, pullMessage, type ClientApi } from './client-api.js';
import { RS_FLOW_CONTROL } from './codes.js';
import type { ConsumeRequestCache } from './consume-cache.js';
import type { ResolvedConsumerOptions } from './options.js';
import { pause, type QueueState } from './process-queue.js';
import { processPullResult } from './pull-result.js';
import type { SubscriptionData } from './subscription.js';

/** What a pull task needs from its consumer. */
export interface PullTaskContext {
  readonly options_: ResolvedConsumerOptions;
  readonly api_: ClientApi;
  readonly cache_: ConsumeRequestCache;
  running_(): boolean;
  subscriptionOf_(topic: string): SubscriptionData;
  /** The address to pull `mq` from: broker `brokerId` of its set if known, else the master. */
  brokerAddr_(mq: MessageQueue, brokerId: number): Promise<string>;
  /** Where a queue without a pull position starts (committed offset, else consumeFromWhere). */
  computePullFromWhere_(mq: MessageQueue): Promise<number>;
  emitError_(e: unknown): void;
}

/** Java's waits of a pull task. */
const enum Delay { PAUSE = 1000, FLOW_CONTROL = 50, BROKER_FLOW_CONTROL = 20, ON_EXCEPTION = 3000 }
const MIB = 1024 * 1024;
/** Lite pull: long polling, the subscription sent with every pull (the broker filters without a heartbeat), the lite flag. */
const PULL_SYS_FLAG = PullSysFlag.SUSPEND | PullSysFlag.SUBSCRIPTION | PullSysFlag.LITE_PULL;

export async function pullLoop(ctx: PullTaskContext, q: QueueState): Promise<void> {
  while (ctx.running_() && !q.dropped_) {
    const delay = await pullOnce(ctx, q);
    if (delay > 0 && ctx.running_() && !q.dropped_) await pause(q, delay, delay === Delay.FLOW_CONTROL);
  }
}

/** One run: resolves the ms to wait before the next (0: go on at once, as after a long poll). */
async function pullOnce(ctx: PullTaskContext, q: QueueState): Promise<number> {
  const o = ctx.options_;
  if (q.paused_) return Delay.PAUSE;
  if (ctx.cache_.buffered_ > o.pullThresholdForAll || q.count_ > o.pullThresholdForQueue || q.bytes_ > o.pullThresholdSizeForQueue * MIB) {
    return Delay.FLOW_CONTROL;
  }
  const gen = q.gen_;
  // A seek or drop since this run began: what it brings is discarded.
  const stale = (): boolean => gen !== q.gen_ || q.dropped_ || !ctx.running_();
  let offset: number;
  try {
    offset = await nextPullOffset(ctx, q);
  } catch (e) {
    ctx.emitError_(e);
    return Delay.ON_EXCEPTION;
  }
  if (stale()) return 0;
  const ctl = (q.pull_ = new AbortController());
  try {
    const mq = q.mq_;
    const sub = ctx.subscriptionOf_(mq.topic);
    const addr = await ctx.brokerAddr_(mq, q.brokerId_);
    const result = await pullMessage(ctx.api_, addr, {
      consumerGroup: o.consumerGroup, topic: mq.topic, queueId: mq.queueId, queueOffset: offset, maxMsgNums: o.pullBatchSize,
      sysFlag: PULL_SYS_FLAG, commitOffset: 0, suspendTimeoutMillis: o.brokerSuspendMaxTimeMillis, subscription: sub.subString,
      subVersion: 0, expressionType: sub.expressionType, bname: mq.brokerName,
    }, o.consumerTimeoutMillisWhenSuspend, ctl.signal);
    q.brokerId_ = result.suggestWhichBrokerId;
    const msgs = await processPullResult(mq, result, sub, ctx.emitError_);
    if (stale()) return 0;
    if (msgs.length) ctx.cache_.push_(q, msgs);
    // Nothing to hand out up to nextBeginOffset (filtered out, or the offset moved) and nothing
    // held: the consumed position follows, so a commit does not make a restart read it all again.
    else if (!q.count_ && result.pullStatus !== 'NO_NEW_MSG') q.consumeOffset_ = result.nextBeginOffset;
    if (q.seekOffset_ < 0) q.pullOffset_ = result.nextBeginOffset;
    return 0;
  } catch (e) {
    if (e instanceof AbortError || stale()) return 0;
    ctx.emitError_(e);
    return e instanceof MQBrokerError && e.responseCode === RS_FLOW_CONTROL ? Delay.BROKER_FLOW_CONTROL : o.pullTimeDelayMillsWhenException;
  } finally {
    if (q.pull_ === ctl) q.pull_ = undefined;
  }
}

/** The seek offset, else where the last pull ended, else the start computed from the committed offset. */
async function nextPullOffset(ctx: PullTaskContext, q: QueueState): Promise<number> {
  if (q.seekOffset_ >= 0) {
    q.pullOffset_ = q.consumeOffset_ = q.seekOffset_;
    q.seekOffset_ = -1;
  } else if (q.pullOffset_ < 0) {
    const gen = q.gen_;
    const start = await ctx.computePullFromWhere_(q.mq_);
    if (gen === q.gen_ && q.pullOffset_ < 0) {
      q.pullOffset_ = start;
      if (q.consumeOffset_ < 0) q.consumeOffset_ = start;
    }
  }
  return q.pullOffset_;
}
