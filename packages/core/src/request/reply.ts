// Reply messages: the replier's createReplyMessage (MessageUtil) and the requester's reading of a
// PUSH_REPLY_MESSAGE_TO_CLIENT (ClientRemotingProcessor.receiveReplyMessage), protocol 7.2.
import { MQClientError } from '../errors.js';
import { decodeProperties, decompressZlib, type Message, type MessageExt } from '../message/index.js';
import { CE_CREATE_REPLY_MESSAGE_EXCEPTION } from '../remoting/codes.js';
import type { RemotingCommand } from '../remoting/command.js';

/**
 * MessageUtil.createReplyMessage: the reply to a request a consumer received, to send with any
 * Producer (it goes as SEND_REPLY_MESSAGE_V2). Topic `<CLUSTER>_REPLY_TOPIC` (CLUSTER is stamped on
 * the request by its broker); MSG_TYPE=reply and the request's CORRELATION_ID, REPLY_TO_CLIENT and
 * TTL. MQClientError 10007 when the request is missing or has no CLUSTER.
 */
export function createReplyMessage(request: Pick<MessageExt, 'properties'>, body: Uint8Array | string): Message {
  const fail = (why: string): never => {
    throw new MQClientError(CE_CREATE_REPLY_MESSAGE_EXCEPTION, `create reply message fail, ${why}`);
  };
  if (!request) fail('requestMessage cannot be null.');
  const p = request.properties ?? {};
  const cluster = p.CLUSTER;
  if (cluster == null) fail('requestMessage error, property[CLUSTER] is null.');
  const properties: Record<string, string> = { MSG_TYPE: 'reply' };
  // Java puts nulls, which are never sent: leave those out.
  for (const k of ['CORRELATION_ID', 'REPLY_TO_CLIENT', 'TTL']) if (p[k] != null) properties[k] = p[k]!;
  return { topic: `${cluster}_REPLY_TOPIC`, body, properties };
}

/** A ReplyMessageRequestHeader integer field; throws when missing or not a number (the header is refused). */
function int(h: Record<string, string>, name: string, optional?: boolean): number {
  const v = h[name];
  if (v == null && optional) return 0;
  const n = Number(v);
  if (v == null || v === '' || !Number.isSafeInteger(n)) throw new Error(`reply header field ${name} is ${v == null ? 'missing' : `not a number: ${v}`}`);
  return n;
}

/**
 * The reply a broker pushed (PUSH_REPLY_MESSAGE_TO_CLIENT, 326) as a MessageExt: header fields,
 * body inflated when sysFlag says compressed (kept as is if it does not inflate, as Java does),
 * properties plus ARRIVE_TIME. Throws when the header lacks a required field.
 */
export async function decodeReplyMessage(cmd: RemotingCommand, receivedAt = Date.now()): Promise<MessageExt> {
  const h = cmd.extFields ?? {};
  for (const k of ['producerGroup', 'topic', 'defaultTopic', 'bornHost', 'storeHost']) if (h[k] == null) throw new Error(`reply header field ${k} is missing`);
  const sysFlag = int(h, 'sysFlag');
  let body = cmd.body ?? new Uint8Array();
  if (sysFlag & 1) {
    try {
      body = await decompressZlib(body);
    } catch {
      // Java logs and hands the body out as it came
    }
  }
  int(h, 'defaultTopicQueueNums');
  const properties = decodeProperties(h.properties ?? '');
  properties.ARRIVE_TIME = `${receivedAt}`;
  return {
    topic: h.topic!,
    queueId: int(h, 'queueId'),
    flag: int(h, 'flag'),
    queueOffset: 0,
    commitLogOffset: 0,
    sysFlag,
    bornTimestamp: int(h, 'bornTimestamp'),
    bornHost: h.bornHost!,
    storeTimestamp: int(h, 'storeTimestamp'),
    storeHost: h.storeHost!,
    reconsumeTimes: int(h, 'reconsumeTimes', true),
    preparedTransactionOffset: 0,
    body,
    properties,
    bodyCRC: 0,
    storeSize: 0,
    msgId: properties.UNIQ_KEY ?? '',
    offsetMsgId: '',
  };
}
