// Namespaces (NamespaceUtil.java): a namespace `ns` turns topic or group `T` into `ns%T` on the wire
// (`%RETRY%ns%T` for retry and `%DLQ%ns%T` for dead-letter names); system topics and groups stay as
// they are. Users keep seeing their own names: results are unwrapped again.
import { isSystemTopic } from './validators.js';

/** The %RETRY% / %DLQ% prefix of a name, or ''. */
const prefixOf = (r: string): string => /^%(RETRY|DLQ)%/.exec(r)?.[0] ?? '';
/** System topics and CID_RMQ_SYS_ groups are never wrapped (NamespaceUtil.isSystemResource). */
const isSystemResource = (r: string): boolean => isSystemTopic(r) || r.startsWith('CID_RMQ_SYS_');

/** NamespaceUtil.wrapNamespace: `T` → `ns%T`; empty, system and already wrapped names unchanged. */
export function wrapNamespace(namespace: string | undefined, resource: string): string {
  if (!namespace || !resource || isSystemResource(resource)) return resource;
  const p = prefixOf(resource);
  const rest = resource.slice(p.length);
  return rest.startsWith(namespace + '%') ? resource : p + namespace + '%' + rest;
}

/**
 * NamespaceUtil.withoutNamespace(resource, namespace): `ns%T` → `T` (`%RETRY%ns%T` → `%RETRY%T`);
 * names of another namespace, or none, unchanged.
 */
export function withoutNamespace(resource: string, namespace: string | undefined): string {
  if (!namespace || !resource || isSystemResource(resource)) return resource;
  const p = prefixOf(resource);
  const rest = resource.slice(p.length);
  // Java cuts at the first '%' of the rest (the namespace's own '%', if it has one), if not at 0.
  const i = rest.indexOf('%');
  return rest.startsWith(namespace + '%') && i > 0 ? p + rest.slice(i + 1) : resource;
}
