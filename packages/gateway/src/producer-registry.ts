// What a client session registered as a producer (HEART_BEAT, UNREGISTER_CLIENT), as the gateway
// records it while it answers those itself (callbacks.ts says when it stops), and which session of
// this gateway holds each client id.
import { createRequest, RequestCode, type RemotingCommand } from '@rocketmq-edge/core/internal';

/** Client ids one session may heartbeat (a page runs a producer or a few, each with its own id). */
export const MAX_CLIENT_IDS_PER_SESSION = 8;
/** Producer groups one session may register, over all its client ids. */
export const MAX_PRODUCER_GROUPS_PER_SESSION = 64;
/** Brokers one session may heartbeat. */
export const MAX_BROKERS_PER_SESSION = 256;

const utf8 = new TextEncoder();

/**
 * Client id → the session holding it, gateway-wide. A broker finds a requester's connection by
 * client id (4.9.8 ProducerManager.clientChannelTable): two sessions with one id would receive
 * each other's replies, so an id belongs to one live session at a time.
 */
export class ClientIdOwners {
  private readonly owners = new Map<string, object>();

  /** True when `id` is now (or already was) held by `owner`. */
  claim(id: string, owner: object): boolean {
    const held = this.owners.get(id);
    if (held !== undefined) return held === owner;
    this.owners.set(id, owner);
    return true;
  }

  release(ids: Iterable<string>, owner: object): void {
    for (const id of ids) if (this.owners.get(id) === owner) this.owners.delete(id);
  }

  get size(): number {
    return this.owners.size;
  }
}

/** One session's producer registration: client ids, their groups, and the brokers it went to. */
export class ProducerRegistration {
  /** Client id → producer groups (as the broker keeps them per connection). */
  readonly clients = new Map<string, Set<string>>();
  /** Broker address → the alias the client used, for every broker the session heartbeated. */
  readonly brokers = new Map<string, string>();

  /** Records a heartbeat; why not when a bound would be passed (nothing is recorded then). */
  record(clientID: string, groups: readonly string[], key: string, alias: string): string | undefined {
    if (!this.clients.has(clientID) && this.clients.size >= MAX_CLIENT_IDS_PER_SESSION) {
      return `a connection may heartbeat at most ${MAX_CLIENT_IDS_PER_SESSION} client ids; use one producer per client id and fewer per connection`;
    }
    const known = this.clients.get(clientID);
    const added = groups.filter((g) => !known?.has(g) && !this.hasGroup(g)).length;
    if (added > 0 && this.groupCount() + added > MAX_PRODUCER_GROUPS_PER_SESSION) {
      return `a connection may register at most ${MAX_PRODUCER_GROUPS_PER_SESSION} producer groups`;
    }
    if (!this.brokers.has(key) && this.brokers.size >= MAX_BROKERS_PER_SESSION) {
      return `a connection may heartbeat at most ${MAX_BROKERS_PER_SESSION} brokers`;
    }
    const set = known ?? new Set<string>();
    for (const g of groups) set.add(g);
    this.clients.set(clientID, set);
    this.brokers.set(key, alias);
    return undefined;
  }

  /** UNREGISTER_CLIENT of a producer group: the client id stays held (its session still lives). */
  unregister(clientID: string, group: string): void {
    this.clients.get(clientID)?.delete(group);
  }

  hasClient(id: string): boolean {
    return this.clients.has(id);
  }

  hasGroup(group: string): boolean {
    for (const groups of this.clients.values()) if (groups.has(group)) return true;
    return false;
  }

  private groupCount(): number {
    const all = new Set<string>();
    for (const groups of this.clients.values()) for (const g of groups) all.add(g);
    return all.size;
  }

  /** The heartbeats that register this session's producers again (one per client id with groups). */
  heartbeats(): RemotingCommand[] {
    const out: RemotingCommand[] = [];
    for (const [clientID, groups] of this.clients) {
      if (groups.size === 0) continue;
      const body = { clientID, consumerDataSet: [], producerDataSet: [...groups].map((groupName) => ({ groupName })) };
      out.push(createRequest(RequestCode.HEART_BEAT, undefined, { body: utf8.encode(JSON.stringify(body)) }));
    }
    return out;
  }
}
