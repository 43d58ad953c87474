// The send request header (3.2), read the way a 4.9.8 broker reads it
// (AbstractSendMessageProcessor.parseRequestHeader, ReplyMessageProcessor.parseRequestHeader):
// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and SEND_REPLY_MESSAGE_V2 (325) are read from the
// V2 letters a..n only; SEND_MESSAGE (10) and SEND_REPLY_MESSAGE (324) from the V1 names only. Every
// other key is ignored, so one request cannot name a second topic (or properties, queue…) under the
// other spelling and have the broker store by a field nobody checked.
import { RequestCode, type RemotingCommand } from '@rocketmq-edge/core/internal';

export interface SendHeader {
  producerGroup?: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  reconsumeTimes: number;
  maxReconsumeTimes?: number;
  batch: boolean;
}

type Field =
  | 'producerGroup' | 'topic' | 'defaultTopic' | 'defaultTopicQueueNums' | 'queueId' | 'sysFlag' | 'bornTimestamp'
  | 'flag' | 'properties' | 'reconsumeTimes' | 'maxReconsumeTimes' | 'batch';

/** SendMessageRequestHeaderV2's letters (k = unitMode and n = bname are not read here). */
const V2: Record<Field, string> = {
  producerGroup: 'a', topic: 'b', defaultTopic: 'c', defaultTopicQueueNums: 'd', queueId: 'e', sysFlag: 'f',
  bornTimestamp: 'g', flag: 'h', properties: 'i', reconsumeTimes: 'j', maxReconsumeTimes: 'l', batch: 'm',
};
const V1: Record<Field, string> = {
  producerGroup: 'producerGroup', topic: 'topic', defaultTopic: 'defaultTopic', defaultTopicQueueNums: 'defaultTopicQueueNums',
  queueId: 'queueId', sysFlag: 'sysFlag', bornTimestamp: 'bornTimestamp', flag: 'flag', properties: 'properties',
  reconsumeTimes: 'reconsumeTimes', maxReconsumeTimes: 'maxReconsumeTimes', batch: 'batch',
};

/** True for the codes whose header is SendMessageRequestHeaderV2. */
export function usesV2Header(code: number): boolean {
  return code === RequestCode.SEND_MESSAGE_V2 || code === RequestCode.SEND_BATCH_MESSAGE || code === RequestCode.SEND_REPLY_MESSAGE_V2;
}

function int(v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

export function parseSendHeader(req: RemotingCommand): SendHeader {
  const raw = req.extFields ?? {};
  const names = usesV2Header(req.code) ? V2 : V1;
  const get = (f: Field): string | undefined => (Object.hasOwn(raw, names[f]) ? raw[names[f]] : undefined);
  const l = get('maxReconsumeTimes');
  return {
    producerGroup: get('producerGroup'),
    topic: get('topic') ?? '',
    defaultTopic: get('defaultTopic') || 'TBW102',
    defaultTopicQueueNums: int(get('defaultTopicQueueNums'), 4),
    queueId: int(get('queueId'), -1),
    sysFlag: int(get('sysFlag'), 0),
    bornTimestamp: int(get('bornTimestamp'), Date.now()),
    flag: int(get('flag'), 0),
    properties: get('properties') ?? '',
    reconsumeTimes: int(get('reconsumeTimes'), 0),
    maxReconsumeTimes: l !== undefined ? int(l, 16) : undefined,
    batch: get('batch') === 'true' || req.code === RequestCode.SEND_BATCH_MESSAGE,
  };
}
