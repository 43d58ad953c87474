// The property string (MessageDecoder.messageProperties2String / string2messageProperties).

export const NAME_VALUE_SEPARATOR = '\u0001';
export const PROPERTY_SEPARATOR = '\u0002';

/** name\u0001value pairs joined by \u0002, in the record's order, no trailing separator. */
export function encodeProperties(p: Record<string, string>): string {
  let s = '';
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || v === null) continue;
    s += `${s ? PROPERTY_SEPARATOR : ''}${k}${NAME_VALUE_SEPARATOR}${v}`;
  }
  return s;
}

/**
 * Java's decoder: segments shorter than 3 characters, and segments whose first \u0001 is at
 * position 0 or last, are ignored; a repeated name keeps its first position and its last value.
 */
export function decodeProperties(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const seg of s.split(PROPERTY_SEPARATOR)) {
    if (seg.length < 3) continue;
    const i = seg.indexOf(NAME_VALUE_SEPARATOR);
    if (i <= 0 || i === seg.length - 1) continue;
    setOwn(out, seg.slice(0, i), seg.slice(i + 1));
  }
  return out;
}

/** record[key] = value, also for "__proto__" (which plain assignment would turn into a prototype change). */
export function setOwn(record: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}
