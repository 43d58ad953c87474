// java.util.HashMap iteration order for String keys, so that headers we write are byte-identical
// to what a Java 4.9.8 client or broker writes (their extFields is a HashMap).
import { setOwn } from '../message/properties.js';

/** Java String.hashCode over UTF-16 code units, 32-bit signed. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Orders of key lists seen before: a send's header and properties use the same few lists. */
const orders = new Map<string, readonly string[]>();

/** Orders keys as a HashMap filled in the given (insertion) order would iterate them. */
export function javaHashMapOrder(keys: readonly string[]): readonly string[] {
  // The joined keys name one key list only if no key holds the joiner (property names never do:
  // \u0001 separates name and value); lists that do are ordered afresh, not cached.
  const sig = keys.some((k) => k.includes('\u0001')) ? undefined : keys.join('\u0001');
  let order = sig === undefined ? undefined : orders.get(sig);
  if (order) return order;
  let capacity = 16;
  // threshold = 0.75 * capacity; the table doubles once size exceeds it.
  while (keys.length > capacity * 0.75) capacity *= 2;
  const buckets: string[][] = [];
  for (const k of keys) {
    const h = javaStringHash(k);
    (buckets[(h ^ (h >>> 16)) & (capacity - 1)] ??= []).push(k);
  }
  order = buckets.flat();
  if (sig !== undefined) {
    if (orders.size >= 512) orders.clear();
    orders.set(sig, order);
  }
  return order;
}

/** A new record with the same entries in Java HashMap order. */
export function inJavaOrder(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of javaHashMapOrder(Object.keys(fields))) setOwn(out, k, fields[k]!);
  return out;
}
