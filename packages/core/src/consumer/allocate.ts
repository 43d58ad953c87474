// Which queues a consumer reads (10.5): the readable queues of a route, and their division among a
// group's members as AllocateMessageQueueAveragely does it.
import type { MessageQueue } from '../message/index.js';
import { PermName, type TopicRouteData } from '../route/topic-route.js';

/** MQClientInstance.topicRouteData2TopicSubscribeInfo: every queue of every readable broker entry. */
export function topicRouteData2TopicSubscribeInfo(topic: string, route: TopicRouteData): MessageQueue[] {
  const out: MessageQueue[] = [];
  for (const { brokerName, perm, readQueueNums } of route.queueDatas) {
    if (perm & PermName.PERM_READ) for (let queueId = 0; queueId < readQueueNums; queueId++) out.push({ topic, brokerName, queueId });
  }
  return out;
}

/** Java String.compareTo (UTF-16 code units, as JS comparison operators). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** MessageQueue.compareTo: topic, then brokerName, then queueId. */
export const compareMessageQueue = (a: MessageQueue, b: MessageQueue): number =>
  compare(a.topic, b.topic) || compare(a.brokerName, b.brokerName) || a.queueId - b.queueId;

/**
 * AllocateMessageQueueAveragely: consumer i of n (client ids sorted) takes a contiguous run of the
 * sorted queues, the first m % n consumers one more. A client not in the list gets nothing.
 */
export function allocateMessageQueueAveragely(currentCID: string, mqAll: readonly MessageQueue[], cidAll: readonly string[]): MessageQueue[] {
  const mqs = [...mqAll].sort(compareMessageQueue);
  const cids = [...cidAll].sort(compare);
  const index = cids.indexOf(currentCID);
  if (index < 0 || !mqs.length) return [];
  const m = mqs.length;
  const n = cids.length;
  const mod = m % n;
  const averageSize = m <= n ? 1 : mod > 0 && index < mod ? Math.floor(m / n) + 1 : Math.floor(m / n);
  const startIndex = mod > 0 && index < mod ? index * averageSize : index * averageSize + mod;
  const range = Math.min(averageSize, m - startIndex);
  const out: MessageQueue[] = [];
  for (let i = 0; i < range; i++) out.push(mqs[(startIndex + i) % m]!);
  return out;
}
