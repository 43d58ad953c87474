// Producer connections learnt from HEART_BEAT, with 4.9.8 ProducerManager semantics: the broker
// calls producers back over these connections (CHECK_TRANSACTION_STATE to any connection of the
// group, PUSH_REPLY_MESSAGE_TO_CLIENT to the connection of a client id).
import type { Connection } from '../remoting-server.js';

/** ProducerManager.CHANNEL_EXPIRED_TIMEOUT: a (group, connection) silent this long is dropped and closed. */
export const PRODUCER_CHANNEL_EXPIRED_MS = 120_000;

export interface ProducerInfo {
  clientId: string;
  conn: Connection;
  language: string;
  version: number;
  lastUpdate: number;
}

export class ProducerManager {
  /** group → connection → who registered it (groupChannelTable). */
  private readonly groups = new Map<string, Map<Connection, ProducerInfo>>();
  /** clientId → connection (clientChannelTable): written only when the connection is new for the group. */
  private readonly clients = new Map<string, Connection>();
  private readonly hooked = new WeakSet<Connection>();
  /** PositiveAtomicCounter of getAvailableChannel. */
  private counter = 0;

  /** registerProducer: a known (group, connection) only refreshes its time, whatever clientId it reports. */
  register(group: string, clientId: string, conn: Connection, language: string, version: number, now = Date.now()): void {
    let table = this.groups.get(group);
    if (!table) this.groups.set(group, (table = new Map()));
    const found = table.get(conn);
    if (found) {
      found.lastUpdate = now;
      return;
    }
    table.set(conn, { clientId, conn, language, version, lastUpdate: now });
    this.clients.set(clientId, conn);
    if (!this.hooked.has(conn)) {
      this.hooked.add(conn);
      conn.onClose(() => this.connectionClosed(conn));
    }
  }

  /** unregisterProducer: removes (group, connection) and the client id's entry (as 4.9.8, whichever connection it named). */
  unregister(group: string, clientId: string, conn: Connection): void {
    const table = this.groups.get(group);
    if (!table || table.size === 0) return;
    table.delete(conn);
    this.clients.delete(clientId);
    if (table.size === 0) this.groups.delete(group);
  }

  /** doChannelCloseEvent: every entry of the connection goes. */
  private connectionClosed(conn: Connection): void {
    for (const [group, table] of this.groups) {
      const info = table.get(conn);
      if (!info) continue;
      table.delete(conn);
      this.clients.delete(info.clientId);
      if (table.size === 0) this.groups.delete(group);
    }
  }

  /** scanNotActiveChannel: entries silent for longer than `expireMs` are removed and their connection closed. */
  expire(now: number, expireMs: number): void {
    for (const table of this.groups.values()) {
      for (const [conn, info] of table) {
        if (now - info.lastUpdate > expireMs) {
          table.delete(conn);
          this.clients.delete(info.clientId);
          conn.close();
        }
      }
    }
  }

  /** getAvailableChannel: round robin over the group's open connections (undefined when none). */
  availableConnection(group: string | undefined): Connection | undefined {
    if (group === undefined) return undefined;
    const list = [...(this.groups.get(group)?.keys() ?? [])];
    if (list.length === 0) return undefined;
    this.counter = (this.counter + 1) & 0x7fffffff;
    let index = this.counter % list.length;
    for (let i = 0; i < list.length; i++, index = (index + 1) % list.length) {
      if (!list[index]!.closed) return list[index];
    }
    return undefined;
  }

  /** findChannel: the connection a client id was registered with. */
  findConnection(clientId: string): Connection | undefined {
    const c = this.clients.get(clientId);
    return c && !c.closed ? c : undefined;
  }

  /** GET_PRODUCER_CONNECTION_LIST / getProducerTable: the group's registrations. */
  connections(group: string): ProducerInfo[] {
    return [...(this.groups.get(group)?.values() ?? [])];
  }
}
