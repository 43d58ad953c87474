// PULL_MESSAGE (11) with long polling: section 10.1.
import { ResponseCode, createResponse, inJavaOrder, type RemotingCommand } from '@rocketmq-edge/core/internal';
import type { Connection } from '../remoting-server.js';
import type { GetResult, GetStatus } from '../store/message-store.js';
import type { BrokerContext } from './context.js';
import { parseTagExpression } from './consumer-manager.js';
import { PERM_READ } from './topic-config.js';

const SYS_COMMIT_OFFSET = 0x1;
const SYS_SUSPEND = 0x2;
const SYS_SUBSCRIPTION = 0x4;

export interface PullOptions {
  /** Upper bound for suspendTimeoutMillis (default 30 s). */
  maxSuspendMs: number;
  /** Parked pulls per connection (default 4096); more are answered at once. */
  maxParkedPerConnection: number;
  /**
   * PullRequestHoldService's check (4.9.8: every 5 s): a parked pull whose queue has grown is
   * answered even if what arrived does not match its filter (PULL_RETRY_IMMEDIATELY, with the
   * offset to go on from). A matching arrival answers at once.
   */
  holdCheckIntervalMs: number;
}

interface Parked {
  key: string;
  conn: Connection;
  req: RemotingCommand;
  timer: NodeJS.Timeout;
  done: boolean;
  finish: (resp: RemotingCommand | undefined) => void;
}

function num(v: string | undefined, fallback: number): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

export function responseCodeFor(status: GetStatus, requestedOffset: number): number {
  switch (status) {
    case 'FOUND':
      return ResponseCode.SUCCESS;
    case 'MESSAGE_WAS_REMOVING':
    case 'NO_MATCHED_MESSAGE':
      return ResponseCode.PULL_RETRY_IMMEDIATELY;
    case 'NO_MATCHED_LOGIC_QUEUE':
    case 'NO_MESSAGE_IN_QUEUE':
      return requestedOffset !== 0 ? ResponseCode.PULL_OFFSET_MOVED : ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_FOUND_NULL':
    case 'OFFSET_OVERFLOW_ONE':
      return ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_OVERFLOW_BADLY':
    case 'OFFSET_TOO_SMALL':
      return ResponseCode.PULL_OFFSET_MOVED;
  }
}

export class PullService {
  private readonly parked = new Map<string, Set<Parked>>();
  private readonly perConn = new Map<Connection, Set<Parked>>();
  private unsubscribe: () => void;
  private readonly checker: NodeJS.Timeout;

  constructor(private readonly ctx: BrokerContext, private readonly opts: PullOptions) {
    this.unsubscribe = ctx.store.onArrival((topic, queueId) => this.wake(`${topic}@${queueId}`));
    this.checker = setInterval(() => this.checkHeld(), opts.holdCheckIntervalMs);
    this.checker.unref();
  }

