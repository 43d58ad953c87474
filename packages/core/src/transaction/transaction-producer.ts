// TransactionProducer: TransactionMQProducer (protocol 7.3). A half message (TRAN_MSG, PGROUP) is
// stored but invisible; the local transaction runs; END_TRANSACTION tells the broker to commit,
// roll back, or (UNKNOW) ask again later with CHECK_TRANSACTION_STATE, which checkLocalTransaction answers.
import { MQClientError } from '../errors.js';
import { decodeOffsetMsgId, decodeStoredMessages, withoutNamespace, wrapNamespace, type Message, type MessageExt } from '../message/index.js';
import type { ProducerOptions } from '../producer/options.js';
import type { SendResult } from '../producer/send-result.js';
import { RC_CHECK_TRANSACTION_STATE } from '../remoting/codes.js';
import type { RemotingCommand } from '../remoting/command.js';
import { RequestProducer } from '../request/request-producer.js';
import { endTransactionRequest, toLocalTransactionState, type EndTransactionFields, type LocalTransactionState } from './end-transaction.js';

/** The message executeLocalTransaction sees: the one sent, with its id (UNIQ_KEY) as transactionId. */
export type TransactionMessage = Message & { msgId: string; transactionId: string };

/** What may come back from a listener: a state, nothing (UNKNOW), or a promise of either. */
export type LocalTransactionResult = LocalTransactionState | null | undefined | void;

/** TransactionListener. */
export interface TransactionListener {
  /** Runs the local transaction after the half message was stored; `arg` is sendMessageInTransaction's. */
  executeLocalTransaction(msg: TransactionMessage, arg: unknown): LocalTransactionResult | Promise<LocalTransactionResult>;
  /** The broker asks about a half message still UNKNOW (after transactionTimeOut, then every check interval). */
  checkLocalTransaction(msg: MessageExt): LocalTransactionResult | Promise<LocalTransactionResult>;
}

export interface TransactionProducerOptions extends ProducerOptions {
  transactionListener: TransactionListener;
  /** Check-backs answered at the same time (Java: checkThreadPoolMaxSize, 1). */
  checkThreadPoolMaxSize?: number;
  /** Check-backs that may wait beyond those; more are dropped and the broker asks again later (Java: checkRequestHoldMax, 2000). */
  checkRequestHoldMax?: number;
}

export interface TransactionSendResult extends SendResult {
  localTransactionState: LocalTransactionState;
}

/** sendMessageInTransaction + the answers to the broker's check-backs, for one producer group. */
export class TransactionProducer extends RequestProducer {
  readonly #listener: TransactionListener;
  /** The group as sent (PGROUP, and the group check-backs must name). */
  readonly #group: string;
  readonly #maxChecks: number;
  readonly #holdMax: number;
  /** Check-backs waiting for a free slot. */
  readonly #queue: (() => Promise<void>)[] = [];
  #running = 0;

  constructor(opts: TransactionProducerOptions) {
    super(opts);
    const l = opts.transactionListener;
    if (typeof l?.executeLocalTransaction !== 'function' || typeof l.checkLocalTransaction !== 'function') {
      throw new MQClientError(-1, 'TransactionProducerOptions.transactionListener needs executeLocalTransaction(msg, arg) and checkLocalTransaction(msg)');
    }
    const whole = (name: string, v: number | undefined, def: number): number => {
      if (v === undefined) return def;
      if (!Number.isInteger(v) || v < 1) throw new MQClientError(-1, `TransactionProducerOptions.${name} must be a whole number ≥ 1, got ${v}`);
      return v;
    };
    this.#listener = l;
    this.#maxChecks = whole('checkThreadPoolMaxSize', opts.checkThreadPoolMaxSize, 1);
    this.#holdMax = whole('checkRequestHoldMax', opts.checkRequestHoldMax, 2000);
    this.#group = wrapNamespace(this.options.namespace, this.options.producerGroup);
  }

