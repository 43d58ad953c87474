// java.util.HashMap iteration order for String keys, so that headers we write are byte-identical
// to what a Java 4.9.8 client or broker writes (their extFields is a HashMap).
import { setOwn } from '../message/properties.js';

/** Java String.hashCode over UTF-16 code units, 32-bit signed. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Orders keys as a HashMap filled in the given (insertion) order would iterate them. */
export function javaHashMapOrder(keys: readonly string[]): string[] {
  let capacity = 16;
  // threshold = 0.75 * capacity; the table doubles once size exceeds it.
  while (keys.length > capacity * 0.75) capacity *= 2;
  const buckets: string[][] = [];
  for (const k of keys) {
    const h = javaStringHash(k);
    (buckets[(h ^ (h >>> 16)) & (capacity - 1)] ??= []).push(k);
  }
  return buckets.flat();
}

/** A new record with the same entries in Java HashMap order. */
export function inJavaOrder(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of javaHashMapOrder(Object.keys(fields))) setOwn(out, k, fields[k]!);
  return out;
}
