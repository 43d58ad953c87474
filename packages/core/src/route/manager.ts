// Route cache (MQClientInstance's route half): lookups, the TBW102 fallback (4.5), the broker
// address table and the periodic refresh of topics in use (4.6).
import { MQClientError, RemotingTimeoutError } from '../errors.js';
import { CE_NOT_FOUND_TOPIC_EXCEPTION, RC_GET_ROUTEINFO_BY_TOPIC, RS_SUCCESS, RS_TOPIC_NOT_EXIST } from '../remoting/codes.js';
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
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #client: RemotingClient;
  readonly #createTopicKey: string;
  readonly #queueNums: number;
  readonly #apiTimeout: number;
  readonly #serializeType: SerializeType;

  constructor(client: RemotingClient, opts: RouteManagerOptions = {}) {
    this.#client = client;
    this.#createTopicKey = opts.createTopicKey ?? 'TBW102';
    this.#queueNums = opts.defaultTopicQueueNums ?? 4;
    this.#apiTimeout = opts.mqClientApiTimeout ?? 3000;
    this.#serializeType = opts.serializeType ?? 'JSON';
  }

  /**
   * GET_ROUTEINFO_BY_TOPIC. Resolves undefined for TOPIC_NOT_EXIST; throws MQClientError for other
   * codes and RemotingError when the name server cannot be reached.
   */
  async getTopicRouteInfoFromNameServer(topic: string, timeoutMs = this.#apiTimeout, signal?: AbortSignal): Promise<TopicRouteData | undefined> {
    const req = createRequest(RC_GET_ROUTEINFO_BY_TOPIC, { topic }, { serializeType: this.#serializeType });
    const { code, remark, body } = await this.#client.invoke(NAMESRV_TARGET, req, Math.min(timeoutMs, this.#apiTimeout), signal);
    if (code === RS_TOPIC_NOT_EXIST) return undefined;
    if (code !== RS_SUCCESS || !body) throw new MQClientError(code, remark ?? `route lookup for ${topic} failed`);
    return parseTopicRouteData(body);
  }

  /**
   * updateTopicRouteInfoFromNameServer: fetches the topic's route (or, with isDefault, the
   * createTopicKey route with queue counts capped at defaultTopicQueueNums) and updates the
   * tables. Resolves whether a route was stored. Concurrent lookups of one topic share a call.
   */
  updateTopicRouteInfoFromNameServer(topic: string, isDefault = false, timeoutMs = this.#apiTimeout, signal?: AbortSignal): Promise<boolean> {
    const key = `${isDefault ? 'D' : 'T'}:${topic}`;
    const inFlight = this.#inFlight;
    let p = inFlight.get(key);
    if (!p) inFlight.set(key, (p = this.#update(topic, isDefault, timeoutMs, signal).finally(() => inFlight.delete(key))));
    return p;
  }

  async #update(topic: string, isDefault: boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    let route: TopicRouteData | undefined;
    try {
      route = await this.getTopicRouteInfoFromNameServer(isDefault ? this.#createTopicKey : topic, timeoutMs, signal);
    } catch (e) {
      if (e instanceof MQClientError) return false; // like Java: logged, not thrown
      throw e;
    }
    if (!route) return false;
    if (isDefault) {
      for (const qd of route.queueDatas) qd.readQueueNums = qd.writeQueueNums = Math.min(this.#queueNums, qd.readQueueNums);
    }
    for (const bd of route.brokerDatas) this.brokerAddrTable.set(bd.brokerName, bd.brokerAddrs);
    const old = this.topicRouteTable.get(topic);
    // Keep the round-robin position unless the route really changed (topicRouteDataIsChange).
    if (!this.topicPublishInfoTable.get(topic)?.ok || !old || JSON.stringify(old) !== JSON.stringify(route)) {
      this.topicRouteTable.set(topic, route);
      this.topicPublishInfoTable.set(topic, topicRouteData2TopicPublishInfo(topic, route));
    }
    return true;
  }

  /**
   * tryToFindTopicPublishInfo (4.5): cache, then the topic's route, then the default topic.
   * Throws MQClientError(NOT_FOUND_TOPIC_EXCEPTION) when nothing can be sent to.
   */
  async tryToFindTopicPublishInfo(topic: string, timeoutMs = this.#apiTimeout, signal?: AbortSignal): Promise<TopicPublishInfo> {
    const deadline = Date.now() + timeoutMs;
    const table = this.topicPublishInfoTable;
    let info = table.get(topic);
    if (!info?.ok) {
      await this.updateTopicRouteInfoFromNameServer(topic, false, timeoutMs, signal);
      info = table.get(topic);
    }
    if (!info || (!info.haveTopicRouterInfo && !info.ok)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new RemotingTimeoutError(NAMESRV_TARGET, timeoutMs);
      await this.updateTopicRouteInfoFromNameServer(topic, true, left, signal);
      info = table.get(topic);
    }
    if (info?.ok) return info;
    throw new MQClientError(
      CE_NOT_FOUND_TOPIC_EXCEPTION,
      `No route info of this topic: ${topic}: ` +
        (info?.haveTopicRouterInfo
          ? 'the topic has no writable queue: check its perm and writeQueueNums (mqadmin)'
          : 'create the topic or enable autoCreateTopicEnable on the broker'),
    );
  }

  /** Master address of a broker (findBrokerAddressInPublish). */
  findBrokerAddressInPublish(brokerName: string): string | undefined {
    return this.brokerAddrTable.get(brokerName)?.[MASTER_ID];
  }

  /** Periodic refresh of every topic in use; resolves the errors met (never throws). */
  async refreshAll(timeoutMs = this.#apiTimeout): Promise<unknown[]> {
    const errors: unknown[] = [];
    await Promise.all(
      [...this.topicPublishInfoTable.keys()].map((t) =>
        this.updateTopicRouteInfoFromNameServer(t, false, timeoutMs).catch((e: unknown) => void errors.push(e)),
      ),
    );
    return errors;
  }
}
