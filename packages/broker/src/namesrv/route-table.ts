// The name server's state (RouteInfoManager): brokers, clusters, topic → queue data, liveness.
import type { TopicConfig } from '../register-body.js';
import type { BrokerData, QueueData } from './route-json.js';

interface LiveBroker {
  lastUpdate: number;
  brokerName: string;
  brokerId: number;
  clusterName: string;
  /** Connection the last registration came over; its close unregisters the broker. */
  connId: number;
}

export class RouteTable {
  private readonly brokers = new Map<string, BrokerData>();
  private readonly clusters = new Map<string, Set<string>>();
  /** topic → brokerName → queue data */
  private readonly topics = new Map<string, Map<string, QueueData>>();
  private readonly live = new Map<string, LiveBroker>();

  register(p: {
    clusterName: string;
    brokerName: string;
    brokerAddr: string;
    brokerId: number;
    topics: TopicConfig[];
    now: number;
    connId: number;
  }): { masterAddr?: string } {
    let names = this.clusters.get(p.clusterName);
    if (!names) this.clusters.set(p.clusterName, (names = new Set()));
    names.add(p.brokerName);
    let bd = this.brokers.get(p.brokerName);
    if (!bd) this.brokers.set(p.brokerName, (bd = { brokerName: p.brokerName, cluster: p.clusterName, brokerAddrs: new Map() }));
    // A broker id moves to a new address (restart on another port): drop the old address.
    for (const [id, addr] of bd.brokerAddrs) if (addr === p.brokerAddr && id !== p.brokerId) bd.brokerAddrs.delete(id);
    const previous = bd.brokerAddrs.get(p.brokerId);
    if (previous !== undefined && previous !== p.brokerAddr) this.live.delete(previous);
    bd.brokerAddrs.set(p.brokerId, p.brokerAddr);
    if (p.brokerId === 0) {
      // Registrations always carry the broker's full topic table: replace this broker's queue data.
      const keep = new Set<string>();
      for (const t of p.topics) {
        keep.add(t.topicName);
        let m = this.topics.get(t.topicName);
        if (!m) this.topics.set(t.topicName, (m = new Map()));
        m.set(p.brokerName, {
          brokerName: p.brokerName,
          perm: t.perm,
          readQueueNums: t.readQueueNums,
          topicSysFlag: t.topicSysFlag,
          writeQueueNums: t.writeQueueNums,
        });
      }
      for (const [topic, m] of this.topics) {
        if (!keep.has(topic) && m.delete(p.brokerName) && m.size === 0) this.topics.delete(topic);
      }
    }
    this.live.set(p.brokerAddr, {
      lastUpdate: p.now,
      brokerName: p.brokerName,
      brokerId: p.brokerId,
      clusterName: p.clusterName,
      connId: p.connId,
    });
    return p.brokerId === 0 ? {} : { masterAddr: bd.brokerAddrs.get(0) };
  }

  unregister(brokerAddr: string, brokerName: string, brokerId: number, clusterName: string): void {
    this.live.delete(brokerAddr);
    const bd = this.brokers.get(brokerName);
    if (bd && bd.brokerAddrs.get(brokerId) === brokerAddr) bd.brokerAddrs.delete(brokerId);
    if (bd && bd.brokerAddrs.size === 0) {
      this.brokers.delete(brokerName);
      const names = this.clusters.get(clusterName);
      if (names) {
        names.delete(brokerName);
        if (names.size === 0) this.clusters.delete(clusterName);
      }
      for (const [topic, m] of this.topics) if (m.delete(brokerName) && m.size === 0) this.topics.delete(topic);
    }
  }

  /** Brokers silent for longer than `expireMs` are forgotten. Returns their addresses. */
  expire(now: number, expireMs: number): string[] {
    const gone: string[] = [];
    for (const [addr, l] of this.live) {
      if (now - l.lastUpdate > expireMs) {
        gone.push(addr);
        this.unregister(addr, l.brokerName, l.brokerId, l.clusterName);
      }
    }
    return gone;
  }

  /** The registering connection closed: forget the brokers that registered over it. */
  connectionClosed(connId: number): string[] {
    const gone: string[] = [];
    for (const [addr, l] of this.live) {
      if (l.connId === connId) {
        gone.push(addr);
        this.unregister(addr, l.brokerName, l.brokerId, l.clusterName);
      }
    }
    return gone;
  }

  route(topic: string): { brokers: BrokerData[]; queues: QueueData[] } | undefined {
    const m = this.topics.get(topic);
    if (!m || m.size === 0) return undefined;
    const queues = [...m.values()].sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
    const brokers: BrokerData[] = [];
    for (const q of queues) {
      const bd = this.brokers.get(q.brokerName);
      if (bd) brokers.push(bd);
    }
    return { brokers, queues };
  }

  clusterInfo(): { brokers: BrokerData[]; clusters: Map<string, string[]> } {
    const clusters = new Map<string, string[]>();
    for (const [c, names] of this.clusters) clusters.set(c, [...names].sort());
    return { brokers: [...this.brokers.values()], clusters };
  }

  topicList(): string[] {
    return [...this.topics.keys()];
  }
}
