// Scripted name server and broker handlers for MemoryTransport (unit tests of the producer).
import { RequestCode, ResponseCode } from '../remoting/codes.js';
import { createResponse, type RemotingCommand } from '../remoting/command.js';
import type { MemoryHandler, MemoryReply } from './memory-transport.js';

export interface ScriptedBroker { name: string; addr: string; queues?: number; perm?: number; readQueues?: number; master?: boolean }

/** A route JSON body as a 4.9.8 name server writes it; `bareKeys` = fastjson's unquoted ids. */
export function routeJson(brokers: ScriptedBroker[], opts: { bareKeys?: boolean; orderTopicConf?: string } = {}): string {
  const brokerDatas = brokers.map((b) => {
    const id = b.master === false ? '1' : '0';
    const key = opts.bareKeys ? id : `"${id}"`;
    return `{"brokerAddrs":{${key}:${JSON.stringify(b.addr)}},"brokerName":${JSON.stringify(b.name)},"cluster":"DefaultCluster"}`;
  });
  const queueDatas = brokers.map(
    (b) =>
      `{"brokerName":${JSON.stringify(b.name)},"perm":${b.perm ?? 6},"readQueueNums":${b.readQueues ?? b.queues ?? 4},` +
      `"topicSysFlag":0,"writeQueueNums":${b.queues ?? 4}}`,
  );
  const order = opts.orderTopicConf ? `,"orderTopicConf":${JSON.stringify(opts.orderTopicConf)}` : '';
  return `{"brokerDatas":[${brokerDatas.join(',')}],"filterServerTable":{}${order},"queueDatas":[${queueDatas.join(',')}]}`;
}

/** Name server: answers GET_ROUTEINFO_BY_TOPIC from a table (string body, or undefined = TOPIC_NOT_EXIST). */
export function scriptedNamesrv(routes: (topic: string) => string | undefined | MemoryReply): MemoryHandler {
  return (cmd) => {
    if (cmd.code !== RequestCode.GET_ROUTEINFO_BY_TOPIC) return 'drop';
    const topic = cmd.extFields?.topic ?? '';
    const r = routes(topic);
    if (r === undefined) {
      return createResponse(cmd, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    }
    if (typeof r !== 'string') return r;
    return createResponse(cmd, ResponseCode.SUCCESS, undefined, undefined, new TextEncoder().encode(r));
  };
}

let offsetCounter = 0;

/** A broker send response with the extFields a 4.9.8 broker puts in (3.3). */
export function sendResponse(req: RemotingCommand, code: number = ResponseCode.SUCCESS, remark?: string): RemotingCommand {
  const ext: Record<string, string> = { MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' };
  if (code === 0 || code === 10 || code === 11 || code === 12) {
    ext.queueId = req.extFields?.e ?? '0';
    ext.msgId = `7F00000100002A9F${(offsetCounter++).toString(16).toUpperCase().padStart(16, '0')}`;
    ext.queueOffset = String(offsetCounter);
  }
  return createResponse(req, code, remark, ext);
}

/**
 * Broker: answers sends via `onSend` (default SUCCESS), HEART_BEAT and UNREGISTER_CLIENT with
 * SUCCESS, anything else REQUEST_CODE_NOT_SUPPORTED.
 */
export function scriptedBroker(onSend: (cmd: RemotingCommand) => MemoryReply | Promise<MemoryReply> = (c) => sendResponse(c)): MemoryHandler {
  return (cmd) => {
    switch (cmd.code) {
      case RequestCode.SEND_MESSAGE:
      case RequestCode.SEND_MESSAGE_V2:
      case RequestCode.SEND_BATCH_MESSAGE:
      case RequestCode.SEND_REPLY_MESSAGE_V2:
        return onSend(cmd);
      case RequestCode.HEART_BEAT:
        return createResponse(cmd, ResponseCode.SUCCESS);
      case RequestCode.UNREGISTER_CLIENT:
        return createResponse(cmd, ResponseCode.SUCCESS, undefined, {});
      default:
        return createResponse(cmd, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${cmd.code} not supported`);
    }
  };
}
