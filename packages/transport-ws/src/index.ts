// Public API of @rocketmq-edge/transport-ws.
export { WebSocketTransport, backoffDelay, coalesceFrames } from './transport.js';
export {
  DEFAULT_RECONNECT,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_QUEUED_FRAMES,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from './defaults.js';
export type { WebSocketTransportOptions, WebSocketTransportEvents, TokenSource, Coalesce } from './transport.js';
export type {
  ConnectionState,
  ReconnectOptions,
  WebSocketFactory,
  WebSocketLike,
  WebSocketCtor,
} from './types.js';
export { CloseCode, SUBPROTOCOL } from './envelope.js';
