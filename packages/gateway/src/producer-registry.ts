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

/** A session as ClientIdOwners knows it: whose token it runs under, and how to end it. */
export interface ClientIdHolder {
  readonly sub: string;
  /** Ends the session (its ids are released as it closes). */
  evict(why: string): void;
}

/**
 * Client id → the session holding it, gateway-wide. A broker finds a requester's connection by
 * client id (4.9.8 ProducerManager.clientChannelTable): two sessions with one id would receive
 * each other's replies, so an id belongs to one live session at a time. A session of another
 * token is refused it. A session of the same token takes it over and the older one is closed:
 * that is a client reconnecting before the gateway noticed its old connection die (a half-open
 * TCP connection lives until the next missed ping), and clients sharing a token trust each other
 * with its topics already.
 */
export class ClientIdOwners {
  private readonly owners = new Map<string, ClientIdHolder>();

  /** True when `id` is now (or already was) held by `holder`. */
  claim(id: string, holder: ClientIdHolder): boolean {
    const held = this.owners.get(id);
    if (held === holder) return true;
    if (held !== undefined) {
      if (held.sub !== holder.sub) return false;
      held.evict(`client id "${id.slice(0, 40)}" was taken over by a newer connection`);
      this.owners.delete(id); // released by the eviction already, unless the session was gone
    }
    this.owners.set(id, holder);
    return true;
  }

  release(ids: Iterable<string>, holder: ClientIdHolder): void {
    for (const id of ids) if (this.owners.get(id) === holder) this.owners.delete(id);
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
