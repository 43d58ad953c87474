// SendResult and the mapping of a send response (MQClientAPIImpl.processSendResponse, 2.3).
import { MQBrokerError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import type { RemotingCommand } from '../remoting/command.js';

export type SendStatus = 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE';

export interface SendResult {
  sendStatus: SendStatus;
  /** Client id (UNIQ_KEY); for a batch the inner ids joined with ','. */
  msgId: string;
  /** Broker offset id(s) from the response header. */
  offsetMsgId: string;
  messageQueue: MessageQueue;
  queueOffset: number;
  transactionId?: string;
  regionId: string;
  traceOn: boolean;
  /** The broker address the message went to. */
  brokerAddr: string;
}

const STATUS: Record<number, SendStatus> = { 0: 'SEND_OK', 10: 'FLUSH_DISK_TIMEOUT', 12: 'FLUSH_SLAVE_TIMEOUT', 11: 'SLAVE_NOT_AVAILABLE' };

/** Throws MQBrokerError for any code but 0/10/11/12, unknown codes included. */
export function processSendResponse({ code, remark, extFields: ext = {} }: RemotingCommand, topic: string, brokerName: string, brokerAddr: string, msgId: string): SendResult {
  const sendStatus = STATUS[code];
  if (!sendStatus) throw new MQBrokerError(code, remark ?? '', brokerAddr);
  /** A number field of the response; -1 if absent or not a number. */
  const int = (v?: string): number => {
    const n = +(v ?? NaN);
    return Number.isFinite(n) ? n : -1;
  };
  const result: SendResult = {
    sendStatus,
    msgId,
    offsetMsgId: ext.msgId ?? '',
    messageQueue: { topic, brokerName, queueId: int(ext.queueId) },
    queueOffset: int(ext.queueOffset),
    regionId: ext.MSG_REGION || 'DefaultRegion',
    traceOn: ext.TRACE_ON !== 'false',
    brokerAddr,
  };
  if (ext.transactionId) result.transactionId = ext.transactionId;
  return result;
}
