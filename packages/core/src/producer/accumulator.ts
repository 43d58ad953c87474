// Automatic batching (RocketMQ 5.x autoBatch, ProduceAccumulator). Every send keeps its own send
// loop: route, queue choice, budget, retries. Only its attempts are pooled: attempts to the same
// broker, topic and WAIT that start in one task (or within batchMaxDelayMs) leave as one
// SEND_BATCH_MESSAGE (3.9), and each member gets its own response cut from the batch's: the
// broker answers a batch with the records' offset ids joined by ',' and the first record's
// queueOffset, the records stored in order at consecutive offsets (2.3, 3.3).
import { AbortError, RemotingTimeoutError } from '../errors.js';
import { DEFAULT_MAX_BATCH_MESSAGES, encodeBatchBody, type WireMessage } from '../message/index.js';
import { isReservedPropertyName } from '../message/constants.js';
import type { RemotingClient } from '../remoting/client.js';
import { RC_SEND_BATCH_MESSAGE, RS_MESSAGE_ILLEGAL, RS_REQUEST_CODE_NOT_SUPPORTED } from '../remoting/codes.js';
import { createRequest, type RemotingCommand } from '../remoting/command.js';
import { DEFAULT_BATCH_MAX_BYTES, DEFAULT_BATCH_MAX_DELAY_MS, DEFAULT_TOTAL_BATCH_MAX_BYTES } from './defaults.js';
import { InFlightLimiter } from './in-flight.js';
import { resolveNumbers, type NumberOptions, type ResolvedProducerOptions } from './options.js';

type Options = Required<Pick<ResolvedProducerOptions,
  'batchMaxDelayMs' | 'batchMaxBytes' | 'totalBatchMaxBytes' | 'asyncBackpressure' | 'compressMsgBodyOverHowmuch' | 'maxMessageSize'>>;

/** The autoBatch options: [default, minimum, maximum] (5.x's bounds: at most 30 s and 2 MiB). */
const NUMBERS: NumberOptions = {
  batchMaxDelayMs: [DEFAULT_BATCH_MAX_DELAY_MS, 0, 30_000],
  batchMaxBytes: [DEFAULT_BATCH_MAX_BYTES, 1, 2_097_152],
  totalBatchMaxBytes: [DEFAULT_TOTAL_BATCH_MAX_BYTES, 1],
};

/**
 * ProducerOptions.autoBatch: `new Producer({ transport, autoBatch })`. The Producer calls it once,
 * with its remoting client and its resolved options (whose batch options it fills in and checks).
 */
export function autoBatch(client: RemotingClient, o: ResolvedProducerOptions): ProduceAccumulator {
  resolveNumbers(o, NUMBERS);
  return new ProduceAccumulator(client, o as Options);
}
export type AutoBatch = typeof autoBatch;

/** One send's attempt waiting in (or sent with) a batch. */
interface Member {
  req_: RemotingCommand;
  wire_: WireMessage;
  /** Deadline (Date.now time) and budget of this attempt. */
  end_: number;
  ms_: number;
  signal_: AbortSignal | undefined;
  /** Settles the attempt; later calls are no-ops (a member may time out before its batch answers). */
  done_(res: RemotingCommand | Error): void;
  settled_?: boolean;
}

interface Batch {
  addr_: string;
  members_: Member[];
  /** Body bytes (batchMaxBytes) and an upper bound of the encoded batch (maxMessageSize). */
  bytes_: number;
  size_: number;
  /** With batchMaxDelayMs: when its timer fires (Date.now time); 0 for a batch leaving at the end of the task. */
  due_: number;
  timer_?: ReturnType<typeof setTimeout>;
  sent_?: boolean;
}

