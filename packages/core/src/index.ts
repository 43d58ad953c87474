// Public API of @rocketmq-edge/core.
export * from './errors.js';
export { RequestCode, ResponseCode, ClientErrorCode, VERSION_4_9_8 } from './remoting/codes.js';
export type { RemotingCommand, SerializeType } from './remoting/command.js';
export { NAMESRV_TARGET } from './transport.js';
export type { Transport, TransportConnection, ConnectionHandlers } from './transport.js';
