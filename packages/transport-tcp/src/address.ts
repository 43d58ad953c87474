// "host:port" parsing for broker addresses (as they appear in route data) and name-server lists.
import { isIP } from 'node:net';
import { MQClientError } from '@rocketmq-edge/core';

export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/**
 * Parses "host:port", "[v6]:port" or, like Java's RemotingHelper.string2SocketAddress, a bare
 * IPv6 address with the port after its last colon ("::1:10911"). Returns undefined when invalid.
 */
export function parseHostPort(addr: string): HostPort | undefined {
  const s = addr.trim();
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') return undefined;
    host = s.slice(1, end);
    portText = s.slice(end + 2);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon <= 0) return undefined;
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':') ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host)) return undefined;
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Splits a `;`-separated name-server list ("h:p;h2:p2"), dropping empty entries. Throws on an invalid entry. */
export function parseNamesrvAddr(list: string | undefined): string[] {
  if (!list) return [];
  const out: string[] = [];
  for (const raw of list.split(';')) {
    const entry = raw.trim();
    if (!entry) continue;
    if (!parseHostPort(entry)) {
      throw new MQClientError(-1, `namesrvAddr entry "${entry}" is not "host:port" (list format: "h1:9876;h2:9876")`);
    }
    out.push(entry);
  }
  return out;
}
