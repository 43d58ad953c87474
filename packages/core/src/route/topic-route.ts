// TopicRouteData as the name server sends it (4.3), and its conversion to publishable queues (4.4).
import { CodecError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import { parseLenientJson } from '../remoting/json.js';

/** MixAll.MASTER_ID: producers only ever talk to the master. */
export const MASTER_ID = '0';
const PERM_WRITE = 2;
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

/** Parses a GET_ROUTEINFO_BY_TOPIC body; accepts fastjson's bare integer keys (`{0:"h:p"}`). */
export function parseTopicRouteData(body: Uint8Array | undefined): TopicRouteData {
  if (!body || body.length === 0) throw new CodecError('BAD_BODY', 'route response has no body');
  const raw = parseLenientJson(new TextDecoder().decode(body)) as Record<string, unknown> | null;
  if (!isObject(raw)) throw new CodecError('BAD_BODY', 'route body is not a JSON object');
  const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isObject) : []);
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
  const str = (v: unknown): string => String(v ?? '');
  const route: TopicRouteData = {
    queueDatas: arr(raw.queueDatas).map((q) => ({
      brokerName: str(q.brokerName),
      readQueueNums: num(q.readQueueNums),
      writeQueueNums: num(q.writeQueueNums),
      perm: num(q.perm),
      topicSysFlag: num(q.topicSysFlag),
    })),
    brokerDatas: arr(raw.brokerDatas).map((b) => {
      const addrs: Record<string, string> = {};
      if (isObject(b.brokerAddrs)) for (const [id, a] of Object.entries(b.brokerAddrs)) if (typeof a === 'string') addrs[id] = a;
      return { brokerName: str(b.brokerName), cluster: str(b.cluster), brokerAddrs: addrs };
    }),
  };
  if (typeof raw.orderTopicConf === 'string' && raw.orderTopicConf) route.orderTopicConf = raw.orderTopicConf;
  return route;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object';

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
    const next = (): MessageQueue => list[this.sendWhichQueue.incrementAndGet() % list.length]!;
    if (lastBrokerName != null) {
      for (let i = 0; i < list.length; i++) {
        const mq = next();
        if (mq.brokerName !== lastBrokerName) return mq;
      }
    }
    return next();
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
  const add = (brokerName: string, n: number): void => {
    for (let queueId = 0; queueId < n; queueId++) info.messageQueueList.push({ topic, brokerName, queueId });
  };
  if (route.orderTopicConf) {
    for (const item of route.orderTopicConf.split(';')) {
      const [brokerName, n] = item.split(':');
      if (brokerName) add(brokerName, Number(n));
    }
    info.orderTopic = true;
  } else {
    const qds = [...route.queueDatas].sort((a, b) => (a.brokerName < b.brokerName ? -1 : +(a.brokerName > b.brokerName)));
    for (const { brokerName, perm, writeQueueNums } of qds) {
      const bd = route.brokerDatas.find((b) => b.brokerName === brokerName);
      if (perm & PERM_WRITE && bd?.brokerAddrs[MASTER_ID]) add(brokerName, writeQueueNums);
    }
  }
  info.haveTopicRouterInfo = true;
  return info;
}
