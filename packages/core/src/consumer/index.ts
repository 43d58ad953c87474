// @rocketmq-edge/core/consumer: the pull consumer, an entry of its own so that apps that only
// publish never bundle it.
export { LitePullConsumer } from './lite-pull-consumer.js';
export type { ConsumerState, LitePullConsumerEvents, PollOptions, RebalanceEvent } from './lite-pull-consumer.js';
export type { ConsumeFromWhere, LitePullConsumerOptions, ResolvedConsumerOptions } from './options.js';
export {
  DEFAULT_AUTO_COMMIT_INTERVAL_MILLIS, DEFAULT_BROKER_SUSPEND_MAX_TIME_MILLIS, DEFAULT_CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND,
  DEFAULT_PERSIST_CONSUMER_OFFSET_INTERVAL, DEFAULT_POLL_TIMEOUT_MILLIS, DEFAULT_PULL_BATCH_SIZE, DEFAULT_REBALANCE_INTERVAL,
} from './options.js';
export { allocateMessageQueueAveragely } from './allocate.js';
export { buildSubscriptionData, SUB_ALL } from './subscription.js';
export type { SubscriptionData } from './subscription.js';
export type { MessageExt, MessageQueue } from '../message/index.js';
