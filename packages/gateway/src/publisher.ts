// HTTP publishes are sent by core's own Producer over transport-tcp, one per gateway process, to
// the name servers the relay uses: the same route lookup, queue selection, fault tolerance and
// retry loop as every other producer, never a second send path. Here: that producer, the
// idempotency window in front of it, and SendResults as HTTP answers (brokers by alias).
import { Producer, createUniqId, type Message, type SendResult } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
// One message's answer: one definition of the wire contract, beside the client that reads it.
import type { HttpSendResult } from '@rocketmq-edge/transport-ws/http';
import type { AclCredentials } from './acl.js';
import { aliasFor, type AliasTable } from './aliases.js';
import { IdempotencyWindow } from './idempotency.js';
import type { PublishItem } from './message-json.js';
import { publishFailure, type AddressNames } from './publish-errors.js';
import { SigningTransport } from './signing-transport.js';

export type { HttpSendResult };

export interface PublisherOptions {
  namesrvAddr: string;
  acl?: AclCredentials;
  aliases: AliasTable;
  /** Budget of one send, route lookup and retries included (the Producer's sendMsgTimeout). */
  sendTimeoutMs: number;
  connectTimeoutMs: number;
  maxQueuedBytes: number;
  createTopicKey: string;
  producerGroup: string;
  maxMessageSize: number;
  idempotency: { windowMs: number; maxIds: number };
  log: { debug(obj: object, msg?: string): void };
}

export class HttpPublisher {
  readonly producer: Producer;
  private readonly window: IdempotencyWindow<HttpSendResult>;
  private readonly names: AddressNames;

  constructor(private readonly opts: PublisherOptions) {
    const tcp = new TcpTransport({ namesrvAddr: opts.namesrvAddr, connectTimeoutMs: opts.connectTimeoutMs, maxQueuedBytes: opts.maxQueuedBytes });
    this.producer = new Producer({
      transport: opts.acl ? new SigningTransport(tcp, opts.acl) : tcp,
      producerGroup: opts.producerGroup,
      sendMsgTimeout: opts.sendTimeoutMs,
      createTopicKey: opts.createTopicKey,
      maxMessageSize: opts.maxMessageSize,
      instanceName: `rocketmq-edge-http-${process.pid}`,
    });
    // Background failures (route refresh, heartbeat) show in the next publish's answer if they matter.
    this.producer.on('error', (e) => opts.log.debug({ err: e.message }, 'HTTP publish producer: background task failed'));
    this.window = new IdempotencyWindow(opts.idempotency);
    const routes = this.producer.routes;
    this.names = {
      namesrvs: opts.namesrvAddr.split(';').map((s) => s.trim()).filter(Boolean),
      *brokers() {
        for (const [name, addrs] of routes.brokerAddrTable) for (const [id, addr] of Object.entries(addrs)) yield [addr, aliasFor(name, id)];
      },
    };
  }

  start(): Promise<void> {
    return this.producer.start();
  }

  close(): Promise<void> {
    return this.producer.shutdown();
  }

  /** Ids remembered and ids being sent (diagnostics, tests). */
  get idempotency(): { ids: number; pending: number } {
    return { ids: this.window.size, pending: this.window.pendingCount };
  }

  /**
   * Sends `items` to `topic` for the principal `sub`: ids already acknowledged answer from the
   * window (duplicate), ids in flight wait for that send, the rest go as one send (one message, or
   * a batch; messages with a delay level one by one). Throws HttpError when the publish failed.
   */
  async publish(sub: string, topic: string, items: readonly PublishItem[]): Promise<HttpSendResult[]> {
    const results: HttpSendResult[] = new Array(items.length);
    const waiting: Promise<void>[] = [];
    const fresh: { index: number; message: Message; settle?: (o: { value: HttpSendResult } | { error: unknown }) => void }[] = [];
    for (const [index, item] of items.entries()) {
      // Every message gets its id now, so that each result can name it (a batch answers all ids at once).
      const message: Message = { ...item.message, msgId: item.id ?? createUniqId() };
      if (item.id === undefined) {
        fresh.push({ index, message });
        continue;
      }
      const claim = this.window.claim(JSON.stringify([sub, topic, item.id]));
      if (claim.kind === 'done') results[index] = { ...claim.value, duplicate: true };
      else if (claim.kind === 'pending') waiting.push(claim.outcome.then((v) => { results[index] = { ...v, duplicate: true }; }));
      else fresh.push({ index, message, settle: claim.settle });
    }
    const sent: HttpSendResult[] = [];
    try {
      if (fresh.length > 0) await this.send(fresh.map((f) => f.message), sent);
    } catch (e) {
      // What was stored before a failure (delayed messages go one by one) is remembered; the rest is not.
      for (const [k, f] of fresh.entries()) f.settle?.(sent[k] ? { value: sent[k] } : { error: e });
      throw publishFailure(e, topic, this.names, this.opts.sendTimeoutMs);
    }
    for (const [k, f] of fresh.entries()) {
      results[f.index] = sent[k]!;
      f.settle?.({ value: sent[k]! });
    }
    try {
      await Promise.all(waiting);
    } catch (e) {
      throw publishFailure(e, topic, this.names, this.opts.sendTimeoutMs);
    }
    return results;
  }

  /**
   * Sends messages (each with its msgId set): one send, one batch, or (delay levels) one by one.
   * `out` gets each answer as it is acknowledged, so that after a failure the ones before it count.
   */
  private async send(messages: Message[], out: HttpSendResult[]): Promise<void> {
    const p = this.producer;
    if (messages.length > 1 && messages.every((m) => !m.delayLevel)) {
      const r = await p.sendBatch(messages);
      for (const [i, m] of messages.entries()) out.push(this.answer(r, m.msgId!, i, messages.length));
      return;
    }
    for (const m of messages) out.push(this.answer(await p.send(m), m.msgId!, 0));
  }

  /** The answer for message `i` of a send of `n` (a batch: consecutive offsets, one offset id each). */
  private answer(r: SendResult, id: string, i: number, n = 1): HttpSendResult {
    return {
      id,
      sendStatus: r.sendStatus,
      msgId: id,
      // Empty: RocketMQ's offset id is the broker's IP and port in hex, and answers never name an address.
      offsetMsgId: '',
      topic: r.messageQueue.topic,
      brokerName: this.opts.aliases.master(r.messageQueue.brokerName, r.brokerAddr),
      queueId: r.messageQueue.queueId,
      queueOffset: r.queueOffset >= 0 ? r.queueOffset + i : r.queueOffset,
      duplicate: false,
    };
  }
}
