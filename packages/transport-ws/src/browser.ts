// Entry of the prebuilt browser bundle dist/browser/rocketmq-edge.js (scripts/build.mjs), which the
// demo, the worker and the Deno app import: what a web app needs to publish — Producer,
// WebSocketTransport, the error classes to tell failures apart, and the types.
// Kept to that so the one file apps ship stays small: consumer-side and protocol helpers
// (decodeStoredMessages, MessageConst, RequestCode, ...) are in `@rocketmq-edge/core` and
// `@rocketmq-edge/core/internal`; transport internals (backoffDelay, DEFAULT_*, CloseCode,
// SUBPROTOCOL) in `@rocketmq-edge/transport-ws` and `@rocketmq-edge/transport-ws/envelope`.
export {
  Producer,
  RocketMQError,
  MQClientError,
  MQBrokerError,
  RemotingError,
  RemotingConnectError,
  RemotingTimeoutError,
  RemotingTooMuchRequestError,
  CodecError,
  AbortError,
} from '@rocketmq-edge/core';
export type {
  ErrorOptions,
  CodecErrorReason,
  RemotingCommand,
  SerializeType,
  Transport,
  TransportConnection,
  ConnectionHandlers,
  Message,
  MessageQueue,
  MessageExt,
  ProducerEvents,
  SendOptions,
  SendContext,
  SendHook,
  SendMode,
  ServiceState,
  ProducerOptions,
  SendResult,
  SendStatus,
  Clock,
  LatencyTableName,
  ConnectionEvent,
} from '@rocketmq-edge/core';
export { WebSocketTransport } from './transport.js';
export type { WebSocketTransportOptions, WebSocketTransportEvents, TokenSource } from './transport.js';
export type {
  ConnectionState,
  ReconnectOptions,
  WebSocketFactory,
  WebSocketLike,
  WebSocketCtor,
} from './types.js';
