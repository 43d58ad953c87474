// Consumer groups learnt from HEART_BEAT: members keyed by connection as in 4.9.8
// (ConsumerGroupInfo.channelInfoTable: one member per channel, whatever clientId it reports),
// subscriptions, and NOTIFY_CONSUMER_IDS_CHANGED when membership changes.
import { RequestCode, buildSubscriptionData, createRequest } from '@rocketmq-edge/core/internal';
import type { Connection } from '../remoting-server.js';

export interface Subscription {
  topic: string;
  subString: string;
  expressionType: string;
  subVersion: number;
  /** undefined = every tag. */
  codeSet: Set<number> | undefined;
}

interface Member {
  clientId: string;
  conn: Connection;
  lastSeen: number;
}

interface Group {
  members: Map<Connection, Member>;
  subscriptions: Map<string, Subscription>;
  consumeFromWhere?: string;
  messageModel?: string;
}

/**
 * Tag expression "A || B" → the tags' hash codes (FilterAPI.buildSubscriptionData, the one parser the
 * consumer uses too); "*" or empty → undefined (all). An expression naming no tag matches nothing, as in Java.
 */
export function parseTagExpression(expr: string | undefined): Set<number> | undefined {
  try {
    const { codeSet } = buildSubscriptionData('', expr);
    return codeSet.length ? new Set(codeSet) : undefined;
  } catch {
    return new Set();
  }
}

export class ConsumerManager {
  private readonly groups = new Map<string, Group>();
  private readonly hooked = new WeakSet<Connection>();

  /** Registers a heartbeat's consumer data; returns true when the group's member set changed. */
  register(
    group: string,
    clientId: string,
    conn: Connection,
    subs: Subscription[],
    extra: { consumeFromWhere?: string; messageModel?: string },
  ): boolean {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { members: new Map(), subscriptions: new Map() }));
    g.consumeFromWhere = extra.consumeFromWhere;
    g.messageModel = extra.messageModel;
    // ConsumerGroupInfo.updateChannel: a new channel is a new member; another clientId on a known
    // channel replaces that member without telling the group (Java logs it as a bug).
    const prev = g.members.get(conn);
    const changed = !prev;
    g.members.set(conn, { clientId, conn, lastSeen: Date.now() });
    for (const s of subs) {
      const old = g.subscriptions.get(s.topic);
      if (!old || old.subVersion <= s.subVersion) g.subscriptions.set(s.topic, s);
    }
    if (!this.hooked.has(conn)) {
      this.hooked.add(conn);
      conn.onClose(() => this.connectionClosed(conn));
    }
    if (changed) this.notify(group);
    return changed;
  }

  /** UNREGISTER_CLIENT: the member of this connection leaves (unregisterChannel removes by channel). */
  unregister(group: string, conn: Connection): void {
    const g = this.groups.get(group);
    if (!g || !g.members.delete(conn)) return;
    if (g.members.size === 0) this.groups.delete(group);
    else this.notify(group);
  }

  private connectionClosed(conn: Connection): void {
    for (const [name, g] of this.groups) {
      let changed = false;
      if (g.members.delete(conn)) changed = true;
      if (!changed) continue;
      if (g.members.size === 0) this.groups.delete(name);
      else this.notify(name);
    }
  }

  /** Drops members not heard from for `expireMs` (Java: 120 s channel idle). */
  expire(now: number, expireMs: number): void {
    for (const [name, g] of this.groups) {
      let changed = false;
      for (const [id, m] of g.members) {
        if (now - m.lastSeen > expireMs) {
          g.members.delete(id);
          changed = true;
        }
      }
      if (g.members.size === 0) this.groups.delete(name);
      else if (changed) this.notify(name);
    }
  }

  consumerIds(group: string): string[] {
    return [...(this.groups.get(group)?.members.values() ?? [])].map((m) => m.clientId);
  }

  subscription(group: string, topic: string): Subscription | undefined {
    return this.groups.get(group)?.subscriptions.get(topic);
  }

  /** NOTIFY_CONSUMER_IDS_CHANGED (oneway, JSON, header consumerGroup) to every member. */
  private notify(group: string): void {
    const g = this.groups.get(group);
    if (!g) return;
    for (const m of g.members.values()) {
      if (!m.conn.closed) m.conn.sendOnewayRequest(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: group }, { oneway: true }));
    }
  }
}
