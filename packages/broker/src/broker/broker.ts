// startBroker: wires the store, the processors and the name-server registration together.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RequestCode } from '@rocketmq-edge/core/internal';
import type { Logger } from '../logger.js';
import { noopLogger } from '../logger.js';
import { RemotingServer } from '../remoting-server.js';
import { describeWriteError } from '../store/errors.js';
import { MessageStore, type FlushMode } from '../store/message-store.js';
import { tagsHashCode } from '../store/record.js';
import { registerClientProcessors } from './client-processors.js';
import { ConsumerManager } from './consumer-manager.js';
import { ConsumerOffsets } from './consumer-offsets.js';
import { aclGuard, type AclAccount } from './acl.js';
import { ProducerManager, PRODUCER_CHANNEL_EXPIRED_MS } from './producer-manager.js';
import { registerReplyProcessor, replyTopicOf } from './reply.js';
import {
  DEFAULT_TRANSACTION_CHECK_INTERVAL_MS, DEFAULT_TRANSACTION_CHECK_MAX, DEFAULT_TRANSACTION_TIMEOUT_MS, TransactionService, isTransactionTopic,
} from './transaction.js';
import { DEFAULT_DELAY_LEVELS, makeTagsCodeOf, parseDelayLevels, type BrokerContext } from './context.js';
import { PullService } from './pull.js';
import { Registrar } from './registrar.js';
import { registerRuntimeInfoProcessor } from './runtime-info.js';
import { ScheduleService } from './schedule.js';
import { DEFAULT_MAX_BATCH_MESSAGES, createSendProcessor } from './send.js';
import { TIMER_TOPIC, TopicConfigManager } from './topic-config.js';

export interface BrokerOptions {
  /** Name server(s) to register with, "host:port;host2:port2". Without it the broker runs unregistered. */
  namesrvAddr?: string;
  /** Directory for the commit log and state files (created if missing). */
  dataDir: string;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  port?: number;
  /** Address published in routes and offset ids; default host:port (127.0.0.1 when host is 0.0.0.0/::). */
  advertisedHost?: string;
  brokerName?: string;
  clusterName?: string;
  /** 0 = master (the only kind this broker implements). */
  brokerId?: number;
  flushDiskType?: FlushMode;
  /** ASYNC_FLUSH: fsync interval (default 500 ms). */
  flushIntervalMs?: number;
  autoCreateTopicEnable?: boolean;
  /** Queues of TBW102 = upper bound for auto-created topics (RocketMQ default 8; Java clients ask for 4). */
  defaultTopicQueueNums?: number;
  /** Commit-log segment size (default 64 MiB). */
  segmentSize?: number;
  /** Retention by age (default 72 h) and by total size (default unlimited). */
  fileReservedTimeMs?: number;
  maxDiskBytes?: number;
  retentionIntervalMs?: number;
  /**
   * After a failed commit-log write (disk full) the broker answers sends SERVICE_NOT_AVAILABLE,
   * re-registers without write permission, and probes the disk this often (default 1 s) until it
   * takes writes again.
   */
  diskProbeIntervalMs?: number;
  /** Largest accepted message body (default 4 MiB). */
  maxMessageSize?: number;
  /**
   * Most records one SEND_BATCH_MESSAGE may hold (default DEFAULT_MAX_BATCH_MESSAGES = 1024); a
   * larger batch is refused with MESSAGE_ILLEGAL (13) and nothing of it is stored.
   */
  maxBatchMessages?: number;
  maxFrameSize?: number;
  /** Delay levels, default "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h". */
  messageDelayLevel?: string;
  /** How often due delayed messages are checked (default 100 ms). */
  scheduleTickMs?: number;
  /** Periodic re-registration (default 30 s). */
  registerIntervalMs?: number;
  /**
   * Clients without heartbeat for this long are dropped (default 120 s); a producer's connection is
   * then also closed, as 4.9.8's ProducerManager does.
   */
  clientExpireMs?: number;
  /** How often silent clients are looked for (default 10 s, ClientHousekeepingService). */
  clientScanIntervalMs?: number;
  /** How often half messages are checked back (BrokerConfig.transactionCheckInterval, default 60 s). */
  transactionCheckIntervalMs?: number;
  /** A half message younger than this is not checked yet (transactionTimeOut, default 6 s). */
  transactionTimeoutMs?: number;
  /** Checks of one half message before it is discarded to TRANS_CHECK_MAX_TIME_TOPIC (transactionCheckMax, default 15). */
  transactionCheckMax?: number;
  /** Refuse transactional (half) messages with NO_PERMISSION (rejectTransactionMessage, default false). */
  rejectTransactionMessage?: boolean;
  /** Also store replies in <cluster>_REPLY_TOPIC after pushing them (storeReplyMessageEnable, default true). */
  storeReplyMessageEnable?: boolean;
  /** Consumer offsets persist interval (default 5 s). */
  offsetPersistIntervalMs?: number;
  /** Upper bound of a long-polling hold (default 30 s). */
  maxSuspendMs?: number;
  /**
   * How often held pulls are checked for messages that arrived without matching their tag filter
   * (default 5 s, PullRequestHoldService's period); such pulls are then answered PULL_RETRY_IMMEDIATELY.
   */
  pullHoldCheckIntervalMs?: number;
  /**
   * MessageStoreConfig.accessMessageInMemoryMaxRatio (default 40): the newest this-many percent of
   * physical memory's worth of commit log counts as in memory. A new consumer group reads a queue
   * from offset 0 while its first message is in memory (QUERY_CONSUMER_OFFSET), else from the end.
   */
  accessMessageInMemoryMaxRatio?: number;
  regionId?: string;
  traceOn?: boolean;
  /**
   * ACL on (BrokerConfig.aclEnable): every request must be signed (AclClientRPCHook) by one of
   * these accounts; others are refused with SYSTEM_ERROR. Default: off.
   */
  aclAccounts?: AclAccount[];
  logger?: Logger;
}

