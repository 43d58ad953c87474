// ACL verification when the broker runs with accounts (4.9.8 PlainAccessValidator, authentication
// part): every request with a processor must carry an AccessKey of a known account and the
// AclClientRPCHook signature over its extFields and body, computed with core's aclContent (the one
// implementation of what is signed) and node's HMAC. Refusals are SYSTEM_ERROR with the remark a
// 4.9.8 broker gives (RemotingHelper.exceptionSimpleDesc of the AclException). Topic permissions are
// not checked: an authenticated account may use every topic.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ACCESS_KEY, SIGNATURE, aclContent } from '@rocketmq-edge/core/acl';
import type { RemotingCommand } from '@rocketmq-edge/core/internal';
import type { RequestGuard } from '../remoting-server.js';

export interface AclAccount {
  accessKey: string;
  secretKey: string;
}

/** MixAll.UNIQUE_MSG_QUERY_FLAG: the 4.9.8 broker leaves it out of the signed content. */
const UNIQUE_MSG_QUERY_FLAG = '_UNIQUE_KEY_QUERY';

/** The AclException remark: its toString, then the top stack frame (line numbers of 4.9.8's PlainPermissionManager). */
function aclException(message: string, line: number): string {
  return `org.apache.rocketmq.acl.common.AclException: ${message}, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:${line})`;
}

export function parseAclAccount(text: string): AclAccount {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new Error(`an ACL account is "accessKey:secretKey", got "${text}"`);
  return { accessKey: text.slice(0, i), secretKey: text.slice(i + 1) };
}

export function aclGuard(accounts: readonly AclAccount[]): RequestGuard {
  const secrets = new Map<string, string>();
  for (const a of accounts) {
    if (!a.accessKey || !a.secretKey) throw new Error('every ACL account needs an accessKey and a secretKey');
    if (a.secretKey.length < 6) throw new Error(`the secret key of ${a.accessKey} is shorter than 6 characters (4.9.8 refuses those too)`);
    secrets.set(a.accessKey, a.secretKey);
  }
  return (req: RemotingCommand) => {
    const ext = req.extFields;
    const accessKey = ext?.[ACCESS_KEY];
    if (!ext || accessKey === undefined) return aclException('No accessKey is configured', 664);
    const secret = secrets.get(accessKey);
    if (secret === undefined) return aclException(`No acl config for ${accessKey}`, 668);
    const signed: Record<string, string> = {};
    for (const k of Object.keys(ext)) if (k !== UNIQUE_MSG_QUERY_FLAG) signed[k] = ext[k]!;
    const expected = createHmac('sha1', secret).update(aclContent(signed, req.body)).digest();
    const given = Buffer.from(ext[SIGNATURE] ?? '', 'base64');
    // Compared as bytes in constant time (4.9.8 compares the Base64 strings).
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64') !== ext[SIGNATURE]) {
      return aclException(`Check signature failed for accessKey=${accessKey}`, 684);
    }
    return undefined;
  };
}
