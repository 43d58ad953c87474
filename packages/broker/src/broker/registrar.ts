// Registration of this broker with its name servers (REGISTER_BROKER / UNREGISTER_BROKER over TCP):
// two-way at start and every `intervalMs`, oneway after the topic table changes. A registration
// carries the whole table (O(topics)), so the oneway ones are coalesced: one covers every change
// made before it starts (CoalescedTask), not one per new topic as a Java broker sends. Over the
// repository's one TCP remoting client (core's RemotingClient on transport-tcp), one connection
// per name server, each addressed by its "host:port".
import { RemotingClient, RequestCode, ResponseCode, createRequest, inJavaOrder } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { CoalescedTask } from '../coalesced-task.js';
import { maskedCrc32 } from '../crc.js';
import type { Logger } from '../logger.js';
import { encodeRegisterBrokerBody } from '../register-body.js';
import { PERM_WRITE, type TopicConfigManager } from './topic-config.js';

export interface RegistrarOptions {
  namesrvAddrs: string[];
  brokerAddr: string;
  brokerName: string;
  clusterName: string;
  brokerId: number;
  haServerAddr: string;
  intervalMs: number;
  timeoutMs: number;
  logger: Logger;
  /**
   * False while the store takes no writes: every topic is then registered without PERM_WRITE (as a
   * Java broker does with brokerPermission), so producers' routes stop offering this broker.
   */
  writable?: () => boolean;
}

export class Registrar {
  private readonly transport: TcpTransport;
  private readonly client: RemotingClient;
  private readonly onewayTask: CoalescedTask;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: RegistrarOptions, private readonly topics: TopicConfigManager) {
    this.transport = new TcpTransport({ connectTimeoutMs: Math.min(3000, opts.timeoutMs) });
    this.client = new RemotingClient(this.transport);
    this.onewayTask = new CoalescedTask(() => this.sendOneway());
  }

  private request(oneway: boolean) {
    let topics = this.topics.all();
    if (this.opts.writable && !this.opts.writable()) topics = topics.map((t) => ({ ...t, perm: t.perm & ~PERM_WRITE }));
    const body = encodeRegisterBrokerBody(topics, this.topics.dataVersion);
    const header = inJavaOrder({
      brokerId: String(this.opts.brokerId),
      bodyCrc32: String(maskedCrc32(body)),
      clusterName: this.opts.clusterName,
      brokerAddr: this.opts.brokerAddr,
      haServerAddr: this.opts.haServerAddr,
      compressed: 'false',
      brokerName: this.opts.brokerName,
    });
    return createRequest(RequestCode.REGISTER_BROKER, header, { body, oneway });
  }

  /** Two-way registration with every name server; resolves when all answered or failed. */
  async registerAll(): Promise<boolean> {
    if (this.closed) return false;
    const results = await Promise.all(
      this.opts.namesrvAddrs.map(async (addr) => {
        try {
          const r = await this.client.invoke(addr, this.request(false), this.opts.timeoutMs);
          if (r.code !== ResponseCode.SUCCESS) this.opts.logger('warn', `register with ${addr}: code ${r.code} ${r.remark ?? ''}`);
          return r.code === ResponseCode.SUCCESS;
        } catch (e) {
          this.opts.logger('warn', `register with ${addr} failed: ${(e as Error).message}`);
          return false;
        }
      }),
    );
    return results.every(Boolean);
  }

  /** After a topic change: oneway, like the real broker, coalesced with other changes. */
  registerOneway(): void {
    if (!this.closed) this.onewayTask.request();
  }

  private sendOneway(): void {
    if (this.closed) return;
    const req = this.request(true);
    for (const addr of this.opts.namesrvAddrs) {
      this.client.invokeOneway(addr, req).catch((e: Error) => this.opts.logger('warn', `oneway register with ${addr} failed: ${e.message}`));
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.registerAll(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** UNREGISTER_BROKER to every name server (short timeout), then close the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.onewayTask.close();
    const header = inJavaOrder({
      brokerId: String(this.opts.brokerId),
      clusterName: this.opts.clusterName,
      brokerAddr: this.opts.brokerAddr,
      brokerName: this.opts.brokerName,
    });
    await Promise.all(
      this.opts.namesrvAddrs.map(async (addr) => {
        try {
          await this.client.invoke(addr, createRequest(RequestCode.UNREGISTER_BROKER, header), 1000);
        } catch {
          /* the name server may be gone already; it expires us anyway */
        }
      }),
    );
    await this.client.close();
    await this.transport.close();
  }
}
