// AclClientRPCHook as the gateway applies it to every upstream request (protocol section 9), with
// core's definition of what is signed (aclContent, addAclFields: one implementation of the
// algorithm). The relay signs here synchronously with node:crypto's HMAC rather than with core's
// WebCrypto signRequest: a relayed frame is parsed, checked, signed and written to a pooled upstream
// connection in one synchronous step, so frames of all sessions leave in the order they arrived and
// the hot path allocates no promise per frame; an async sign would need a queue per upstream connection.
import { createHmac } from 'node:crypto';
import { aclContent, addAclFields, type AclCredentials } from '@rocketmq-edge/core/acl';
import type { RemotingCommand } from '@rocketmq-edge/core/internal';

export type { AclCredentials };

/** extFields keys a client may never set itself: ACL identity belongs to the gateway. */
export const ACL_KEYS = ['AccessKey', 'SecretKey', 'Signature', 'SecurityToken'] as const;

export function hasAclFields(cmd: RemotingCommand): boolean {
  const ext = cmd.extFields;
  if (!ext) return false;
  for (const k of ACL_KEYS) if (k in ext) return true;
  return false;
}

export function stripAclFields(cmd: RemotingCommand): void {
  const ext = cmd.extFields;
  if (!ext) return;
  for (const k of ACL_KEYS) if (k in ext) delete ext[k];
}

/** Signature = Base64(HMAC-SHA1(secretKey, values of extFields sorted by key (minus Signature) + body)). */
export function aclSignature(extFields: Record<string, string>, body: Uint8Array | undefined, secretKey: string): string {
  return createHmac('sha1', secretKey).update(aclContent(extFields, body)).digest('base64');
}

export function signRequest(cmd: RemotingCommand, acl: AclCredentials): void {
  const ext = addAclFields(cmd, acl);
  ext.Signature = aclSignature(ext, cmd.body, acl.secretKey);
}
