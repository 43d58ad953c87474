// TopicRouteData as the name server sends it (4.3), and its conversion to publishable queues (4.4).
import { CodecError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import { parseLenientJson } from '../remoting/json.js';

/** PermName.java bits. */
export const PermName = { PERM_PRIORITY: 8, PERM_READ: 4, PERM_WRITE: 2, PERM_INHERIT: 1 } as const;
/** MixAll.MASTER_ID: producers only ever talk to the master. */
export const MASTER_ID = '0';

export interface QueueData { brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number; topicSysFlag: number }
export interface BrokerData { brokerName: string; cluster: string; brokerAddrs: Record<string, string> }
export interface TopicRouteData {
  queueDatas: QueueData[];
  brokerDatas: BrokerData[];
  orderTopicConf?: string;
  filterServerTable?: Record<string, string[]>;
}

/** Parses a GET_ROUTEINFO_BY_TOPIC body; accepts fastjson's bare integer keys (`{0:"h:p"}`). */
export function parseTopicRouteData(body: Uint8Array | undefined): TopicRouteData {
  if (!body || body.length === 0) throw new CodecError('BAD_BODY', 'route response has no body');
  const raw = parseLenientJson(new TextDecoder().decode(body)) as Record<string, unknown> | null;
  if (!raw || typeof raw !== 'object') throw new CodecError('BAD_BODY', 'route body is not a JSON object');
  const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
  const route: TopicRouteData = {
    queueDatas: arr(raw.queueDatas).map((q) => ({
      brokerName: String(q.brokerName ?? ''),
      readQueueNums: num(q.readQueueNums),
      writeQueueNums: num(q.writeQueueNums),
      perm: num(q.perm),
      topicSysFlag: num(q.topicSysFlag),
    })),
    brokerDatas: arr(raw.brokerDatas).map((b) => {
      const addrs: Record<string, string> = {};
      if (b.brokerAddrs && typeof b.brokerAddrs === 'object') {
        for (const [id, a] of Object.entries(b.brokerAddrs as Record<string, unknown>)) if (typeof a === 'string') addrs[id] = a;
      }
      return { brokerName: String(b.brokerName ?? ''), cluster: String(b.cluster ?? ''), brokerAddrs: addrs };
    }),
  };
  if (typeof raw.orderTopicConf === 'string' && raw.orderTopicConf) route.orderTopicConf = raw.orderTopicConf;
  return route;
}

/** Per-topic round robin (ThreadLocalIndex): random non-negative start, `& 0x7fffffff`. */
export class SendWhichQueue {
  private value: number;
  constructor(start?: number) {
    this.value = start ?? crypto.getRandomValues(new Uint32Array(1))[0]! & 0x7fffffff;
  }
  incrementAndGet(): number {
    this.value = (this.value + 1) | 0;
    return this.value & 0x7fffffff;
  }
}

/** TopicPublishInfo: the writable queues of a topic and the round-robin counter over them. */
export class TopicPublishInfo {
  orderTopic = false;
  haveTopicRouterInfo = false;
  messageQueueList: MessageQueue[] = [];
  readonly sendWhichQueue = new SendWhichQueue();
  constructor(readonly topic: string, readonly routeData?: TopicRouteData) {}

  /** Usable for sending: at least one writable queue. */
  get ok(): boolean {
    return this.messageQueueList.length > 0;
  }

  /** 5.6 without latency fault tolerance: round robin, avoiding lastBrokerName when possible. */
  selectOneMessageQueue(lastBrokerName?: string): MessageQueue {
    const list = this.messageQueueList;
    if (lastBrokerName === undefined || lastBrokerName === null) return list[this.sendWhichQueue.incrementAndGet() % list.length]!;
    for (let i = 0; i < list.length; i++) {
      const mq = list[this.sendWhichQueue.incrementAndGet() % list.length]!;
      if (mq.brokerName !== lastBrokerName) return mq;
    }
    return list[this.sendWhichQueue.incrementAndGet() % list.length]!;
  }

  /** writeQueueNums of a broker in the route (getQueueIdByBroker); -1 if absent. */
  writeQueueNumsOf(brokerName: string): number {
    const q = this.routeData?.queueDatas.find((d) => d.brokerName === brokerName);
    return q ? q.writeQueueNums : -1;
  }
}

/** MQClientInstance.topicRouteData2TopicPublishInfo (4.4). */
export function topicRouteData2TopicPublishInfo(topic: string, route: TopicRouteData): TopicPublishInfo {
  const info = new TopicPublishInfo(topic, route);
  if (route.orderTopicConf) {
    for (const item of route.orderTopicConf.split(';')) {
      const [brokerName, n] = item.split(':');
      if (!brokerName) continue;
      for (let i = 0; i < Number(n); i++) info.messageQueueList.push({ topic, brokerName, queueId: i });
    }
    info.orderTopic = true;
  } else {
    const qds = [...route.queueDatas].sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
    for (const qd of qds) {
      if ((qd.perm & PermName.PERM_WRITE) === 0) continue;
      const bd = route.brokerDatas.find((b) => b.brokerName === qd.brokerName);
      if (!bd || !bd.brokerAddrs[MASTER_ID]) continue;
      for (let i = 0; i < qd.writeQueueNums; i++) info.messageQueueList.push({ topic, brokerName: qd.brokerName, queueId: i });
    }
  }
  info.haveTopicRouterInfo = true;
  return info;
}
