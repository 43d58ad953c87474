// SEND_REPLY_MESSAGE (324) / SEND_REPLY_MESSAGE_V2 (325), as 4.9.8's ReplyMessageProcessor: the
// reply is pushed (PUSH_REPLY_MESSAGE_TO_CLIENT, two-way, 10 s) over the connection registered for
// its REPLY_TO_CLIENT, the replier is told whether that push succeeded, and the reply is also
// stored in its topic (<CLUSTER>_REPLY_TOPIC) when storeReplyMessageEnable is on.
import {
  MessageConst,
  RequestCode,
  ResponseCode,
  createOffsetMsgId,
  createRequest,
  createResponse,
  decodeProperties,
  encodeProperties,
  inJavaOrder,
  isNotAllowedSendTopic,
  validateTopic,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import type { Connection, RemotingServer } from '../remoting-server.js';
import { storeMessage, type BrokerContext } from './context.js';
import { parseSendHeader } from './send-header.js';
import { checkQueue, splitHost } from './send.js';

/** Broker2Client.callClient's timeout. */
export const PUSH_REPLY_TIMEOUT_MS = 10_000;
/** MixAll.REPLY_TOPIC_POSTFIX: the reply topic of a cluster is `<cluster>_REPLY_TOPIC`. */
export const replyTopicOf = (clusterName: string): string => `${clusterName}_REPLY_TOPIC`;

export interface ReplyOptions {
  storeReplyMessageEnable: boolean;
}

export function registerReplyProcessor(server: RemotingServer, ctx: BrokerContext, opts: ReplyOptions): void {
  const processor = (req: RemotingCommand, conn: Connection) => processReply(ctx, opts, req, conn);
  server.register(RequestCode.SEND_REPLY_MESSAGE, processor);
  server.register(RequestCode.SEND_REPLY_MESSAGE_V2, processor);
}

async function processReply(ctx: BrokerContext, opts: ReplyOptions, req: RemotingCommand, conn: Connection): Promise<RemotingCommand> {
  const extras = { MSG_REGION: ctx.regionId, TRACE_ON: String(ctx.traceOn) };
  const fail = (code: number, remark: string) => createResponse(req, code, remark, inJavaOrder(extras));
  const h = parseSendHeader(req);
  const raw = req.extFields ?? {};
  const v2 = req.code === RequestCode.SEND_REPLY_MESSAGE_V2;
  // msgCheck
  try {
    validateTopic(h.topic);
  } catch (e) {
    return fail(ResponseCode.SYSTEM_ERROR, (e as Error).message);
  }
  if (isNotAllowedSendTopic(h.topic)) return fail(ResponseCode.NO_PERMISSION, `Sending message to topic[${h.topic}] is forbidden.`);
  const checked = checkQueue(ctx, req, conn, h.topic, h.queueId, h);
  if ('code' in checked) return checked;
  const { queueId } = checked;
  const body = req.body ?? new Uint8Array(0);
  if (body.length > ctx.maxMessageSize) {
    return fail(ResponseCode.MESSAGE_ILLEGAL, `the message body size ${body.length} exceeds the maximum message size ${ctx.maxMessageSize}`);
  }

  // pushReplyMessage
  const props = decodeProperties(h.properties);
  const [storeIp, storePort] = splitHost(ctx.storeHost);
  const pushHeader: Record<string, string> = {
    producerGroup: h.producerGroup ?? '',
    topic: h.topic,
    defaultTopic: h.defaultTopic,
    defaultTopicQueueNums: String(h.defaultTopicQueueNums),
    queueId: String(h.queueId),
    sysFlag: String(h.sysFlag),
    bornTimestamp: String(h.bornTimestamp),
    flag: String(h.flag),
    properties: h.properties,
    unitMode: String((v2 ? raw.k : raw.unitMode) === 'true'),
    bornHost: `${conn.remoteHost}:${conn.remotePort}`,
    storeHost: `${storeIp}:${storePort}`,
    storeTimestamp: String(Date.now()),
  };
  if (h.producerGroup === undefined) delete pushHeader.producerGroup;
  const reconsume = v2 ? raw.j : raw.reconsumeTimes;
  if (reconsume !== undefined) pushHeader.reconsumeTimes = String(h.reconsumeTimes);
  let pushOk = false;
  let remark = '';
  const senderId = props[MessageConst.REPLY_TO_CLIENT];
  if (senderId !== undefined) {
    const target = ctx.producers.findConnection(senderId);
    if (target) {
      pushHeader.properties = encodeProperties(inJavaOrder({ ...props, [MessageConst.PUSH_REPLY_TIME]: String(Date.now()) }));
      try {
        const res = await target.invoke(createRequest(RequestCode.PUSH_REPLY_MESSAGE_TO_CLIENT, inJavaOrder(pushHeader), { body }), PUSH_REPLY_TIMEOUT_MS);
        pushOk = res.code === ResponseCode.SUCCESS;
        if (!pushOk) {
          remark = `push reply message to ${senderId}fail.`;
          ctx.log('warn', `push reply message to <${senderId}> return fail, response remark: ${res.remark ?? ''}`);
        }
      } catch (e) {
        remark = `push reply message to ${senderId}fail.`;
        ctx.log('warn', `push reply message to <${senderId}> fail. ${(e as Error).message}`);
      }
    } else {
      remark = `push reply message fail, channel of <${senderId}> not found.`;
      ctx.log('warn', remark);
    }
  } else {
    remark = `reply message properties[${MessageConst.REPLY_TO_CLIENT}] is null`;
  }

  // handlePushReplyResult: on success the header says "0" until the store fills it in.
  let header: Record<string, string> | undefined = pushOk ? { msgId: '0', queueId: String(queueId), queueOffset: '0' } : undefined;
  if (opts.storeReplyMessageEnable && ctx.store.writable) {
    try {
      // The stored string is the replier's own (no CLUSTER, no PUSH_REPLY_TIME), as 4.9.8 stores it.
      const r = storeMessage(ctx, {
        topic: h.topic,
        queueId,
        body,
        flag: h.flag,
        sysFlag: h.sysFlag,
        bornTimestamp: h.bornTimestamp,
        bornHost: conn.remoteAddr,
        reconsumeTimes: h.reconsumeTimes,
        properties: props,
        propertiesString: h.properties,
      });
      await ctx.store.durable(r);
      header = { msgId: createOffsetMsgId(storeIp, storePort, r.commitLogOffset), queueId: String(queueId), queueOffset: String(r.queueOffset) };
    } catch (e) {
      ctx.log('warn', `process reply message, store failed: ${(e as Error).message}`);
    }
  }
  const ext = inJavaOrder({ ...(header ?? {}), ...extras });
  return pushOk ? createResponse(req, ResponseCode.SUCCESS, undefined, ext) : createResponse(req, ResponseCode.SYSTEM_ERROR, remark, ext);
}