  processor = (req: RemotingCommand, conn: Connection): RemotingCommand | Promise<RemotingCommand | undefined> => {
    const h = req.extFields ?? {};
    const topic = h.topic ?? '';
    const queueId = num(h.queueId, -1);
    const sysFlag = num(h.sysFlag, 0);
    const tc = this.ctx.topics.get(topic);
    if (!tc) return createResponse(req, ResponseCode.TOPIC_NOT_EXIST, `topic[${topic}] not exist, apply first please!`);
    if (!(tc.perm & PERM_READ)) return createResponse(req, ResponseCode.NO_PERMISSION, `the topic[${topic}] pulling message is forbidden`);
    if (queueId < 0 || queueId >= tc.readQueueNums) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, `queueId[${queueId}] is illegal, topic:[${topic}] topicConfig.readQueueNums:[${tc.readQueueNums}] consumer:[${conn.remoteAddr}]`);
    }
    if (sysFlag & SYS_COMMIT_OFFSET && h.consumerGroup) {
      const commit = num(h.commitOffset, -1);
      if (commit >= 0) this.ctx.offsets.set(h.consumerGroup, topic, queueId, commit);
    }
    const first = this.run(req);
    if (first.code !== ResponseCode.PULL_NOT_FOUND || !(sysFlag & SYS_SUSPEND)) return first;
    const hold = Math.min(num(h.suspendTimeoutMillis, 0), this.opts.maxSuspendMs);
    if (hold <= 0) return first;
    let mine = this.perConn.get(conn);
    if (mine && mine.size >= this.opts.maxParkedPerConnection) return first;
    return new Promise<RemotingCommand | undefined>((resolve) => {
      const key = `${topic}@${queueId}`;
      const p: Parked = {
        key,
        conn,
        req,
        done: false,
        timer: setTimeout(() => this.finish(p, this.run(req)), hold),
        finish: resolve,
      };
      p.timer.unref?.();
      let set = this.parked.get(key);
      if (!set) this.parked.set(key, (set = new Set()));
      set.add(p);
      if (!mine) {
        this.perConn.set(conn, (mine = new Set()));
        // A parked pull dies with its connection: nothing is answered.
        conn.onClose(() => {
          for (const q of this.perConn.get(conn) ?? []) this.finish(q, undefined);
          this.perConn.delete(conn);
        });
      }
      mine.add(p);
    });
  };

  private finish(p: Parked, resp: RemotingCommand | undefined): void {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    const set = this.parked.get(p.key);
    set?.delete(p);
    if (set && set.size === 0) this.parked.delete(p.key);
    this.perConn.get(p.conn)?.delete(p);
    p.finish(p.conn.closed ? undefined : resp);
  }

  /** A message arrived on the queue: parked pulls it matches are answered (the others wait for the check or their time). */
  private wake(key: string): void {
    const set = this.parked.get(key);
    if (!set) return;
    // Answer after the current write completes (the send that triggered this is still on the stack).
    queueMicrotask(() => {
      for (const p of [...set]) {
        const resp = this.run(p.req);
        if (resp.code === ResponseCode.SUCCESS) this.finish(p, resp);
      }
    });
  }

  /** The periodic check: every parked pull whose queue holds anything past its offset is answered. */
  private checkHeld(): void {
    for (const set of this.parked.values()) {
      for (const p of [...set]) {
        const resp = this.run(p.req);
        if (resp.code !== ResponseCode.PULL_NOT_FOUND) this.finish(p, resp);
      }
    }
  }

  /** One lookup, answered without suspension. */
  run(req: RemotingCommand): RemotingCommand {
    const h = req.extFields ?? {};
    const topic = h.topic ?? '';
    const queueId = num(h.queueId, 0);
    const offset = num(h.queueOffset, 0);
    const sysFlag = num(h.sysFlag, 0);
    const group = h.consumerGroup ?? '';
    let codes: Set<number> | undefined;
    const type = (sysFlag & SYS_SUBSCRIPTION ? h.expressionType : undefined) ?? 'TAG';
    if (sysFlag & SYS_SUBSCRIPTION) {
      if (type.toUpperCase() === 'TAG') codes = parseTagExpression(h.subscription);
    } else {
      const sub = this.ctx.consumers.subscription(group, topic);
      if (sub && sub.expressionType.toUpperCase() === 'TAG') codes = sub.codeSet;
    }
    const r: GetResult = this.ctx.store.getMessages(topic, queueId, offset, num(h.maxMsgNums, 32), codes ? (tc) => codes!.has(tc) : undefined);
    const code = responseCodeFor(r.status, offset);
    const header = {
      suggestWhichBrokerId: '0',
      nextBeginOffset: String(r.nextBeginOffset),
      minOffset: String(r.minOffset),
      maxOffset: String(r.maxOffset),
    };
    const ext = req.serializeType === 'ROCKETMQ' ? header : inJavaOrder(header);
    const resp = createResponse(req, code, r.status, ext);
    if (code === ResponseCode.SUCCESS) resp.body = r.records.length === 1 ? r.records[0]! : Buffer.concat(r.records);
    return resp;
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.checker);
    for (const set of this.parked.values()) for (const p of [...set]) this.finish(p, undefined);
  }
}