/** Properties a batched message may carry besides user properties: anything else (delay, timer, transaction, reply…) goes alone. */
const PLAIN = /^(TAGS|KEYS|UNIQ_KEY|WAIT)$/;
/**
 * A member's property string is stored with the batch's CLUSTER and WAIT appended (3.9). A broker
 * refuses a record whose stored string passes 32767 bytes, and the embedded one only after storing
 * the records before it, which the member-by-member retry would then store twice. Long property
 * strings (rare) therefore go alone.
 */
const MAX_PROPS_CHARS = 8192;

export class ProduceAccumulator {
  readonly #client: RemotingClient;
  readonly #o: Options;
  readonly #limiter: InFlightLimiter;
  /** Batches still taking members, by broker address, topic and WAIT. */
  readonly #open = new Map<string, Batch>();
  #closed = false;

  constructor(client: RemotingClient, o: Options) {
    this.#client = client;
    this.#o = o;
    this.#limiter = new InFlightLimiter(Infinity, o.totalBatchMaxBytes, 'batchable sends', 'totalBatchMaxBytes');
  }

  /**
   * For a message that may be batched: a promise of the permit for its body bytes (a SYNC send
   * waits for room within `ms`; an ASYNC one waits or is refused as asyncBackpressure says).
   * Undefined for one that goes alone: a body of over batchMaxBytes or one that would be
   * compressed, a %RETRY% topic, or a reserved property other than TAGS, KEYS, UNIQ_KEY, WAIT.
   */
  hold_(w: WireMessage, async: boolean, ms: number, signal?: AbortSignal): Promise<() => void> | undefined {
    const n = w.body.length;
    const o = this.#o;
    if (n > o.batchMaxBytes || n >= o.compressMsgBodyOverHowmuch || w.topic.startsWith('%RETRY%')) return;
    for (const k in w.properties) if (isReservedPropertyName(k) && !PLAIN.test(k)) return;
    return this.#limiter.acquire(n, async ? o.asyncBackpressure : 'wait', ms, signal);
  }

