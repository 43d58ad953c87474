// Public API of @rocketmq-edge/core.
export * from './errors.js';
export { EventEmitter } from './emitter.js';
export type { EventArgs, EventListener } from './emitter.js';
export { RequestCode, ResponseCode, ClientErrorCode, GATEWAY_DENIED, VERSION_4_9_8 } from './remoting/codes.js';
export type { RemotingCommand, SerializeType } from './remoting/command.js';
export { NAMESRV_TARGET } from './transport.js';
export type { Transport, TransportConnection, ConnectionHandlers } from './transport.js';
export type { Message, MessageQueue, MessageExt } from './message/index.js';
export {
  MessageConst, validateTopic, validateGroup, validateMessage, isSystemTopic, decodeStoredMessages, createUniqId, wrapNamespace, withoutNamespace,
} from './message/index.js';
export { Producer } from './producer/producer.js';
export { autoBatch } from './producer/accumulator.js';
export type { AutoBatch } from './producer/accumulator.js';
export type { ProducerEvents, SendOptions, ServiceState, SendContext, SendHook, SendMode } from './producer/producer.js';
export type { ProducerOptions } from './producer/options.js';
export * from './producer/options.js';
export type { SendResult, SendStatus } from './producer/send-result.js';
export type { Clock, LatencyTableName } from './producer/fault.js';
export { TopicPublishInfo } from './route/topic-route.js';
export type { ConnectionEvent } from './remoting/client.js';
