// Route cache (MQClientInstance's route half): lookups, the TBW102 fallback (4.5), the broker
// address table and the periodic refresh of topics in use (4.6).
import { MQClientError, RemotingTimeoutError } from '../errors.js';
import { CE_NOT_FOUND_TOPIC_EXCEPTION, RC_GET_ROUTEINFO_BY_TOPIC, RS_TOPIC_NOT_EXIST } from '../remoting/codes.js';
import { createRequest, type SerializeType } from '../remoting/command.js';
import type { RemotingClient } from '../remoting/client.js';
import { NAMESRV_TARGET } from '../transport.js';
import { MASTER_ID, parseTopicRouteData, topicRouteData2TopicPublishInfo, type TopicPublishInfo } from './topic-route.js';

/** The producer's resolved options (the defaults live in producer/defaults.ts, once). */
export interface RouteManagerOptions {
  createTopicKey: string;
  defaultTopicQueueNums: number;
  /** Per name-server call (mqClientApiTimeout). */
  mqClientApiTimeout: number;
  serializeType: SerializeType;
}

export class RouteManager {
  /** topic → its publishable queues and the route they came from (TopicPublishInfo.routeData). */
  readonly topicPublishInfoTable = new Map<string, TopicPublishInfo>();
  /** brokerName → brokerId → address, refreshed from every route received. */
  readonly brokerAddrTable = new Map<string, Record<string, string>>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #client: RemotingClient;
  readonly #o: RouteManagerOptions;

  constructor(client: RemotingClient, opts: RouteManagerOptions) {
    this.#client = client;
    this.#o = opts;
  }

  /**
   * updateTopicRouteInfoFromNameServer (a short name: the bundle mangles it): fetches the topic's route (or, with isDefault, the
   * createTopicKey route with queue counts capped at defaultTopicQueueNums) and updates the
   * tables. Resolves whether a route was stored: false when the name server answered
   * TOPIC_NOT_EXIST. Any other error answer rejects with MQClientError(its code, its remark) — Java
   * logs and drops it, and the user then reads "No route info" for what may be a name server the
   * gateway cannot reach, or a topic the token does not cover. A transport failure rejects with the
   * transport's error (RemotingConnectError, RemotingTimeoutError …), a bad route body with
   * CodecError. Concurrent lookups of one topic share a call.
   */
  updateRoute_(topic: string, isDefault: boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const key = `${+isDefault}${topic}`;
    const inFlight = this.#inFlight;
    let p = inFlight.get(key);
    if (!p) inFlight.set(key, (p = this.#update(topic, isDefault, timeoutMs, signal).finally(() => inFlight.delete(key))));
    return p;
  }

  async #update(topic: string, isDefault: boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const o = this.#o;
    // GET_ROUTEINFO_BY_TOPIC
    const name = isDefault ? o.createTopicKey : topic;
    const req = createRequest(RC_GET_ROUTEINFO_BY_TOPIC, { topic: name }, { serializeType: o.serializeType });
    const { code, body, remark } = await this.#client.invoke(NAMESRV_TARGET, req, Math.min(timeoutMs, o.mqClientApiTimeout), signal);
    if (code == RS_TOPIC_NOT_EXIST) return false;
    if (code || !body) throw new MQClientError(code, `Route lookup of topic ${name}: ${NAMESRV_TARGET} answered code ${code}: ${remark || '(no remark)'}`);
    const route = parseTopicRouteData(body);
    if (isDefault) {
      for (const qd of route.queueDatas) qd.readQueueNums = qd.writeQueueNums = Math.min(o.defaultTopicQueueNums, qd.readQueueNums);
    }
    for (const bd of route.brokerDatas) this.brokerAddrTable.set(bd.brokerName, bd.brokerAddrs);
    const table = this.topicPublishInfoTable;
    const old = table.get(topic);
    // Keep the round-robin position unless the route really changed (topicRouteDataIsChange).
    if (!old?.ok || JSON.stringify(old.routeData) !== JSON.stringify(route)) table.set(topic, topicRouteData2TopicPublishInfo(topic, route));
    return true;
  }

  /**
   * tryToFindTopicPublishInfo (4.5): cache, then the topic's route, then the default topic.
   * Throws MQClientError(NOT_FOUND_TOPIC_EXCEPTION) when the name server knows neither, or the
   * route has no writable queue; other failures as updateRoute_ says.
   */
  async tryToFindTopicPublishInfo(topic: string, timeoutMs: number, signal?: AbortSignal): Promise<TopicPublishInfo> {
    const deadline = Date.now() + timeoutMs;
    const table = this.topicPublishInfoTable;
    let info = table.get(topic);
    if (!info?.ok) {
      await this.updateRoute_(topic, false, timeoutMs, signal);
      info = table.get(topic);
    }
    if (!info?.haveTopicRouterInfo) {
      const left = deadline - Date.now();
      if (left <= 0) throw new RemotingTimeoutError(NAMESRV_TARGET, timeoutMs);
      await this.updateRoute_(topic, true, left, signal);
      info = table.get(topic);
    }
    if (info?.ok) return info;
    throw new MQClientError(
      CE_NOT_FOUND_TOPIC_EXCEPTION,
      `No route info of this topic: ${topic}: ${info ? 'the topic has no writable queue: check its perm and writeQueueNums' : 'create it, or enable autoCreateTopicEnable on the broker'}`,
    );
  }

  /** Master address of a broker (findBrokerAddressInPublish). */
  findBrokerAddressInPublish(brokerName: string): string | undefined {
    return this.brokerAddrTable.get(brokerName)?.[MASTER_ID];
  }

  /** Periodic refresh of every topic in use; resolves the errors met (never throws). */
  async refreshAll(): Promise<unknown[]> {
    const errors: unknown[] = [];
    await Promise.all(
      [...this.topicPublishInfoTable.keys()].map((t) =>
        this.updateRoute_(t, false, this.#o.mqClientApiTimeout).catch((e: unknown) => void errors.push(e)),
      ),
    );
    return errors;
  }
}
