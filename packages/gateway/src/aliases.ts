// Broker aliases: clients never name a network address. Route responses are rewritten so every
// broker address becomes "<brokerName>@<brokerId>" (stable across gateway restarts); the table
// below resolves aliases back. Unknown aliases can be learned from GET_BROKER_CLUSTER_INFO.
import { createHash } from 'node:crypto';
import { parseLenientJson } from '@rocketmq-edge/core/internal';

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function aliasFor(brokerName: string, brokerId: string): string {
  const a = `${brokerName}@${brokerId}`;
  if (/^[A-Za-z0-9_.%|-]{1,120}@\d{1,19}$/.test(a)) return a;
  return 'b' + createHash('sha256').update(a).digest('hex').slice(0, 16);
}

export class AliasTable {
  private readonly byAlias = new Map<string, string>();

  resolve(alias: string): string | undefined {
    return this.byAlias.get(alias);
  }

  get size(): number {
    return this.byAlias.size;
  }

  /**
   * The alias of the master of `brokerName` at `addr`, where the gateway's own producer sent an
   * HTTP publish (producers send to masters, brokerId 0). Remembered, so that it resolves too.
   */
  master(brokerName: string, addr: string): string {
    const alias = aliasFor(brokerName, '0');
    this.byAlias.set(alias, addr);
    return alias;
  }

  /** Rewrites a TopicRouteData body; returns the new body. Throws on unparseable JSON. */
  rewriteRoute(body: Uint8Array): Uint8Array {
    const route = parseLenientJson(utf8d.decode(body)) as { brokerDatas?: unknown; filterServerTable?: unknown };
    if (!route || typeof route !== 'object') throw new Error('route body is not an object');
    this.learnBrokerDatas(route.brokerDatas, true);
    // Filter servers are network addresses too, and producers do not use them.
    if (route.filterServerTable !== undefined) route.filterServerTable = {};
    return utf8.encode(JSON.stringify(route));
  }

  /** Learns aliases from a ClusterInfo body (GET_BROKER_CLUSTER_INFO). */
  learnClusterInfo(body: Uint8Array): void {
    const info = parseLenientJson(utf8d.decode(body)) as { brokerAddrTable?: Record<string, unknown> };
    if (!info || typeof info !== 'object' || !info.brokerAddrTable) return;
    this.learnBrokerDatas(Object.values(info.brokerAddrTable), false);
  }

  private learnBrokerDatas(list: unknown, rewrite: boolean): void {
    if (!Array.isArray(list)) return;
    for (const bd of list as { brokerName?: unknown; brokerAddrs?: Record<string, unknown> }[]) {
      if (!bd || typeof bd !== 'object' || typeof bd.brokerName !== 'string' || !bd.brokerAddrs || typeof bd.brokerAddrs !== 'object') continue;
      for (const [id, addr] of Object.entries(bd.brokerAddrs)) {
        if (typeof addr !== 'string') continue;
        const alias = aliasFor(bd.brokerName, id);
        this.byAlias.set(alias, addr);
        if (rewrite) bd.brokerAddrs[id] = alias;
      }
    }
  }
}
