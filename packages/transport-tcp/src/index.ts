// Public API of @rocketmq-edge/transport-tcp (Node only; browsers get src/browser.ts).
export { TcpTransport, TCP_TRANSPORT_DEFAULTS } from './transport.js';
export type { TcpTransportOptions } from './transport.js';
export { TcpConnection } from './connection.js';
export { parseHostPort, parseNamesrvAddr } from './address.js';
export type { HostPort } from './address.js';
