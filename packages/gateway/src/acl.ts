// AclClientRPCHook as the gateway applies it to every upstream request (protocol section 9).
import { createHmac } from 'node:crypto';
import type { RemotingCommand } from '@rocketmq-edge/core/internal';

export interface AclCredentials { accessKey: string; secretKey: string; securityToken?: string }

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
  const keys = Object.keys(extFields).filter((k) => k !== 'Signature').sort();
  let content = '';
  for (const k of keys) content += extFields[k];
  const h = createHmac('sha1', secretKey).update(content, 'utf8');
  if (body && body.length) h.update(body);
  return h.digest('base64');
}

export function signRequest(cmd: RemotingCommand, acl: AclCredentials): void {
  const ext = (cmd.extFields ??= {});
  ext.AccessKey = acl.accessKey;
  if (acl.securityToken) ext.SecurityToken = acl.securityToken;
  delete ext.Signature;
  ext.Signature = aclSignature(ext, cmd.body, acl.secretKey);
}
