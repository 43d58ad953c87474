// Entry of the prebuilt browser bundle dist/browser/rocketmq-edge.js (scripts/build.mjs), which the
// demo, the worker and the Deno app import: core's public API + WebSocketTransport and its types.
// Transport internals (backoffDelay, DEFAULT_*, CloseCode, SUBPROTOCOL) stay in
// `@rocketmq-edge/transport-ws` and `@rocketmq-edge/transport-ws/envelope`.
export * from '@rocketmq-edge/core';
export { WebSocketTransport } from './transport.js';
export type { WebSocketTransportOptions, WebSocketTransportEvents, TokenSource } from './transport.js';
export type {
  ConnectionState,
  ReconnectOptions,
  WebSocketFactory,
  WebSocketLike,
  WebSocketCtor,
} from './types.js';
