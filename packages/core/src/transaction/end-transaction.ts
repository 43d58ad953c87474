// END_TRANSACTION (37): the header as a 4.9.8 Java client writes it (protocol 7.3).
import { RC_END_TRANSACTION } from '../remoting/codes.js';
import { createRequest, type RemotingCommand, type SerializeType } from '../remoting/command.js';
import { inJavaOrder } from '../remoting/hashmap-order.js';

/** LocalTransactionState: what the local transaction decided; UNKNOW (sic, as in Java) leaves it to a check-back. */
export type LocalTransactionState = 'COMMIT_MESSAGE' | 'ROLLBACK_MESSAGE' | 'UNKNOW';

/** commitOrRollback values: MessageSysFlag TRANSACTION_COMMIT_TYPE, _ROLLBACK_TYPE, _NOT_TYPE. */
const COMMIT_OR_ROLLBACK: Record<LocalTransactionState, string> = { COMMIT_MESSAGE: '8', ROLLBACK_MESSAGE: '12', UNKNOW: '0' };

/** A listener's answer as a state: anything but COMMIT_MESSAGE / ROLLBACK_MESSAGE (null too) is UNKNOW. */
export const toLocalTransactionState = (s: unknown): LocalTransactionState =>
  s === 'COMMIT_MESSAGE' || s === 'ROLLBACK_MESSAGE' ? s : 'UNKNOW';

export interface EndTransactionFields {
  producerGroup: string;
  /** The half message's queue offset (send result queueOffset, or the check header's). */
  tranStateTableOffset: string;
  /** The half message's commit-log offset. */
  commitLogOffset: string;
  state: LocalTransactionState;
  fromTransactionCheck: boolean;
  /** UNIQ_KEY of the half message. */
  msgId: string;
  transactionId?: string;
  /** Broker name (RpcRequestHeader.bname). */
  bname?: string;
  /** The local exception's text, if any. */
  remark?: string;
}

/**
 * The oneway END_TRANSACTION request. Header fields are put in EndTransactionRequestHeader's
 * declared order and iterated as Java's HashMap does (tranStateTableOffset and commitOrRollback
 * share a bucket, so the declared order decides theirs); null fields are left out.
 */
export function endTransactionRequest(f: EndTransactionFields, serializeType: SerializeType): RemotingCommand {
  const h: Record<string, string> = {
    producerGroup: f.producerGroup,
    tranStateTableOffset: f.tranStateTableOffset,
    commitLogOffset: f.commitLogOffset,
    commitOrRollback: COMMIT_OR_ROLLBACK[f.state],
    fromTransactionCheck: `${f.fromTransactionCheck}`,
    msgId: f.msgId,
  };
  if (f.transactionId != null) h.transactionId = f.transactionId;
  if (f.bname != null) h.bname = f.bname;
  const req = createRequest(RC_END_TRANSACTION, inJavaOrder(h), { serializeType, oneway: true });
  if (f.remark != null) req.remark = f.remark;
  return req;
}