  /** One attempt of a held send (its SEND_MESSAGE_V2 request `req`): joins the open batch for its broker, topic and WAIT. */
  invoke_(addr: string, req: RemotingCommand, ms: number, w: WireMessage, signal?: AbortSignal): Promise<RemotingCommand> {
    const props = req.extFields!.i!;
    if (props.length > MAX_PROPS_CHARS || this.#closed) return this.#client.invoke(addr, req, ms, signal);
    const o = this.#o;
    const key = `${addr} ${w.topic} ${w.properties.WAIT}`;
    const bytes = w.body.length;
    const size = 22 + bytes + 3 * props.length; // UTF-8 takes at most 3 bytes per UTF-16 unit
    const now = Date.now();
    let b = this.#open.get(key);
    if (b && (b.bytes_ + bytes > o.batchMaxBytes || b.size_ + size > o.maxMessageSize || b.members_.length >= DEFAULT_MAX_BATCH_MESSAGES)) {
      this.#send(key, b);
      b = undefined;
    }
    if (!b) {
      const batch: Batch = (b = { addr_: addr, members_: [], bytes_: 0, size_: 0, due_: 0 });
      this.#open.set(key, batch);
      // Default: at the end of the current task, so a lone send waits no timer and sends started
      // together (a burst, or the continuations of one read's responses) leave together.
      if (o.batchMaxDelayMs) this.#due(key, batch, now + o.batchMaxDelayMs);
      else queueMicrotask(() => this.#send(key, batch));
    }
    const end = now + ms;
    // A batch waiting for company leaves by its members' deadlines at the latest.
    if (end < b.due_) this.#due(key, b, end);
    b.bytes_ += bytes;
    b.size_ += size;
    return new Promise((resolve, reject) => {
      const m: Member = {
        req_: req, wire_: w, end_: end, ms_: ms, signal_: signal,
        done_: (r) => {
          m.settled_ = true;
          if (r instanceof Error) reject(r);
          else resolve(r);
        },
      };
      b.members_.push(m);
    });
  }

  /** Shutdown: every open batch leaves now, and later attempts go alone (the client refuses them once closed). */
  close_(): void {
    this.#closed = true;
    for (const [key, b] of this.#open) this.#send(key, b);
  }

  /** (Re)arms the timer of a batch that waits for company. */
  #due(key: string, b: Batch, at: number): void {
    clearTimeout(b.timer_);
    b.due_ = at;
    // A timer may fire a millisecond early: a member whose deadline it is for counts as out of time.
    b.timer_ = setTimeout(() => this.#send(key, b, Math.max(Date.now(), at)), at - Date.now());
  }

  #send(key: string, b: Batch, now = Date.now()): void {
    if (b.sent_) return; // flushed early because it was full
    b.sent_ = true;
    clearTimeout(b.timer_);
    if (this.#open.get(key) === b) this.#open.delete(key);
    const addr = b.addr_;
    // A member aborted or out of time before the batch is written is left out; after, only its caller stops waiting.
    const members = b.members_.filter((m) => {
      if (m.signal_?.aborted) m.done_(new AbortError());
      else if (m.end_ <= now) m.done_(new RemotingTimeoutError(addr, m.ms_));
      return !m.settled_;
    });
    if (members.length < 2) return members.forEach((m) => this.#alone(addr, m));
    const first = members[0]!;
    const h = first.req_.extFields!;
    // The pseudo-message carries only WAIT and sysFlag 0; the batch header is the members' header otherwise (3.9).
    const req = createRequest(RC_SEND_BATCH_MESSAGE, { ...h, f: '0', g: `${Date.now()}`, h: '0', i: `WAIT\u0001${first.wire_.properties.WAIT}`, m: 'true' }, {
      body: encodeBatchBody(members.map((m) => m.wire_), members.map((m) => m.req_.extFields!.i!)),
      serializeType: first.req_.serializeType,
    });
    // The request waits as long as its longest budget; a member with less time gives up at its own deadline.
    let end = 0;
    for (const m of members) end = Math.max(end, m.end_);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expire = (): void => {
      const t = Date.now();
      let next = end;
      for (const m of members) {
        if (m.settled_) continue;
        if (m.end_ <= t) m.done_(new RemotingTimeoutError(addr, m.ms_));
        else next = Math.min(next, m.end_);
      }
      timer = next < end ? setTimeout(expire, next - t) : undefined;
    };
    expire();
    this.#client.invoke(addr, req, end - Date.now()).then(
      (res) => {
        clearTimeout(timer);
        const code = res.code;
        // Refused as a batch (too many records or bytes for this broker or gateway, a record it
        // will not take, no batch support): nothing was stored, so each member goes alone and
        // gets the answer to its own message.
        if (code === RS_MESSAGE_ILLEGAL || code === RS_REQUEST_CODE_NOT_SUPPORTED) {
          for (const m of members) if (!m.settled_) this.#alone(addr, m);
          return;
        }
        const ext = res.extFields ?? {};
        const ids = ext.msgId?.split(',');
        // Any other error response goes to every member, whose send loop retries or fails it as for a single message.
        // A broker that answers with other than one id per record (5.x batch consume queues) gives
        // every member the whole answer, as 5.x's splitSendResults does.
        members.forEach((m, i) => m.done_(ids?.length !== members.length ? res
          : { ...res, extFields: { ...ext, msgId: ids[i]!, queueOffset: `${+ext.queueOffset! + i}` } }));
      },
      (e: Error) => {
        clearTimeout(timer);
        for (const m of members) m.done_(e);
      },
    );
  }

  /** The member's own request, alone, within what is left of its budget. */
  #alone(addr: string, m: Member): void {
    const left = m.end_ - Date.now();
    if (left <= 0) return m.done_(new RemotingTimeoutError(addr, m.ms_));
    this.#client.invoke(addr, m.req_, left, m.signal_).then(m.done_, m.done_);
  }
}
