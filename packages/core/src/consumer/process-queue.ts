// What the consumer keeps per assigned queue (AssignedMessageQueue's MessageQueueState + ProcessQueue),
// and the buffer of pulled batches waiting for poll() (DefaultLitePullConsumerImpl.consumeRequestCache).
import type { MessageExt, MessageQueue } from '../message/index.js';
import { mqKey } from './offset-store.js';

/** Fields end in `_`: internal state, which the bundle shortens. */
export interface QueueState {
  readonly mq_: MessageQueue;
  readonly key_: string;
  /** Next offset to pull; -1 = not known yet (computed from the committed offset / consumeFromWhere). */
  pullOffset_: number;
  /** Offset after the last message handed out (what a commit stores); -1 = none yet. */
  consumeOffset_: number;
  /** Set by seek(): the next pull starts there. -1 = none. */
  seekOffset_: number;
  paused_: boolean;
  /** No longer assigned (rebalanced away, unassigned, shut down). */
  dropped_: boolean;
  /** Bumped by seek and drop: what pulls started before bring is discarded. */
  gen_: number;
  /** Pulled and not yet handed out (buffered, or held by an iterator): flow control. */
  count_: number;
  bytes_: number;
  /** Broker id the last pull suggested (0 = master). */
  brokerId_: number;
  /** The pull in flight. */
  pull_?: AbortController;
  /** Ends the queue's current pause early (resume, seek, drop; a poll that frees room when `drainWakes_`). */
  wake_?: () => void;
  drainWakes_?: boolean;
}

export function newQueueState(mq: MessageQueue, pullOffset = -1): QueueState {
  const copy = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId };
  return {
    mq_: copy, key_: mqKey(copy), pullOffset_: pullOffset, consumeOffset_: pullOffset, seekOffset_: -1, paused_: false, dropped_: false,
    gen_: 0, count_: 0, bytes_: 0, brokerId_: 0,
  };
}

/** One pulled batch of one queue (ConsumeRequest); `gen_` is the queue's gen_ when it was pulled. */
export interface ConsumeRequest {
  q_: QueueState;
  gen_: number;
  msgs_: MessageExt[];
}

/** Whether a batch still belongs to its queue (not rebalanced away, not before a seek). */
export const isCurrent = (r: ConsumeRequest): boolean => r.gen_ === r.q_.gen_ && !r.q_.dropped_;

export const bodyBytes = (msgs: readonly MessageExt[]): number => msgs.reduce((n, m) => n + m.body.length, 0);

/** Waits `ms`, or less when `q.wake_` is called; `drainWakes`: a poll that frees room ends it too. */
export function pause(q: QueueState, ms: number, drainWakes = false): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      if (q.wake_ === done) q.wake_ = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    q.wake_ = done;
    q.drainWakes_ = drainWakes;
  });
}
