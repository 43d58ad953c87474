// The buffer between the pull tasks and poll() (DefaultLitePullConsumerImpl.consumeRequestCache),
// counting per queue what is pulled and not yet handed out (ProcessQueue's msgCount / msgSize).
import { AbortError } from '../errors.js';
import type { MessageExt } from '../message/index.js';
import { bodyBytes, isCurrent, type ConsumeRequest, type QueueState } from './process-queue.js';

export class ConsumeRequestCache {
  #list: ConsumeRequest[] = [];
  /** Takes waiting for a batch. */
  readonly #waiters = new Set<() => void>();
  readonly #onDrain: () => void;
  /** Messages pulled and not yet handed out, over all queues. */
  buffered_ = 0;

  /** `onDrain`: called when handed-out messages free room (flow-controlled pull tasks go on). */
  constructor(onDrain: () => void) {
    this.#onDrain = onDrain;
  }

  push_(q: QueueState, msgs: MessageExt[]): void {
    q.count_ += msgs.length;
    q.bytes_ += bodyBytes(msgs);
    this.buffered_ += msgs.length;
    this.#list.push({ q_: q, gen_: q.gen_, msgs_: msgs });
    this.wakeAll_();
  }

  /** The oldest current batch; waits up to `timeoutMs` for one. undefined on timeout or once `open()` turns false. */
  async take_(timeoutMs: number, open: () => boolean, signal?: AbortSignal): Promise<ConsumeRequest | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      let r: ConsumeRequest | undefined;
      while ((r = this.#list.shift()) && !isCurrent(r));
      if (r) return r;
      const left = deadline - Date.now();
      if (left <= 0 || !open()) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        signal?.addEventListener('abort', done, { once: true });
        this.#waiters.add(done);
      });
    }
  }

  /** msgs_[from, to) of a batch were handed out: the queue's consumed position moves past them. */
  consumed_(r: ConsumeRequest, from: number, to: number): void {
    if (!isCurrent(r) || to <= from) return;
    const q = r.q_;
    const n = to - from;
    q.count_ -= n;
    q.bytes_ -= bodyBytes(r.msgs_.slice(from, to));
    this.buffered_ -= n;
    q.consumeOffset_ = r.msgs_[to - 1]!.queueOffset + 1;
    this.#onDrain();
  }

  /** A taken batch's messages from `from` on go back to the front, to be handed out next. */
  putBack_(r: ConsumeRequest, from: number): void {
    if (from < r.msgs_.length && isCurrent(r)) this.#list.unshift({ ...r, msgs_: r.msgs_.slice(from) });
  }

  /** Forgets what was pulled for `q` (seek, drop). */
  discard_(q: QueueState): void {
    this.#list = this.#list.filter((r) => r.q_ !== q);
    this.buffered_ -= q.count_;
    q.count_ = q.bytes_ = 0;
  }

  /** Waiting takes look again (a batch came, or the consumer stops). */
  wakeAll_(): void {
    for (const w of this.#waiters) w();
  }
}
