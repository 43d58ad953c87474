// The embedded name server: routes for clients, registrations from brokers (in this process or
// another one, always over TCP).
import { RequestCode, ResponseCode, createResponse, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { maskedCrc32 } from '../crc.js';
import type { Logger } from '../logger.js';
import { noopLogger } from '../logger.js';
import { decodeRegisterBrokerBody } from '../register-body.js';
import { RemotingServer, type Connection } from '../remoting-server.js';
import { encodeClusterInfo, encodeTopicList, encodeTopicRouteData } from './route-json.js';
import { RouteTable } from './route-table.js';

export interface NameServerOptions {
  host?: string;
  port?: number;
  /** A broker that has not registered for this long is dropped (Java: 120 s). */
  brokerExpireMs?: number;
  /** How often expiry is checked (Java: 10 s). */
  scanIntervalMs?: number;
  maxFrameSize?: number;
  logger?: Logger;
}

export interface NameServer {
  /** "host:port" for clients' namesrvAddr. */
  readonly addr: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const utf8 = new TextEncoder();
const V4_9_4 = 401;

export function topicNotExistRemark(topic: string): string {
  return `No topic route info in name server for the topic: ${topic}\nSee http://rocketmq.apache.org/docs/faq/ for further details.`;
}

export async function startNameServer(opts: NameServerOptions = {}): Promise<NameServer> {
  const log = opts.logger ?? noopLogger;
  const table = new RouteTable();
  const expireMs = opts.brokerExpireMs ?? 120_000;
  // Unlike the real name server (which stays silent), unknown codes get REQUEST_CODE_NOT_SUPPORTED,
  // so a client learns at once instead of after its timeout.
  const server = new RemotingServer({
    host: opts.host,
    port: opts.port,
    maxFrameSize: opts.maxFrameSize,
    unknownCode: 'reply',
    logger: log,
    name: 'namesrv',
  });
  const closeHooked = new Set<number>();

  server.register(RequestCode.GET_ROUTEINFO_BY_TOPIC, (req) => {
    const topic = req.extFields?.topic ?? '';
    const route = table.route(topic);
    if (!route) return createResponse(req, ResponseCode.TOPIC_NOT_EXIST, topicNotExistRemark(topic));
    const standard = req.version >= V4_9_4 || req.extFields?.acceptStandardJsonOnly === 'true';
    const resp = createResponse(req, ResponseCode.SUCCESS);
    resp.body = utf8.encode(encodeTopicRouteData(route.brokers, route.queues, standard));
    return resp;
  });

  server.register(RequestCode.GET_BROKER_CLUSTER_INFO, (req) => {
    const info = table.clusterInfo();
    return createResponse(req, ResponseCode.SUCCESS, undefined, undefined, utf8.encode(encodeClusterInfo(info.brokers, info.clusters)));
  });

  server.register(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (req) =>
    createResponse(req, ResponseCode.SUCCESS, undefined, undefined, utf8.encode(encodeTopicList(table.topicList()))),
  );

  server.register(RequestCode.REGISTER_BROKER, (req: RemotingCommand, conn: Connection) => {
    const h = req.extFields ?? {};
    const brokerAddr = h.brokerAddr;
    const brokerName = h.brokerName;
    const clusterName = h.clusterName;
    if (!brokerAddr || !brokerName || !clusterName) {
      return createResponse(req, ResponseCode.SYSTEM_ERROR, 'REGISTER_BROKER needs brokerAddr, brokerName and clusterName');
    }
    const crc = Number(h.bodyCrc32 ?? 0);
    if (crc !== 0 && maskedCrc32(req.body ?? new Uint8Array(0)) !== crc) {
      log('warn', `namesrv: REGISTER_BROKER from ${conn.remoteAddr}: body CRC mismatch`);
      return createResponse(req, ResponseCode.SYSTEM_ERROR, 'crc32 not match');
    }
    const body = decodeRegisterBrokerBody(req.body, h.compressed === 'true');
    const r = table.register({
      clusterName,
      brokerName,
      brokerAddr,
      brokerId: Number(h.brokerId ?? 0) || 0,
      topics: body.topics,
      now: Date.now(),
      connId: conn.id,
    });
    if (!closeHooked.has(conn.id)) {
      closeHooked.add(conn.id);
      conn.onClose(() => {
        closeHooked.delete(conn.id);
        const gone = table.connectionClosed(conn.id);
        if (gone.length) log('info', `namesrv: connection closed, dropped brokers ${gone.join(', ')}`);
      });
    }
    log('debug', `namesrv: registered ${brokerName} ${brokerAddr} with ${body.topics.length} topics`);
    const ext: Record<string, string> = {};
    if (r.masterAddr) ext.masterAddr = r.masterAddr;
    return createResponse(req, ResponseCode.SUCCESS, undefined, ext);
  });

  server.register(RequestCode.UNREGISTER_BROKER, (req) => {
    const h = req.extFields ?? {};
    if (h.brokerAddr && h.brokerName) {
      table.unregister(h.brokerAddr, h.brokerName, Number(h.brokerId ?? 0) || 0, h.clusterName ?? '');
    }
    return createResponse(req, ResponseCode.SUCCESS);
  });

  const { host, port } = await server.listen();
  const timer = setInterval(() => {
    const gone = table.expire(Date.now(), expireMs);
    if (gone.length) log('info', `namesrv: expired brokers ${gone.join(', ')}`);
  }, opts.scanIntervalMs ?? Math.min(10_000, expireMs));
  timer.unref();

  const advertised = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    addr: advertised.includes(':') ? `[${advertised}]:${port}` : `${advertised}:${port}`,
    host: advertised,
    port,
    async close() {
      clearInterval(timer);
      await server.close();
    },
  };
}
