// Route cache (MQClientInstance's route half): lookups, the TBW102 fallback (4.5), the broker
// address table and the periodic refresh of topics in use (4.6).
import { MQClientError, RemotingTimeoutError } from '../errors.js';
import { ClientErrorCode, RequestCode, ResponseCode } from '../remoting/codes.js';
import { createRequest, type SerializeType } from '../remoting/command.js';
import type { RemotingClient } from '../remoting/client.js';
import { NAMESRV_TARGET } from '../transport.js';
import { MASTER_ID, parseTopicRouteData, topicRouteData2TopicPublishInfo, type TopicPublishInfo, type TopicRouteData } from './topic-route.js';

export interface RouteManagerOptions {
  createTopicKey?: string;
  defaultTopicQueueNums?: number;
  /** Per name-server call (mqClientApiTimeout). */
  mqClientApiTimeout?: number;
  serializeType?: SerializeType;
}

export class RouteManager {
  readonly topicPublishInfoTable = new Map<string, TopicPublishInfo>();
  readonly topicRouteTable = new Map<string, TopicRouteData>();
  /** brokerName → brokerId → address, refreshed from every route received. */
  readonly brokerAddrTable = new Map<string, Record<string, string>>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly createTopicKey: string;
  private readonly defaultTopicQueueNums: number;
  private readonly apiTimeout: number;
  private readonly serializeType: SerializeType;

  constructor(private readonly client: RemotingClient, opts: RouteManagerOptions = {}) {
    this.createTopicKey = opts.createTopicKey ?? 'TBW102';
    this.defaultTopicQueueNums = opts.defaultTopicQueueNums ?? 4;
    this.apiTimeout = opts.mqClientApiTimeout ?? 3000;
    this.serializeType = opts.serializeType ?? 'JSON';
  }

  /**
   * GET_ROUTEINFO_BY_TOPIC. Resolves undefined for TOPIC_NOT_EXIST; throws MQClientError for other
   * codes and RemotingError when the name server cannot be reached.
   */
  async getTopicRouteInfoFromNameServer(topic: string, timeoutMs = this.apiTimeout, signal?: AbortSignal): Promise<TopicRouteData | undefined> {
    const req = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }, { serializeType: this.serializeType });
    const res = await this.client.invoke(NAMESRV_TARGET, req, Math.min(timeoutMs, this.apiTimeout), signal);
    if (res.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
    if (res.code !== ResponseCode.SUCCESS || !res.body) throw new MQClientError(res.code, res.remark ?? `route lookup for ${topic} failed`);
    return parseTopicRouteData(res.body);
  }

  /**
   * updateTopicRouteInfoFromNameServer: fetches the topic's route (or, with isDefault, the
   * createTopicKey route with queue counts capped at defaultTopicQueueNums) and updates the
   * tables. Resolves whether a route was stored. Concurrent lookups of one topic share a call.
   */
  updateTopicRouteInfoFromNameServer(topic: string, isDefault = false, timeoutMs = this.apiTimeout, signal?: AbortSignal): Promise<boolean> {
    const key = `${isDefault ? 'D' : 'T'}:${topic}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.update(topic, isDefault, timeoutMs, signal).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  private async update(topic: string, isDefault: boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    let route: TopicRouteData | undefined;
    try {
      route = await this.getTopicRouteInfoFromNameServer(isDefault ? this.createTopicKey : topic, timeoutMs, signal);
    } catch (e) {
      if (e instanceof MQClientError) return false; // like Java: logged, not thrown
      throw e;
    }
    if (!route) return false;
    if (isDefault) {
      for (const qd of route.queueDatas) {
        const n = Math.min(this.defaultTopicQueueNums, qd.readQueueNums);
        qd.readQueueNums = n;
        qd.writeQueueNums = n;
      }
    }
    for (const bd of route.brokerDatas) this.brokerAddrTable.set(bd.brokerName, bd.brokerAddrs);
    const old = this.topicRouteTable.get(topic);
    const cur = this.topicPublishInfoTable.get(topic);
    // Keep the round-robin position unless the route really changed (topicRouteDataIsChange).
    if (!cur || !cur.ok || !old || JSON.stringify(old) !== JSON.stringify(route)) {
      this.topicRouteTable.set(topic, route);
      this.topicPublishInfoTable.set(topic, topicRouteData2TopicPublishInfo(topic, route));
    }
    return true;
  }

  /**
   * tryToFindTopicPublishInfo (4.5): cache, then the topic's route, then the default topic.
   * Throws MQClientError(NOT_FOUND_TOPIC_EXCEPTION) when nothing can be sent to.
   */
  async tryToFindTopicPublishInfo(topic: string, timeoutMs = this.apiTimeout, signal?: AbortSignal): Promise<TopicPublishInfo> {
    const deadline = Date.now() + timeoutMs;
    let info = this.topicPublishInfoTable.get(topic);
    if (!info || !info.ok) {
      await this.updateTopicRouteInfoFromNameServer(topic, false, timeoutMs, signal);
      info = this.topicPublishInfoTable.get(topic);
    }
    if (!info || (!info.haveTopicRouterInfo && !info.ok)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new RemotingTimeoutError(NAMESRV_TARGET, timeoutMs);
      await this.updateTopicRouteInfoFromNameServer(topic, true, left, signal);
      info = this.topicPublishInfoTable.get(topic);
    }
    if (info?.ok) return info;
    if (info?.haveTopicRouterInfo) {
      throw new MQClientError(
        ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION,
        `No route info of this topic: ${topic}: the topic has no writable queue (no queue with PERM_WRITE in perm, ` +
          `or writeQueueNums is 0, or no master broker). Check the topic's perm and writeQueueNums with mqadmin.`,
      );
    }
    throw new MQClientError(
      ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION,
      `No route info of this topic: ${topic}. Create the topic, or enable autoCreateTopicEnable on a broker ` +
        `so that the default topic ${this.createTopicKey} exists, and check that the name server is the right one.`,
    );
  }

  /** Master address of a broker (findBrokerAddressInPublish). */
  findBrokerAddressInPublish(brokerName: string): string | undefined {
    return this.brokerAddrTable.get(brokerName)?.[MASTER_ID];
  }

  /** Periodic refresh of every topic in use; resolves the errors met (never throws). */
  async refreshAll(timeoutMs = this.apiTimeout): Promise<unknown[]> {
    const errors: unknown[] = [];
    await Promise.all(
      [...this.topicPublishInfoTable.keys()].map((t) =>
        this.updateTopicRouteInfoFromNameServer(t, false, timeoutMs).catch((e: unknown) => void errors.push(e)),
      ),
    );
    return errors;
  }
}
