// @rocketmq-edge/broker: an embedded RocketMQ name server + broker speaking the real remoting
// protocol over TCP, so unmodified RocketMQ clients (Java, ali-ons, this project's producer) can use it.
import { startBroker, type Broker, type BrokerOptions } from './broker/broker.js';
import { startNameServer, type NameServer, type NameServerOptions } from './namesrv/nameserver.js';
import type { Logger } from './logger.js';

export { startBroker, startNameServer };
export type { Broker, BrokerOptions, NameServer, NameServerOptions };
export type { FlushMode } from './store/message-store.js';
export { DEFAULT_MAX_BATCH_MESSAGES } from './broker/send.js';
export type { AclAccount } from './broker/acl.js';
export { consoleLogger } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
export { startEmbeddedThread } from './thread.js';
export type { EmbeddedThread, EmbeddedThreadOptions } from './thread.js';

export interface EmbeddedOptions extends Omit<BrokerOptions, 'namesrvAddr' | 'port'> {
  /** Name server port (default 0 = any free port). */
  namesrvPort?: number;
  /** Broker port (default 0 = any free port). */
  brokerPort?: number;
  logger?: Logger;
}

export interface Embedded {
  readonly namesrv: NameServer;
  readonly broker: Broker;
  /** The name server address for clients' namesrvAddr. */
  readonly namesrvAddr: string;
  close(): Promise<void>;
}

/** A name server and one broker registered with it, both on real TCP (127.0.0.1 by default). */
export async function startEmbedded(opts: EmbeddedOptions): Promise<Embedded> {
  const { namesrvPort, brokerPort, ...brokerOpts } = opts;
  const namesrv = await startNameServer({ host: opts.host ?? '127.0.0.1', port: namesrvPort ?? 0, logger: opts.logger });
  let broker: Broker;
  try {
    broker = await startBroker({ ...brokerOpts, namesrvAddr: namesrv.addr, port: brokerPort ?? 0 });
  } catch (e) {
    await namesrv.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    namesrv,
    broker,
    namesrvAddr: namesrv.addr,
    close: () =>
      (closing ??= (async () => {
        await broker.close();
        await namesrv.close();
      })()),
  };
}
