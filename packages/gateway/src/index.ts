// Public API of @rocketmq-edge/gateway.
export { startGateway, WS_PATH } from './gateway.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { Authenticator, AuthError, topicPattern, makePrincipal } from './auth.js';
export type { AuthOptions, JwtAuthOptions, StaticTokenGrant, Principal } from './auth.js';
export { aclSignature, signRequest } from './acl.js';
export type { AclCredentials } from './acl.js';
export { AliasTable, aliasFor } from './aliases.js';
export { ADMIN_CODES, PRODUCER_CODES, CONSUMER_CODES } from './policy.js';
export * from './options.js';
export { GatewayMetrics } from './metrics.js';
export * from './http-options.js';
export { HttpPublisher } from './publisher.js';
export type { HttpSendResult } from './publisher.js';
export { BEACON_AUDIENCE, BEACON_TYP, MAX_BEACON_TOKEN_TTL_MS } from './beacon.js';
