// The gateway's own producer (HTTP publishes) signs its requests with the gateway's ACL credentials
// through core's AclTransport (WebCrypto; each connection writes its frames in the order given):
// the one signing transport of the repository. The HTTP path is not the relay's synchronous hot path.
export { AclTransport as SigningTransport } from '@rocketmq-edge/core/acl';
