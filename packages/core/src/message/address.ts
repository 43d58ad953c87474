// "ip:port" strings <-> address bytes, for born/store hosts and offset message ids.

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** 4 bytes for dotted IPv4, 16 for IPv6 (with optional brackets / embedded IPv4); undefined if neither. */
export function parseIp(text: string): Uint8Array | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const m = IPV4.exec(s);
  if (m) {
    const b = m.slice(1).map(Number);
    return b.every((x) => x <= 255) ? Uint8Array.from(b) : undefined;
  }
  if (!s.includes(':')) return undefined;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const words: number[] = [];
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = IPV4.exec(g);
        if (!v4) return undefined;
        const b = v4.slice(1).map(Number);
        if (b.some((x) => x > 255)) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    if (head.length !== 8) return undefined;
    words.push(...head);
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

/** Dotted IPv4 for 4 bytes, RFC 5952 text (lowercase, longest zero run as ::) for 16. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((b[i]! << 8) | b[i + 1]!);
  let best = -1, bestLen = 1, run = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && w[i] === 0) { if (run < 0) run = i; continue; }
    if (run >= 0 && i - run > bestLen) { best = run; bestLen = i - run; }
    run = -1;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(w) : `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** "1.2.3.4:80", "[::1]:80" or "::1:80" (the last colon separates the port). */
export function parseHostPort(text: string): { ip: Uint8Array; port: number } | undefined {
  const i = text.lastIndexOf(':');
  if (i < 0) return undefined;
  const portText = text.slice(i + 1);
  if (!/^\d{1,10}$/.test(portText)) return undefined;
  const port = Number(portText);
  const ip = parseIp(text.slice(0, i));
  return ip && port <= 0x7fffffff ? { ip, port } : undefined;
}

/** "1.2.3.4:80" or "[fd00::2]:80". */
export function formatHostPort(ip: Uint8Array, port: number): string {
  return ip.length === 16 ? `[${formatIp(ip)}]:${port}` : `${formatIp(ip)}:${port}`;
}