export interface Broker {
  /** "host:port" as published in routes. */
  readonly addr: string;
  readonly host: string;
  readonly port: number;
  readonly brokerName: string;
  readonly clusterName: string;
  readonly dataDir: string;
  /** Flushes everything to disk now (tests). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Same as close(). */
  stop(): Promise<void>;
}

/** Requests one connection may have in process before the broker stops reading from it. */
const MAX_PENDING_PER_CONNECTION = 1024;

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`broker option ${name} must be a positive integer, got ${v}`);
  return v;
}

/** Refuses a data dir another live process uses; a stale lock (dead pid) is taken over. */
function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* ignore */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      let alive = false;
      if (pid && pid !== process.pid) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (err) {
          alive = (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) throw new Error(`data directory ${dir} is in use by process ${pid}`);
      if (pid === process.pid) throw new Error(`data directory ${dir} is already used by a broker in this process`);
      fs.unlinkSync(file);
    }
  }
  throw new Error(`cannot lock data directory ${dir}`);
}

export async function startBroker(opts: BrokerOptions): Promise<Broker> {
  if (!opts?.dataDir) throw new Error('startBroker needs dataDir');
  const log = opts.logger ?? noopLogger;
  const host = opts.host ?? '127.0.0.1';
  const brokerName = opts.brokerName ?? 'broker-a';
  const clusterName = opts.clusterName ?? 'DefaultCluster';
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  const cleanup: (() => unknown)[] = [unlock];
  try {
    const configDir = path.join(dataDir, 'config');
    const delayLevelsMs = parseDelayLevels(opts.messageDelayLevel ?? DEFAULT_DELAY_LEVELS);
    const store = MessageStore.open({
      dir: dataDir,
      segmentSize: opts.segmentSize,
      flushDiskType: opts.flushDiskType,
      flushIntervalMs: opts.flushIntervalMs,
      fileReservedTimeMs: opts.fileReservedTimeMs,
      maxDiskBytes: opts.maxDiskBytes,
      retentionIntervalMs: opts.retentionIntervalMs,
      diskProbeIntervalMs: opts.diskProbeIntervalMs,
      tagsCodeOf: makeTagsCodeOf(delayLevelsMs, tagsHashCode),
      accessMessageInMemoryMaxRatio: opts.accessMessageInMemoryMaxRatio,
      logger: log,
    });
    cleanup.unshift(() => store.close());
    const topics = new TopicConfigManager({
      dir: configDir,
      autoCreateTopicEnable: opts.autoCreateTopicEnable ?? true,
      defaultTopicQueueNums: opts.defaultTopicQueueNums ?? 8,
      delayLevels: delayLevelsMs.length,
      logger: log,
    });
    cleanup.unshift(() => topics.close());
    for (const topic of store.topics()) {
      if (topic === TIMER_TOPIC || isTransactionTopic(topic) || !topics.adoptStored(topic, store.queueCount(topic))) continue;
      log('warn', `topic ${topic} holds messages but was not in topics.json (created just before a crash?): re-created with ${topics.get(topic)!.readQueueNums} queues`);
    }
    const offsets = new ConsumerOffsets(configDir, opts.offsetPersistIntervalMs ?? 5000, log);
    cleanup.unshift(() => offsets.close());
    const consumers = new ConsumerManager();
    const producers = new ProducerManager();
    // TopicConfigManager's reply topic of the cluster (1 queue).
    topics.ensure(replyTopicOf(clusterName), 1);

    const server = new RemotingServer({
      host,
      port: opts.port ?? 0,
      maxFrameSize: opts.maxFrameSize,
      unknownCode: 'reply',
      logger: log,
      name: brokerName,
      maxPendingPerConnection: MAX_PENDING_PER_CONNECTION,
    });
    if (opts.aclAccounts?.length) server.setGuard(aclGuard(opts.aclAccounts));
    const listening = await server.listen();
    cleanup.unshift(() => server.close());
    let advertised = opts.advertisedHost ?? host;
    if (advertised === '0.0.0.0' || advertised === '::' || !net.isIP(advertised)) advertised = '127.0.0.1';
    const addr = advertised.includes(':') ? `[${advertised}]:${listening.port}` : `${advertised}:${listening.port}`;

    const ctx: BrokerContext = {
      brokerName,
      clusterName,
      storeHost: addr,
      store,
      topics,
      offsets,
      consumers,
      producers,
      delayLevelsMs,
      maxMessageSize: opts.maxMessageSize ?? 4 * 1024 * 1024,
      maxBatchMessages: positiveInt('maxBatchMessages', opts.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES),
      regionId: opts.regionId ?? 'DefaultRegion',
      traceOn: opts.traceOn ?? true,
      rejectTransactionMessage: opts.rejectTransactionMessage ?? false,
      log,
    };

    const send = createSendProcessor(ctx);
    server.register(RequestCode.SEND_MESSAGE, send);
    server.register(RequestCode.SEND_MESSAGE_V2, send);
    server.register(RequestCode.SEND_BATCH_MESSAGE, send);
    const pull = new PullService(ctx, {
      maxSuspendMs: opts.maxSuspendMs ?? 30_000,
      maxParkedPerConnection: 512,
      holdCheckIntervalMs: opts.pullHoldCheckIntervalMs ?? 5000,
    });
    cleanup.unshift(() => pull.close());
    server.register(RequestCode.PULL_MESSAGE, pull.processor);
    registerClientProcessors(server, ctx);
    registerReplyProcessor(server, ctx, { storeReplyMessageEnable: opts.storeReplyMessageEnable ?? true });
    const transactions = new TransactionService(ctx, {
      checkIntervalMs: positiveInt('transactionCheckIntervalMs', opts.transactionCheckIntervalMs ?? DEFAULT_TRANSACTION_CHECK_INTERVAL_MS),
      timeoutMs: opts.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS,
      checkMax: positiveInt('transactionCheckMax', opts.transactionCheckMax ?? DEFAULT_TRANSACTION_CHECK_MAX),
      fileReservedTimeMs: opts.fileReservedTimeMs ?? 72 * 3600_000,
    });
    transactions.register(server);
    cleanup.unshift(() => transactions.close());
    const schedule = new ScheduleService(ctx, configDir, opts.scheduleTickMs ?? 100);
    cleanup.unshift(() => schedule.close());
    registerRuntimeInfoProcessor(server, {
      store,
      dataDir,
      delayProgress: () => schedule.levelProgress(),
      maxPendingPerConnection: MAX_PENDING_PER_CONNECTION,
    });

    const expiry = setInterval(() => {
      const now = Date.now();
      consumers.expire(now, opts.clientExpireMs ?? 120_000);
      producers.expire(now, opts.clientExpireMs ?? PRODUCER_CHANNEL_EXPIRED_MS);
    }, positiveInt('clientScanIntervalMs', opts.clientScanIntervalMs ?? 10_000));
    expiry.unref();
    cleanup.unshift(() => clearInterval(expiry));

    let registrar: Registrar | undefined;
    const namesrvAddrs = (opts.namesrvAddr ?? '').split(';').map((s) => s.trim()).filter(Boolean);
    if (namesrvAddrs.length) {
      registrar = new Registrar(
        {
          namesrvAddrs,
          brokerAddr: addr,
          brokerName,
          clusterName,
          brokerId: opts.brokerId ?? 0,
          haServerAddr: `${advertised}:${listening.port + 1}`,
          intervalMs: opts.registerIntervalMs ?? 30_000,
          timeoutMs: 3000,
          logger: log,
          writable: () => store.writable,
        },
        topics,
      );
      const r = registrar;
      topics.onChange(() => r.registerOneway());
      // Disk full and back: re-register at once, without and then with write permission.
      const off = store.onWritableChange(() => {
        topics.touch();
        void r.registerAll();
      });
      cleanup.unshift(off);
      await r.registerAll();
      r.start();
    }

    store.onWritableChange((writable, reason) =>
      log(writable ? 'info' : 'error', writable
        ? `broker ${brokerName}: the store takes writes again; registered with write permission`
        : `broker ${brokerName}: the store takes no writes (${describeWriteError(reason)}); refusing sends with SERVICE_NOT_AVAILABLE, registered without write permission, probing the disk every ${opts.diskProbeIntervalMs ?? 1000} ms`),
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        // Leave the routes first, so producers move on, then stop serving and flush.
        await registrar?.close();
        for (const c of cleanup) {
          try {
            await c();
          } catch (e) {
            log('error', `broker close: ${(e as Error).message}`);
          }
        }
      })());

    log('info', `broker ${brokerName} listening on ${addr}, data in ${dataDir}`);
    return {
      addr,
      host: advertised,
      port: listening.port,
      brokerName,
      clusterName,
      dataDir,
      flush: () => store.flush(),
      close,
      stop: close,
    };
  } catch (e) {
    for (const c of cleanup) {
      try {
        await c();
      } catch {
        /* ignore */
      }
    }
    throw e;
  }
}

