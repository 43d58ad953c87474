// Which pages may open a WebSocket, and which Host names get development secrets. Pure functions.
//
// DNS rebinding is why "Origin equals Host" is not enough: an attacker's name that resolves to the
// gateway makes both say evil.example. So a same-origin page is trusted only under a loopback name
// or a name the operator listed, and development secrets go to loopback names only.
// Spellings are matched strictly, never normalised: browsers send lowercase, canonical names, and
// anything else (LOCALHOST, localhost., 0x7f000001, user@…) is not what it looks like.

export interface OriginPolicy {
  /** Serialized origins ("https://app.example.com"), or "*" for any. */
  allowedOrigins: readonly string[];
  /** Development mode: pages on any loopback origin (a dev server on another port) may connect too. */
  dev: boolean;
}

export interface HostPort {
  /** Lowercase name, dotted IPv4, or a bracketed IPv6 literal ("[::1]"). */
  hostname: string;
  /** The port as written, if any. */
  port?: string;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME = `(?:\\[[0-9a-f:.]{2,45}\\]|${LABEL}(?:\\.${LABEL})*)`;
const PORT = '[1-9][0-9]{0,4}';
const HOST_RE = new RegExp(`^(${HOSTNAME})(?::(${PORT}))?$`);
const ORIGIN_RE = new RegExp(`^(https?)://(${HOSTNAME})(?::(${PORT}))?$`);
const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** Parses a Host header: hostname[:port], nothing else (no userinfo, no path, no trailing dot, no uppercase). */
export function parseHost(host: string | undefined): HostPort | undefined {
  if (host === undefined || host.length > 300) return undefined;
  const m = HOST_RE.exec(host);
  if (!m || !validPort(m[2])) return undefined;
  return m[2] === undefined ? { hostname: m[1]! } : { hostname: m[1]!, port: m[2] };
}

/** Parses a serialized origin, as browsers send it: http(s)://hostname[:port], lowercase, no path. */
export function parseOrigin(origin: string | undefined): (HostPort & { scheme: string }) | undefined {
  if (origin === undefined || origin.length > 320) return undefined;
  const m = ORIGIN_RE.exec(origin);
  if (!m || !validPort(m[3])) return undefined;
  return m[3] === undefined ? { scheme: m[1]!, hostname: m[2]! } : { scheme: m[1]!, hostname: m[2]!, port: m[3] };
}

/** localhost, 127.x.y.z (dotted decimal, no leading zeros) or [::1] exactly. */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  const parts = hostname.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => OCTET.test(p) && Number(p) <= 255);
}

/** True when the Host header names this machine's loopback interface: where development secrets may go. */
export function isLoopbackHost(host: string | undefined): boolean {
  const h = parseHost(host);
  return h !== undefined && isLoopbackHostname(h.hostname);
}

/**
 * May a page from `origin` open a WebSocket, the request having come with this Host header?
 * No Origin: not a browser (Node, Deno, Workers), which the token alone governs. Otherwise the
 * origin is listed; or it is the gateway's own page (same host and port as Host) under a loopback
 * name or a listed name; or, in development mode, any loopback page.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined) return true;
  const listed = policy.allowedOrigins;
  if (listed.includes('*') || listed.includes(origin)) return true;
  const o = parseOrigin(origin);
  if (!o) return false;
  const authority = hostPort(o);
  if (authority === host && (isLoopbackHostname(o.hostname) || listedHosts(listed).has(authority))) return true;
  return policy.dev && isLoopbackHostname(o.hostname);
}

/**
 * An allowedOrigins entry as browsers will send it (lowercase, no trailing slash, default port
 * dropped), or an Error saying what is wrong: a misspelt entry would otherwise never match.
 */
export function normalizeAllowedOrigin(entry: string): string {
  if (entry === '*' || entry === 'null') return entry;
  let u: URL;
  try {
    u = new URL(entry);
  } catch {
    throw new Error(`allowedOrigins: "${entry}" is not an origin; write scheme://host[:port], e.g. https://app.example.com`);
  }
  if (u.origin === 'null' || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password) {
    throw new Error(`allowedOrigins: "${entry}" is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com`);
  }
  return u.origin;
}

const hostPort = (h: HostPort): string => (h.port === undefined ? h.hostname : `${h.hostname}:${h.port}`);

const validPort = (port: string | undefined): boolean => port === undefined || Number(port) <= 65535;

// Host part of each listed origin ("https://gw.example.com" → "gw.example.com"): a same-origin
// page is trusted under these names whatever its scheme (TLS often ends at a proxy).
function listedHosts(listed: readonly string[]): Set<string> {
  const hosts = new Set<string>();
  for (const entry of listed) {
    const o = parseOrigin(entry);
    if (o) hosts.add(hostPort(o));
  }
  return hosts;
}
