// TopicRouteData as the name server sends it (4.3), and its conversion to publishable queues (4.4).
import { CodecError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import { MASTER_ID, PERM_WRITE } from '../remoting/codes.js';
import { parseLenientJson } from '../remoting/json.js';
import { utf8Decoder } from '../utf8.js';

// Defined in codes.ts, which imports nothing: esbuild inlines them from there.
export { MASTER_ID };
/** PermName.java bits. */
export const PermName = { PERM_PRIORITY: 8, PERM_READ: 4, PERM_WRITE, PERM_INHERIT: 1 } as const;

export interface QueueData { brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number; topicSysFlag: number }
export interface BrokerData { brokerName: string; cluster: string; brokerAddrs: Record<string, string> }
export interface TopicRouteData {
  queueDatas: QueueData[];
  brokerDatas: BrokerData[];
  orderTopicConf?: string;
  filterServerTable?: Record<string, string[]>;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v == 'object';

/**
 * Parses a GET_ROUTEINFO_BY_TOPIC body; accepts fastjson's bare integer keys (`{0:"h:p"}`).
 * Throws CodecError('BAD_BODY') unless it has the shape of a TopicRouteData.
 */
export function parseTopicRouteData(body: Uint8Array | undefined): TopicRouteData {
  const route = (body?.length ? parseLenientJson(utf8Decoder.decode(body)) : 0) as TopicRouteData;
  const list = (v: unknown[]): boolean => Array.isArray(v) && v.every(isObject);
  if (
    !isObject(route) || !list(route.queueDatas) || !list(route.brokerDatas) || !route.brokerDatas.every((b) => isObject(b.brokerAddrs) && Object.values(b.brokerAddrs).every((a) => typeof a == 'string')) ||
    (route.orderTopicConf != null && typeof route.orderTopicConf != 'string')
  ) {
    throw new CodecError('BAD_BODY', 'route body is not a TopicRouteData JSON object');
  }
  return route;
}

/** Per-topic round robin (ThreadLocalIndex): random non-negative start, `& 0x7fffffff`. */
export class SendWhichQueue {
  /** Not #private: tests set it to exercise the wrap. */
  value = crypto.getRandomValues(new Uint32Array(1))[0]! & 0x7fffffff;
  incrementAndGet(): number {
    return (this.value = (this.value + 1) | 0) & 0x7fffffff;
  }
}

/** TopicPublishInfo: the writable queues of a topic and the round-robin counter over them. */
export class TopicPublishInfo {
  orderTopic = false;
  haveTopicRouterInfo = false;
  messageQueueList: MessageQueue[] = [];
  readonly sendWhichQueue = new SendWhichQueue();
  declare readonly topic: string;
  declare readonly routeData?: TopicRouteData;
  constructor(topic: string, routeData?: TopicRouteData) {
    this.topic = topic;
    this.routeData = routeData;
  }

  /** Usable for sending: at least one writable queue. */
  get ok(): boolean {
    return this.messageQueueList.length > 0;
  }

  /** 5.6 without latency fault tolerance: round robin, avoiding lastBrokerName when possible. */
  selectOneMessageQueue(lastBrokerName?: string): MessageQueue {
    const list = this.messageQueueList;
    const next = (): MessageQueue => list[this.sendWhichQueue.incrementAndGet() % list.length]!;
    if (lastBrokerName != null) {
      for (const _ of list) {
        const mq = next();
        if (mq.brokerName !== lastBrokerName) return mq;
      }
    }
    return next();
  }

  /** writeQueueNums of a broker in the route (getQueueIdByBroker); -1 if absent. */
  writeQueueNumsOf(brokerName: string): number {
    return this.routeData?.queueDatas.find((d) => d.brokerName === brokerName)?.writeQueueNums ?? -1;
  }
}

/** MQClientInstance.topicRouteData2TopicPublishInfo (4.4). */
export function topicRouteData2TopicPublishInfo(topic: string, route: TopicRouteData): TopicPublishInfo {
  const info = new TopicPublishInfo(topic, route);
  const add = (brokerName: string, n: number): void => {
    for (let queueId = 0; queueId < n; queueId++) info.messageQueueList.push({ topic, brokerName, queueId });
  };
  if (route.orderTopicConf) {
    for (const item of route.orderTopicConf.split(';')) {
      const [brokerName, n] = item.split(':');
      if (brokerName) add(brokerName, +n!);
    }
    info.orderTopic = true;
  } else {
    const qds = [...route.queueDatas].sort((a, b) => (a.brokerName < b.brokerName ? -1 : +(a.brokerName > b.brokerName)));
    for (const { brokerName, perm, writeQueueNums } of qds) {
      if (perm & PERM_WRITE && route.brokerDatas.find((b) => b.brokerName === brokerName)?.brokerAddrs[MASTER_ID]) add(brokerName, writeQueueNums);
    }
  }
  info.haveTopicRouterInfo = true;
  return info;
}