  /**
   * Sends `msg` as a half message (SYNC, with send()'s retries; a delayLevel is ignored), runs
   * executeLocalTransaction with `arg` when it was stored (SEND_OK; a FLUSH_* or SLAVE_NOT_AVAILABLE
   * status rolls back without running it), then sends END_TRANSACTION with its answer. A throwing
   * local transaction is UNKNOW (the broker will ask checkLocalTransaction). Fails as send() does
   * when the half message was not stored; an END_TRANSACTION that cannot be written is an 'error'
   * event (the broker asks again), never a failure of this call.
   */
  async sendMessageInTransaction(msg: Message, arg?: unknown): Promise<TransactionSendResult> {
    const half: Message = { ...msg, delayLevel: undefined };
    const result = await this.send(half, { props_: { TRAN_MSG: 'true', PGROUP: this.#group } });
    let state: LocalTransactionState = 'UNKNOW';
    let localError: unknown;
    if (result.sendStatus === 'SEND_OK') {
      const properties = { ...msg.properties };
      // 4.9.8 puts the broker's transactionId on the message as this (reserved) user property.
      if (result.transactionId != null) properties.__transactionId__ = result.transactionId;
      try {
        state = toLocalTransactionState(
          await this.#listener.executeLocalTransaction({ ...half, properties, msgId: result.msgId, transactionId: result.msgId }, arg),
        );
      } catch (e) {
        localError = e;
      }
    } else {
      state = 'ROLLBACK_MESSAGE';
    }
    await this.#endTransaction(result, state, localError);
    return { ...result, localTransactionState: state };
  }

  /** END_TRANSACTION for a send result (DefaultMQProducerImpl.endTransaction), oneway to the master that stored it. */
  async #endTransaction(r: SendResult, state: LocalTransactionState, localError: unknown): Promise<void> {
    const bname = r.messageQueue.brokerName;
    try {
      const req = endTransactionRequest({
        producerGroup: this.#group,
        tranStateTableOffset: `${r.queueOffset}`,
        commitLogOffset: `${decodeOffsetMsgId(r.offsetMsgId || r.msgId).offset}`,
        state,
        fromTransactionCheck: false,
        msgId: r.msgId,
        transactionId: r.transactionId,
        bname,
        remark: localError === undefined ? undefined : `executeLocalTransactionBranch exception: ${localError}`,
      }, this.options.serializeType);
      await this.client.invokeOneway(this.routes.findBrokerAddressInPublish(bname) ?? r.brokerAddr, req);
    } catch (e) {
      this.emitError_(new MQClientError(-1, `local transaction execute ${state}, but end broker transaction failed: ${e}`, { cause: e }));
    }
  }

  protected override onBrokerRequest(target: string, cmd: RemotingCommand): RemotingCommand | void | Promise<RemotingCommand | void> {
    if (cmd.code !== RC_CHECK_TRANSACTION_STATE) return super.onBrokerRequest(target, cmd);
    this.#checkTransactionState(target, cmd);
  }

  /**
   * CHECK_TRANSACTION_STATE (39, oneway; ClientRemotingProcessor.checkTransactionState): the half
   * message in stored form; a check for another group, or one that does not decode, is ignored.
   * At most checkThreadPoolMaxSize run at once and checkRequestHoldMax wait; more are dropped.
   */
  #checkTransactionState(addr: string, cmd: RemotingCommand): void {
    const h = cmd.extFields ?? {};
    const [msg] = decodeStoredMessages(cmd.body ?? new Uint8Array());
    if (!msg || h.tranStateTableOffset == null || h.commitLogOffset == null) {
      return this.emitError_(new MQClientError(-1, `CHECK_TRANSACTION_STATE from ${addr}: ${msg ? 'offsets missing in the header' : 'the message does not decode'}; ignored`));
    }
    if (msg.properties.PGROUP !== this.#group) return;
    msg.topic = withoutNamespace(msg.topic, this.options.namespace);
    const uniq = msg.properties.UNIQ_KEY;
    if (uniq) msg.transactionId = uniq;
    const check = (): Promise<void> => this.#check(addr, h, msg);
    if (this.#running < this.#maxChecks) void this.#run(check);
    else if (this.#queue.length < this.#holdMax) this.#queue.push(check);
    else this.emitError_(new MQClientError(-1, `check-back of ${msg.msgId} dropped: ${this.#holdMax} are waiting (checkRequestHoldMax); the broker will ask again`));
  }

  async #run(check: () => Promise<void>): Promise<void> {
    this.#running++;
    try {
      await check();
    } finally {
      this.#running--;
      const next = this.#queue.shift();
      if (next) void this.#run(next);
    }
  }

  /** Asks the listener and answers END_TRANSACTION with fromTransactionCheck=true; never throws. */
  async #check(addr: string, h: Record<string, string>, msg: MessageExt): Promise<void> {
    let state: LocalTransactionState = 'UNKNOW';
    let error: unknown;
    try {
      state = toLocalTransactionState(await this.#listener.checkLocalTransaction(msg));
    } catch (e) {
      error = e;
    }
    if (this.serviceState !== 'RUNNING') return;
    const f: EndTransactionFields = {
      producerGroup: this.#group,
      tranStateTableOffset: h.tranStateTableOffset!,
      commitLogOffset: h.commitLogOffset!,
      state,
      fromTransactionCheck: true,
      msgId: msg.properties.UNIQ_KEY ?? msg.msgId,
      transactionId: h.transactionId,
      bname: h.bname,
      remark: error === undefined ? undefined : `checkLocalTransactionState Exception: ${error}`,
    };
    try {
      await this.client.invokeOneway(addr, endTransactionRequest(f, this.options.serializeType));
    } catch (e) {
      this.emitError_(e);
    }
  }
}
