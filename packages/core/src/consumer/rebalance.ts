// RebalanceImpl / RebalanceLitePullImpl: which queues of a topic this member reads, and where a queue
// new to it starts.
import { MQClientError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import type { RouteManager } from '../route/manager.js';
import { MASTER_ID } from '../route/topic-route.js';
import { allocateMessageQueueAveragely, topicRouteData2TopicSubscribeInfo } from './allocate.js';
import { getConsumerIdListByGroup, type ClientApi } from './client-api.js';
import { RC_GET_MAX_OFFSET, RC_SEARCH_OFFSET_BY_TIMESTAMP } from './codes.js';
import { OFFSET_NOT_FOUND, type RemoteBrokerOffsetStore } from './offset-store.js';
import type { ResolvedConsumerOptions } from './options.js';

export interface RebalanceContext {
  routes_: RouteManager;
  api_: ClientApi;
  consumerGroup_: string;
  clientId_: string;
  /** A heartbeat to `addr` unless it had one: the broker lists only members it heard from. */
  ensureHeartbeat_(addr: string): Promise<void>;
}

/** The readable queues of a topic from its cached route (MQClientInstance.topicSubscribeInfoTable). */
export function subscribeQueues(routes: RouteManager, topic: string): MessageQueue[] {
  const route = routes.topicPublishInfoTable.get(topic)?.routeData;
  if (!route) throw new MQClientError(10005 /* NOT_FOUND_TOPIC_EXCEPTION */, `No route info of this topic: ${topic}: create it, or enable autoCreateTopicEnable on the broker`);
  return topicRouteData2TopicSubscribeInfo(topic, route);
}

/**
 * RebalanceImpl.rebalanceByTopic in clustering mode: the topic's queues from its route, the group's
 * members from any broker serving it (GET_CONSUMER_LIST_BY_GROUP), and this member's share
 * (AllocateMessageQueueAveragely).
 */
export async function rebalanceByTopic(ctx: RebalanceContext, topic: string, timeoutMs: number): Promise<{ mqAll: MessageQueue[]; mqDivided: MessageQueue[] }> {
  const routes = ctx.routes_;
  if (!routes.topicPublishInfoTable.has(topic)) await routes.updateRoute_(topic, false, timeoutMs);
  const mqAll = subscribeQueues(routes, topic);
  // findConsumerIdList: a random broker of the route (heartbeats go to all of them).
  const brokers = routes.topicPublishInfoTable.get(topic)!.routeData!.brokerDatas;
  const bd = brokers[Math.floor(Math.random() * brokers.length)];
  const addr = bd && (bd.brokerAddrs[MASTER_ID] ?? Object.values(bd.brokerAddrs)[0]);
  if (!addr) throw new MQClientError(-1, `rebalance of ${topic}: no broker in its route`);
  await ctx.ensureHeartbeat_(addr);
  const cidAll = await getConsumerIdListByGroup(ctx.api_, addr, ctx.consumerGroup_);
  return { mqAll, mqDivided: allocateMessageQueueAveragely(ctx.clientId_, mqAll, cidAll) };
}

/**
 * RebalanceLitePullImpl.computePullFromWhereWithException: the committed offset, else per
 * consumeFromWhere. `queueOffset` asks the queue's broker (GET_MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP).
 */
export async function computePullFromWhere(
  store: RemoteBrokerOffsetStore,
  o: Pick<ResolvedConsumerOptions, 'consumeFromWhere' | 'consumeTimestamp'>,
  mq: MessageQueue,
  queueOffset: (code: number, mq: MessageQueue, timestamp?: number) => Promise<number>,
): Promise<number> {
  const last = await store.readOffset(mq);
  if (last >= 0) return last;
  if (last !== OFFSET_NOT_FOUND) throw new MQClientError(-1, `cannot read the committed offset of ${JSON.stringify(mq)} from its broker; retrying`);
  const retry = mq.topic.startsWith('%RETRY%');
  switch (o.consumeFromWhere) {
    case 'CONSUME_FROM_FIRST_OFFSET':
      return 0;
    case 'CONSUME_FROM_TIMESTAMP':
      return retry ? queueOffset(RC_GET_MAX_OFFSET, mq) : queueOffset(RC_SEARCH_OFFSET_BY_TIMESTAMP, mq, o.consumeTimestamp);
    default:
      // A new group starts at the end; the broker answers QUERY_CONSUMER_OFFSET with 0 instead while
      // the queue is young (min offset 0, first message still in memory), so nothing early is missed.
      return retry ? 0 : queueOffset(RC_GET_MAX_OFFSET, mq);
  }
}
