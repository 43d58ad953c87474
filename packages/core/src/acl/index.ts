// @rocketmq-edge/core/acl: RocketMQ ACL request signing (AclClientRPCHook) with WebCrypto, an entry
// of its own so that apps that do not sign never bundle it.
export { AclTransport } from './transport.js';
export { ACCESS_KEY, SECURITY_TOKEN, SIGNATURE, aclContent, aclSignature, addAclFields, base64, signRequest } from './sign.js';
export type { AclCredentials } from './sign.js';
