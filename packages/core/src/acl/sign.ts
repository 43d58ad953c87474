// AclClientRPCHook (protocol section 9): AccessKey (+ SecurityToken) added to the request's
// extFields, then Signature = Base64(HMAC-SHA1(secretKey, the values of every other extField sorted
// by key, then the body)). One implementation for every runtime: the HMAC is WebCrypto's here; the
// gateway applies node:crypto's synchronous HMAC to the same content bytes (see its acl.ts).
import type { RemotingCommand } from '../remoting/command.js';
import { utf8 } from '../utf8.js';

/** SessionCredentials: what a RocketMQ ACL account signs with. The secret key never goes on the wire. */
export interface AclCredentials {
  accessKey: string;
  secretKey: string;
  securityToken?: string;
}

/** extFields keys of SessionCredentials. */
export const ACCESS_KEY = 'AccessKey';
export const SECURITY_TOKEN = 'SecurityToken';
export const SIGNATURE = 'Signature';

/**
 * The bytes the signature covers (AclUtils.combineRequestContent): the values of all extFields but
 * Signature, in ascending key order (UTF-16 code units, as Java's TreeMap), concatenated without
 * separators, as UTF-8, followed by the body.
 */
export function aclContent(extFields: Record<string, string>, body?: Uint8Array): Uint8Array<ArrayBuffer> {
  const keys = Object.keys(extFields).filter((k) => k !== SIGNATURE).sort();
  let text = '';
  for (const k of keys) text += extFields[k];
  const head = utf8.encode(text);
  if (!body || body.length === 0) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Step 1-2 of the hook: the account's AccessKey (and SecurityToken) go in, a stale Signature out. Returns the extFields. */
export function addAclFields(cmd: RemotingCommand, creds: AclCredentials): Record<string, string> {
  const ext = (cmd.extFields ??= {});
  ext[ACCESS_KEY] = creds.accessKey;
  if (creds.securityToken) ext[SECURITY_TOKEN] = creds.securityToken;
  delete ext[SIGNATURE];
  return ext;
}

/** Standard Base64 with padding (btoa exists in browsers, Deno, Workers and Node >= 16). */
export function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

/** HMAC-SHA1 keys by secret: importKey is the slow part, once per secret is enough. */
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secretKey: string): Promise<CryptoKey> {
  let k = keys.get(secretKey);
  if (!k) {
    if (keys.size >= 64) keys.clear();
    k = crypto.subtle.importKey('raw', utf8.encode(secretKey), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    keys.set(secretKey, k);
  }
  return k;
}

/** Base64(HMAC-SHA1(secretKey, content)) with WebCrypto (AclSigner.calSignature). */
export async function aclSignature(content: Uint8Array<ArrayBuffer>, secretKey: string): Promise<string> {
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secretKey), content);
  return base64(new Uint8Array(sig));
}

/**
 * Signs a request in place as AclClientRPCHook.doBeforeRequest does: after its header has become
 * extFields, right before it is encoded.
 */
export async function signRequest(cmd: RemotingCommand, creds: AclCredentials): Promise<RemotingCommand> {
  const ext = addAclFields(cmd, creds);
  ext[SIGNATURE] = await aclSignature(aclContent(ext, cmd.body), creds.secretKey);
  return cmd;
}
