// JSON as RocketMQ's fastjson writes and reads it.
import { CodecError } from '../errors.js';

/** Strings JSON.stringify writes as they are, between quotes. */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** A JSON string literal the way fastjson 1.x writes it (uppercase hex in \uXXXX escapes). */
export function fastjsonString(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  const j = JSON.stringify(s);
  // Escapes are pairs (an escaped backslash too, so "\\u00ab" stays text); only \u escapes
  // with a hex letter differ from fastjson.
  return /\\u\d{0,3}[a-f]/.test(j) ? j.replace(/\\(u[0-9a-f]{4}|.)/g, (m, e: string) => (e.length > 1 ? `\\${e.toUpperCase().replace('U', 'u')}` : m)) : j;
}

/**
 * Parses JSON that may use fastjson's non-standard bare integer object keys
 * (`{"brokerAddrs":{0:"127.0.0.1:10911"}}`, sent by name servers to clients older than 4.9.4).
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    // Quote integer keys (after `{` or `,`, before `:`) outside string literals, which are matched
    // whole and kept as they are.
    const quoted = text.replace(/("(?:[^"\\]|\\.)*")|([{,]\s*)(-?\d+)(?=\s*:)/g, (m, str: string | undefined, pre: string, key: string) =>
      str ?? `${pre}"${key}"`);
    try {
      if (quoted === text) throw first;
      return JSON.parse(quoted);
    } catch (e) {
      throw new CodecError('BAD_BODY', `invalid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
}
