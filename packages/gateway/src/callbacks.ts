// Producers that need the broker to call them back (transaction check-back, request-reply), for one
// client session. A 4.9.8 broker registers a producer per (group, connection) from HEART_BEAT and
// closes a connection 120 s after a group's last heartbeat on it; it calls a producer back over
// the connection registered for its group (check-back) or client id (reply push). So producer
// heartbeats never travel over the shared pooled connections: the gateway answers them itself and
// records them, until the session sends a half message, a request or an END_TRANSACTION. From then
// on the session has its own connection to each broker it heartbeated (the recorded heartbeats
// written first), its heartbeats, unregisters and END_TRANSACTIONs go there, and what the broker
// sends there is relayed to this client only when it is this client's to see.
import {
  MessageConst,
  RequestCode,
  ResponseCode,
  createResponse,
  decodeOffsetMsgId,
  decodeProperties,
  decodeStoredMessages,
  isOneway,
  isSystemTopic,
  GATEWAY_DENIED,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { signRequest, type AclCredentials } from './acl.js';
import type { Principal } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import type { GatewayLimits } from './options.js';
import { ClientIdOwners, ProducerRegistration, type ClientIdHolder } from './producer-registry.js';
import type { Link, LinkScope, Relay, RelayEntry } from './relay.js';
import { ReplyRouting } from './reply-routing.js';
import type { CheckedRequest, Refusal } from './schema.js';
import { TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE, TransactionTickets } from './transaction-tickets.js';

/** Where a request goes: the shared connection, the session's own one, or nowhere (the gateway answers SUCCESS). */
export type Via = 'shared' | 'own' | 'answered';

export interface CallbackHost {
  readonly id: number;
  principal(): Principal;
  /** The session's own upstream connections (created on first use). */
  ownLinks(): LinkScope & { aliases: Map<string, string> };
  /** Sends a (broker-initiated) request frame to the client, enveloped for `alias`. */
  toClient(alias: string, frame: Uint8Array, from: number, to: number, cmd: RemotingCommand): void;
  /** Closes the session: a newer connection of its token took its client id over. */
  evict(why: string): void;
}

export interface CallbackDeps {
  relay: Relay;
  /** The gateway's ACL credentials: the heartbeats it writes itself are signed like relayed requests. */
  acl?: AclCredentials;
  limits: GatewayLimits;
  owners: ClientIdOwners;
  metrics: GatewayMetrics;
  log: { debug(obj: object, msg?: string): void };
}

const SEND_CODES: ReadonlySet<number> = new Set([RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE]);
const REPLY_CODES: ReadonlySet<number> = new Set([RequestCode.SEND_REPLY_MESSAGE, RequestCode.SEND_REPLY_MESSAGE_V2]);
const REPLY_TYPE = 'reply';

const denied = (reason: Refusal['reason'], remark: string, code: number = ResponseCode.NO_PERMISSION): Refusal =>
  ({ code, reason, remark: code === ResponseCode.NO_PERMISSION ? `${GATEWAY_DENIED} ${remark}` : remark });

/** A half message's send, remembered until its response: the END_TRANSACTION ticket is made from both. */
export interface HalfSend { group: string; msgId: string }

export class ProducerCallbacks implements ClientIdHolder {
  readonly registration = new ProducerRegistration();
  readonly tickets = new TransactionTickets();
  readonly replies = new ReplyRouting<Link>();
  /** Set by the first half message, request or END_TRANSACTION: the broker may call this client from then on. */
  needsCallbacks = false;
  /** The recorded heartbeats on newly opened own connections, until the brokers answer them. */
  private registering: Promise<void> | undefined;

  constructor(private readonly host: CallbackHost, private readonly deps: CallbackDeps) {}

  get sub(): string {
    return this.host.principal().sub;
  }

  evict(why: string): void {
    this.host.evict(why);
  }

  /**
   * Decides where a producer request for broker `key` (alias `target`) goes, recording what it
   * registers or opens; a promise when the request must wait for the session's own connections
   * to be registered first (a request whose reply could otherwise arrive before them).
   */
  route(target: string, key: string, req: CheckedRequest, half?: (h: HalfSend) => void): Via | Refusal | Promise<Via | Refusal> {
    const cmd = req.cmd;
    const ext = cmd.extFields ?? {};
    switch (cmd.code) {
      case RequestCode.HEART_BEAT: return this.heartbeat(target, key, req);
      case RequestCode.UNREGISTER_CLIENT: return this.unregister(key, ext);
      case RequestCode.END_TRANSACTION: return this.endTransaction(key, ext);
    }
    if (REPLY_CODES.has(cmd.code)) {
      const props = decodeProperties(ext.i ?? ext.properties ?? '');
      if (props[MessageConst.MSG_TYPE] !== REPLY_TYPE) {
        return denied('callback_refused', `request code ${cmd.code} sends a reply: the message needs property MSG_TYPE=reply (build it with createReplyMessage)`, ResponseCode.MESSAGE_ILLEGAL);
      }
      return 'shared';
    }
    if (!SEND_CODES.has(cmd.code)) return 'shared';
    const raw = ext.i ?? ext.properties ?? '';
    // Most sends are neither: no property parse on the hot path.
    if (!raw.includes(MessageConst.TRAN_MSG) && !raw.includes(MessageConst.REPLY_TO_CLIENT)) return 'shared';
    const props = decodeProperties(raw);
    const group = ext.a ?? ext.producerGroup ?? '';
    if (props[MessageConst.TRAN_MSG]?.toLowerCase() === 'true') {
      // The broker checks back on connections registered for PGROUP. The group need not be
      // registered yet: a producer heartbeats a broker right after its first exchange with it
      // (which may be this send), and what is relayed to it later is checked then (group, topic).
      if (props[MessageConst.PGROUP] !== group) {
        return denied('callback_refused', `a transaction's half message needs property PGROUP equal to its producer group ("${group.slice(0, 64)}")`);
      }
      half?.({ group, msgId: props[MessageConst.UNIQ_KEY] ?? '' });
      return this.callbacksNeeded('shared');
    }
    const replyTo = props[MessageConst.REPLY_TO_CLIENT];
    const correlation = props[MessageConst.CORRELATION_ID];
    if (replyTo === undefined || props[MessageConst.MSG_TYPE] === REPLY_TYPE) return 'shared';
    if (!this.registration.hasClient(replyTo)) {
      return denied('callback_refused', `a request's REPLY_TO_CLIENT must be the client id this connection registered by HEART_BEAT, not "${replyTo.slice(0, 64)}"`);
    }
    if (!correlation) return denied('callback_refused', 'a request needs property CORRELATION_ID', ResponseCode.MESSAGE_ILLEGAL);
    if (!this.replies.expect(correlation, props[MessageConst.TTL])) {
      return denied('callback_refused', `[TOO_MANY_REQUESTS] ${this.replies.pendingRequests} requests on this connection are waiting for replies; wait for replies or timeouts`, ResponseCode.SYSTEM_BUSY);
    }
    const via = this.callbacksNeeded('shared');
    if (typeof via === 'object' && 'remark' in via) this.replies.forget(correlation);
    return via;
  }

  /** A half message's send response: its offsets make the ticket END_TRANSACTION must match. */
  halfSent(key: string, half: HalfSend, resp: RemotingCommand): void {
    const ext = resp.extFields;
    if (!ext?.msgId || ext.queueOffset === undefined) return;
    let offset: number;
    try {
      offset = decodeOffsetMsgId(ext.msgId).offset;
    } catch {
      return;
    }
    this.tickets.add(key, String(offset), ext.queueOffset, half.group, [half.msgId]);
  }

  private heartbeat(target: string, key: string, req: CheckedRequest): Via | Refusal {
    const hb = req.heartbeat!;
    if (!this.deps.owners.claim(hb.clientID, this)) {
      return denied('client_id_taken', `client id "${hb.clientID.slice(0, 64)}" is in use by a connection of another token; every client needs an id of its own`);
    }
    const problem = this.registration.record(hb.clientID, hb.producerGroups, key, target);
    if (problem) return denied('producer_limits', problem, ResponseCode.SYSTEM_BUSY);
    if (req.registersConsumers) return 'own';
    if (!this.needsCallbacks) return 'answered';
    return this.ownTo(key);
  }

  private unregister(key: string, ext: Record<string, string>): Via | Refusal {
    if (ext.consumerGroup !== undefined) return 'own';
    const clientID = ext.clientID!;
    if (!this.registration.hasClient(clientID)) return 'answered'; // nothing of this connection's to forget
    if (ext.producerGroup !== undefined) this.registration.unregister(clientID, ext.producerGroup);
    // Only a connection that registered at the broker has anything to unregister there.
    return this.needsCallbacks && this.host.ownLinks().links.has(key) ? 'own' : 'answered';
  }

  private endTransaction(key: string, ext: Record<string, string>): Via | Refusal {
    const kind = Number(ext.commitOrRollback);
    if (kind !== TRANSACTION_COMMIT_TYPE && kind !== TRANSACTION_ROLLBACK_TYPE && kind !== TRANSACTION_NOT_TYPE) {
      return denied('transaction_refused', `END_TRANSACTION commitOrRollback must be 8 (commit), 12 (rollback) or 0 (unknown)`, ResponseCode.MESSAGE_ILLEGAL);
    }
    if (!this.registration.hasGroup(ext.producerGroup!)) {
      return denied('transaction_refused', `END_TRANSACTION for producer group "${ext.producerGroup!.slice(0, 64)}", which this connection did not register by HEART_BEAT`);
    }
    const h = ext as { commitLogOffset: string; tranStateTableOffset: string; producerGroup: string; msgId: string; commitOrRollback: string };
    if (!this.tickets.use(key, h)) {
      return denied('transaction_refused', 'END_TRANSACTION names no half message this connection sent or was asked about (offsets and msgId must be those of its send result or check)');
    }
    this.needsCallbacks = true;
    return this.ownTo(key);
  }

  /** The session needs callbacks from now on: its own connections to every broker it heartbeated. */
  private callbacksNeeded(via: Via): Via | Refusal | Promise<Via | Refusal> {
    this.needsCallbacks = true;
    const scope = this.host.ownLinks();
    const missing = [...this.registration.brokers.keys()].filter((k) => !scope.links.has(k));
    if (missing.length > 0) {
      if (this.deps.relay.dedicatedCount + missing.length > this.deps.limits.maxConsumerLinks) return this.linksFull();
      const before = this.registering;
      const now: Promise<void> = Promise.all([before, ...missing.map((k) => this.register(k))]).then(() => {
        if (this.registering === now) this.registering = undefined;
      });
      this.registering = now;
    }
    // Requests sent while the registration is under way wait for it too.
    return this.registering ? this.registering.then(() => via) : via;
  }

  /** Over the session's own connection to `key`, registered first when it is not open yet. */
  private ownTo(key: string): Via | Refusal {
    if (this.host.ownLinks().links.has(key) || !this.registration.brokers.has(key)) return 'own';
    if (this.deps.relay.dedicatedCount >= this.deps.limits.maxConsumerLinks) return this.linksFull();
    void this.register(key);
    return 'own';
  }

  private linksFull(): Refusal {
    return denied('consumer_links', `[TOO_MANY_REQUESTS] the gateway has ${this.deps.limits.maxConsumerLinks} client connections to brokers open (maxConsumerLinks); retry later`, ResponseCode.SYSTEM_BUSY);
  }

  /** Writes the recorded heartbeats on the own connection to `key` (opening it); settles once they are answered. */
  private register(key: string): Promise<void> {
    const scope = this.host.ownLinks();
    const alias = this.registration.brokers.get(key);
    if (alias) scope.aliases.set(key, alias);
    return Promise.all(this.registration.heartbeats().map((hb) => new Promise<void>((resolve) => {
      const now = performance.now();
      const entry: RelayEntry = {
        owner: { deliver: () => resolve(), fail: () => resolve() },
        clientOpaque: 0, target: alias ?? '', code: hb.code, startedAt: now, deadline: now + this.deps.limits.requestBudgetMs,
      };
      if (this.deps.acl) signRequest(hb, this.deps.acl);
      try {
        this.deps.relay.send(key, hb, entry, scope);
      } catch {
        resolve(); // the broker is down: it calls nobody back until the client heartbeats it again
      }
    }))).then(() => undefined);
  }

  // ---------- what a broker sends on the session's own connection ----------

  /** A broker-initiated request on this session's own connection; true when it was handled here. */
  fromBroker(key: string, link: Link, alias: string, cmd: RemotingCommand, frame: Uint8Array): boolean {
    if (cmd.code === RequestCode.CHECK_TRANSACTION_STATE) {
      this.checkTransactionState(key, alias, cmd, frame);
      return true;
    }
    if (cmd.code === RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT) {
      this.pushReply(link, alias, cmd, frame);
      return true;
    }
    return false;
  }

  private drop(cmd: RemotingCommand, why: string): void {
    this.deps.metrics.refused('callback_dropped');
    this.deps.log.debug({ conn: this.host.id, code: cmd.code }, `broker request not relayed: ${why}`);
  }

  /** CHECK_TRANSACTION_STATE (39, oneway): relayed when the half message's group and topic are this client's. */
  private checkTransactionState(key: string, alias: string, cmd: RemotingCommand, frame: Uint8Array): void {
    const ext = cmd.extFields ?? {};
    let msg;
    try {
      msg = cmd.body ? decodeStoredMessages(cmd.body)[0] : undefined;
    } catch {
      msg = undefined;
    }
    if (!msg || !isOneway(cmd)) return this.drop(cmd, 'undecodable check');
    const group = msg.properties[MessageConst.PGROUP];
    if (group === undefined || !this.registration.hasGroup(group)) return this.drop(cmd, 'producer group not registered by this client');
    const p = this.host.principal();
    if (isSystemTopic(msg.topic) || !p.mayUseTopic(msg.topic)) return this.drop(cmd, `token may not publish to "${msg.topic}"`);
    if (ext.commitLogOffset === undefined || ext.tranStateTableOffset === undefined) return this.drop(cmd, 'check without offsets');
    // Java answers with the UNIQ_KEY (else the message id) and the check's offsets (7.3).
    const msgIds = [msg.properties[MessageConst.UNIQ_KEY] ?? msg.msgId];
    if (ext.msgId) msgIds.push(ext.msgId);
    this.tickets.add(key, ext.commitLogOffset, ext.tranStateTableOffset, group, msgIds);
    this.host.toClient(alias, frame, cmd.opaque, cmd.opaque, cmd);
  }

  /** PUSH_REPLY_MESSAGE_TO_CLIENT (326): relayed when it answers a request this client sent. */
  private pushReply(link: Link, alias: string, cmd: RemotingCommand, frame: Uint8Array): void {
    if (isOneway(cmd)) return this.drop(cmd, 'oneway reply push');
    const props = decodeProperties(cmd.extFields?.properties ?? '');
    const replyTo = props[MessageConst.REPLY_TO_CLIENT];
    const correlation = props[MessageConst.CORRELATION_ID];
    let why: string | undefined;
    if (replyTo === undefined || !this.registration.hasClient(replyTo)) why = 'REPLY_TO_CLIENT is not this client';
    else if (correlation === undefined || !this.replies.takeReply(correlation)) why = 'no request of this client awaits this CORRELATION_ID';
    const opaque = why ? undefined : this.replies.hold(link, cmd.opaque, this.deps.limits.brokerRequestTimeoutMs, (p) => {
      this.deps.metrics.refused('callback_timeout');
      this.answerBroker(p.link, p.brokerOpaque, ResponseCode.SYSTEM_ERROR, 'the client did not answer the reply push in time');
    });
    if (why || opaque === undefined) {
      why ??= `${this.replies.pendingPushes} reply pushes already wait for this client's answer`;
      this.drop(cmd, why);
      this.answerBroker(link, cmd.opaque, ResponseCode.SYSTEM_ERROR, `reply not delivered by the gateway: ${why}`);
      return;
    }
    this.host.toClient(alias, frame, cmd.opaque, opaque, cmd);
  }

  /**
   * The client's answer to a relayed push: back to the broker under the broker's opaque (only its
   * code and remark). A late answer is dropped; an answer to an opaque never given is the
   * client's protocol error (the caller closes the connection).
   */
  fromClient(resp: RemotingCommand): 'relayed' | 'late' | 'unknown' {
    const p = this.replies.answered(resp.opaque);
    if (p === 'late' || p === 'unknown') return p;
    const code = resp.code === ResponseCode.SUCCESS ? ResponseCode.SUCCESS : ResponseCode.SYSTEM_ERROR;
    this.answerBroker(p.link, p.brokerOpaque, code, resp.remark?.slice(0, 256));
    return 'relayed';
  }

  private answerBroker(link: Link, opaque: number, code: number, remark: string | undefined): void {
    const r = createResponse({ opaque, serializeType: 'JSON' } as RemotingCommand, code, remark);
    this.deps.relay.answer(link, r);
  }

  /** The session ended: pushes still waiting are answered SYSTEM_ERROR, the client ids released. */
  close(): void {
    this.replies.clear((p) => this.answerBroker(p.link, p.brokerOpaque, ResponseCode.SYSTEM_ERROR, 'the client disconnected'));
    this.deps.owners.release(this.registration.clients.keys(), this);
  }
}
