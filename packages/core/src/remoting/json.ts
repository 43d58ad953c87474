// JSON as RocketMQ's fastjson writes and reads it.
import { CodecError } from '../errors.js';

/** A JSON string literal the way fastjson 1.x writes it (uppercase hex in \uXXXX escapes). */
export function fastjsonString(s: string): string {
  const j = JSON.stringify(s);
  return j.includes('\\u') ? j.replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`) : j;
}

/**
 * Parses JSON that may use fastjson's non-standard bare integer object keys
 * (`{"brokerAddrs":{0:"127.0.0.1:10911"}}`, sent by name servers to clients older than 4.9.4).
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const quoted = quoteBareKeys(text);
    if (quoted === text) throw new CodecError('BAD_BODY', `invalid JSON: ${(first as Error).message}`, { cause: first });
    try {
      return JSON.parse(quoted);
    } catch (e) {
      throw new CodecError('BAD_BODY', `invalid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Quotes integer object keys that stand outside string literals. */
function quoteBareKeys(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  let expectKey = false; // just after '{' or ',' inside an object
  const stack: string[] = [];
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') { out += text[i + 1] ?? ''; i += 2; continue; }
      if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') { inString = true; expectKey = false; out += c; i++; continue; }
    if (c === '{') { stack.push('{'); expectKey = true; out += c; i++; continue; }
    if (c === '[') { stack.push('['); expectKey = false; out += c; i++; continue; }
    if (c === '}' || c === ']') { stack.pop(); expectKey = false; out += c; i++; continue; }
    if (c === ',') { expectKey = stack[stack.length - 1] === '{'; out += c; i++; continue; }
    if (expectKey && (c === '-' || (c >= '0' && c <= '9'))) {
      let j = i + 1;
      while (j < text.length && text[j]! >= '0' && text[j]! <= '9') j++;
      out += `"${text.slice(i, j)}"`;
      i = j;
      expectKey = false;
      continue;
    }
    if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') expectKey = false;
    out += c;
    i++;
  }
  return out;
}
