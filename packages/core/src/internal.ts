// For sibling packages (transports, broker, gateway): protocol building blocks that are not part of
// the user-facing API and may change between minor versions.
export * from './remoting/codes.js';
export * from './remoting/command.js';
export * from './remoting/codec.js';
export * from './remoting/json.js';
export * from './remoting/hashmap-order.js';
export * from './remoting/write-batcher.js';
export * from './transport.js';
export * from './errors.js';
export * from './message/index.js';
export * from './remoting/client.js';
export * from './route/index.js';
export * from './producer/index.js';
export * from './testing/memory-transport.js';
export * from './testing/scripted.js';
export * from './testing/recording-transport.js';
export { buildSubscriptionData, matchesTags, SUB_ALL } from './consumer/subscription.js';
export type { SubscriptionData } from './consumer/subscription.js';
