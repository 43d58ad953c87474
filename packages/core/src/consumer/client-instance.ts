// The consumer half of MQClientInstance: broker addresses from the routes, heartbeats to every broker
// the client knows, and leaving the group at shutdown.
import { MQBrokerError, MQClientError } from '../errors.js';
import type { MessageQueue } from '../message/index.js';
import type { RemotingClient } from '../remoting/client.js';
import { RC_HEART_BEAT, RS_SUCCESS } from '../remoting/codes.js';
import { createRequest } from '../remoting/command.js';
import type { RouteManager } from '../route/manager.js';
import { MASTER_ID } from '../route/topic-route.js';
import { utf8 } from '../utf8.js';
import { unregisterClient, type ClientApi } from './client-api.js';
import { CLIENT_INNER_PRODUCER_GROUP, heartbeatBody, type ConsumerData } from './heartbeat.js';

export class ConsumerClientInstance {
  /** Brokers sent a heartbeat: they list this client in its group, and are told when it leaves. */
  readonly brokers_ = new Set<string>();
  readonly #api: ClientApi;
  readonly #routes: RouteManager;
  readonly #clientId: string;
  readonly #consumerData: () => ConsumerData;

  constructor(api: ClientApi, routes: RouteManager, clientId: string, consumerData: () => ConsumerData) {
    this.#api = api;
    this.#routes = routes;
    this.#clientId = clientId;
    this.#consumerData = consumerData;
  }

  get client(): RemotingClient {
    return this.#api.client;
  }

  /** findBrokerAddressInPublish: the master of the queue's broker, looking the route up if needed. */
  async masterAddr_(mq: MessageQueue): Promise<string> {
    const routes = this.#routes;
    let addr = routes.findBrokerAddressInPublish(mq.brokerName);
    if (!addr) {
      await routes.updateRoute_(mq.topic, false, this.#api.timeoutMs).catch(() => false);
      addr = routes.findBrokerAddressInPublish(mq.brokerName);
    }
    if (!addr) throw new MQClientError(-1, `The broker[${mq.brokerName}] not exist: no master in the route of ${mq.topic}`);
    return addr;
  }

  /**
   * findBrokerAddressInSubscribe: broker `brokerId` of the queue's broker set, else its master, else
   * any. A broker new to this client gets a heartbeat first, so that it knows the group.
   */
  async subscribeAddr_(mq: MessageQueue, brokerId: number, onError: (e: unknown) => void): Promise<string> {
    const find = (): string | undefined => {
      const addrs = this.#routes.brokerAddrTable.get(mq.brokerName);
      return addrs && (addrs[brokerId] ?? addrs[MASTER_ID] ?? Object.values(addrs)[0]);
    };
    let addr = find();
    if (!addr) {
      await this.#routes.updateRoute_(mq.topic, false, this.#api.timeoutMs).catch(() => false);
      addr = find();
    }
    if (!addr) throw new MQClientError(-1, `The broker[${mq.brokerName}] not exist in the route of ${mq.topic}`);
    if (!this.brokers_.has(addr)) this.heartbeat_(addr).catch(onError);
    return addr;
  }

  /** HEART_BEAT (34) with this consumer's group and subscriptions (8.2). */
  async heartbeat_(addr: string): Promise<void> {
    this.brokers_.add(addr);
    const body = utf8.encode(heartbeatBody(this.#clientId, this.#consumerData()));
    const res = await this.#api.client.invoke(addr, createRequest(RC_HEART_BEAT, undefined, { body, serializeType: this.#api.serializeType }), this.#api.timeoutMs);
    if (res.code !== RS_SUCCESS) throw new MQBrokerError(res.code, res.remark ?? '', addr);
  }

  /** A heartbeat to every broker known from routes or used, masters and slaves (sendHeartbeatToAllBroker). */
  async heartbeatAll_(onError: (e: unknown) => void): Promise<void> {
    const addrs = new Set(this.brokers_);
    for (const byId of this.#routes.brokerAddrTable.values()) for (const a of Object.values(byId)) addrs.add(a);
    await Promise.all([...addrs].map((a) => this.heartbeat_(a).catch(onError)));
  }

  /** UNREGISTER_CLIENT for the group and the inner producer group at every broker (8.3); failures ignored. */
  async unregisterAll_(consumerGroup: string): Promise<void> {
    await Promise.all([...this.brokers_].map(async (addr) => {
      try {
        await unregisterClient(this.#api, addr, this.#clientId, { consumerGroup });
        await unregisterClient(this.#api, addr, this.#clientId, { producerGroup: CLIENT_INNER_PRODUCER_GROUP });
      } catch {
        // the broker is gone; it forgets this client after 120 s anyway
      }
    }));
  }
}
