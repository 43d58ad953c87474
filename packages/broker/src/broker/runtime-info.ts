// GET_BROKER_RUNTIME_INFO (28): the KVTable `mqadmin clusterList` and `mqadmin brokerStatus` read.
// The same keys as a 4.9.8 broker (AdminBrokerProcessor#prepareRuntimeInfo over
// DefaultMessageStore#getRuntimeInfo and StoreStatsService#getRuntimeInfo), with this broker's own
// figures; the body is the KVTable as fastjson writes it: {"table":{…}}, HashMap order, all strings.
import fs from 'node:fs';
import path from 'node:path';
import { ResponseCode, VERSION_4_9_8, createResponse, fastjsonString, javaHashMapOrder } from '@rocketmq-edge/core/internal';
import type { RemotingServer } from '../remoting-server.js';
import type { MessageStore } from '../store/message-store.js';
import type { Series } from '../store/store-stats.js';
import { SCHEDULE_TOPIC } from './topic-config.js';
import { formatRuntime, humanReadableByteCount, javaDouble, javaFixed } from './java-text.js';

/** RequestCode.GET_BROKER_RUNTIME_INFO; kept here, out of core's table, so browser bundles stay as they are. */
export const GET_BROKER_RUNTIME_INFO = 28;

export interface RuntimeInfoSource {
  store: MessageStore;
  dataDir: string;
  /** Delay levels that delivered anything: [level, next schedule-queue offset]. */
  delayProgress(): [level: number, offset: number][];
  /** Requests one connection may have in process (RemotingServer's maxPendingPerConnection). */
  maxPendingPerConnection: number;
}

interface Disk {
  /** Used share as UtilAll.getDiskPartitionSpaceUsedPercent computes it (0.43), -1 if unknown. */
  ratio: number;
  total: number;
  usable: number;
}

function disk(dir: string): Disk {
  try {
    const s = fs.statfsSync(dir);
    const used = s.blocks - s.bfree;
    const entire = used + s.bavail;
    if (s.blocks <= 0 || entire <= 0) return { ratio: -1, total: 0, usable: 0 };
    // Whole percent rounded up, as a fraction (Java's integer arithmetic).
    return { ratio: Math.ceil((used * 100) / entire) / 100, total: s.blocks * s.bsize, usable: s.bavail * s.bsize };
  } catch {
    return { ratio: -1, total: 0, usable: 0 };
  }
}

const tps = (store: MessageStore, series: Series, now: number) =>
  [10, 60, 600].map((w) => javaDouble(store.stats.tps(series, w, now))).join(' ');

/** The runtime info entries in the order a 4.9.8 broker puts them into its HashMap. */
export function runtimeInfo(src: RuntimeInfoSource, now = Date.now()): [string, string][] {
  const { store } = src;
  const st = store.stats;
  const out: [string, string][] = [];
  const put = (k: string, v: string | number) => out.push([k, String(v)]);
  // StoreStatsService#getRuntimeInfo (which reports 1 put for none, to divide by it).
  const totalTimes = st.putTimes || 1;
  put('bootTimestamp', st.bootTimestamp);
  put('runtime', formatRuntime(now - st.bootTimestamp));
  put('putMessageEntireTimeMax', st.putTimeMax);
  put('putMessageTimesTotal', totalTimes);
  put('putMessageFailedTimes', st.putFailed);
  put('putMessageSizeTotal', st.putBytes);
  put('putMessageDistributeTime', st.putDistribution() ?? 'null');
  put('putMessageAverageSize', javaDouble(st.putBytes / totalTimes));
  put('dispatchMaxBuffer', 0);
  put('getMessageEntireTimeMax', st.getTimeMax);
  put('putTps', tps(store, 'put', now));
  put('getFoundTps', tps(store, 'getFound', now));
  put('getMissTps', tps(store, 'getMiss', now));
  put('getTotalTps', [10, 60, 600].map((w) => javaDouble(st.tps('getFound', w, now) + st.tps('getMiss', w, now))).join(' '));
  put('getTransferedTps', tps(store, 'transferred', now));
  put('putLatency99', javaFixed(st.putLatencyPercentile(0.99), 2));
  put('putLatency999', javaFixed(st.putLatencyPercentile(0.999), 2));
  // DefaultMessageStore#getRuntimeInfo. Consume queues live in memory here: their "disk" is the data dir's.
  const commitLogDir = path.join(src.dataDir, 'commitlog');
  const logDisk = disk(commitLogDir);
  const rootDisk = disk(src.dataDir);
  put(`commitLogDiskRatio_${commitLogDir}`, javaDouble(logDisk.ratio));
  put('commitLogDiskRatio', javaDouble(logDisk.ratio));
  put('consumeQueueDiskRatio', javaDouble(rootDisk.ratio));
  for (const [level, offset] of src.delayProgress().sort((a, b) => a[0] - b[0])) {
    put(`scheduleMessageOffset_${level}`, `${offset},${store.maxOffset(SCHEDULE_TOPIC, level - 1)}`);
  }
  // Java has no commit-log file before the first message (min offset -1).
  put('commitLogMinOffset', store.log.maxOffset === 0 ? -1 : store.log.minOffset);
  put('commitLogMaxOffset', store.log.maxOffset);
  // AdminBrokerProcessor#prepareRuntimeInfo.
  put('brokerVersionDesc', 'V4_9_8');
  put('brokerVersion', VERSION_4_9_8);
  put('msgPutTotalYesterdayMorning', st.putTotalYesterdayMorning);
  put('msgPutTotalTodayMorning', st.putTotalTodayMorning);
  put('msgPutTotalTodayNow', st.putTimes);
  put('msgGetTotalYesterdayMorning', st.getTotalYesterdayMorning);
  put('msgGetTotalTodayMorning', st.getTotalTodayMorning);
  put('msgGetTotalTodayNow', st.transferred);
  // No thread pools: a request is processed as soon as it is read, so nothing waits in a queue;
  // what bounds the backlog is the per-connection limit of requests in process.
  put('sendThreadPoolQueueSize', 0);
  put('sendThreadPoolQueueCapacity', src.maxPendingPerConnection);
  put('pullThreadPoolQueueSize', 0);
  put('pullThreadPoolQueueCapacity', src.maxPendingPerConnection);
  put('queryThreadPoolQueueSize', 0);
  put('queryThreadPoolQueueCapacity', src.maxPendingPerConnection);
  put('EndTransactionQueueSize', 0);
  put('EndTransactionThreadPoolQueueCapacity', 0); // no transactions
  // Consume queues are written in the same call as the log, and no append is ever in progress
  // while a request is answered (one thread): both are truly 0.
  put('dispatchBehindBytes', 0);
  put('pageCacheLockTimeMills', 0);
  put('sendThreadPoolQueueHeadWaitTimeMills', 0);
  put('pullThreadPoolQueueHeadWaitTimeMills', 0);
  put('queryThreadPoolQueueHeadWaitTimeMills', 0);
  put('earliestMessageTimeStamp', store.earliestMessageTime());
  put('startAcceptSendRequestTimeStamp', 0);
  put('remainTransientStoreBufferNumbs', 2147483647); // no transient store pool (Integer.MAX_VALUE)
  put('remainHowManyDataToFlush', humanReadableByteCount(store.log.unflushedBytes));
  put('commitLogDirCapacity', `Total : ${humanReadableByteCount(rootDisk.total)}, Free : ${humanReadableByteCount(rootDisk.usable)}.`);
  return out;
}

/** KVTable.encode(): {"table":{…}} with the entries in java.util.HashMap order. */
export function encodeKVTable(entries: [string, string][]): Uint8Array {
  const values = new Map(entries);
  const body = javaHashMapOrder(entries.map(([k]) => k))
    .map((k) => `${fastjsonString(k)}:${fastjsonString(values.get(k)!)}`)
    .join(',');
  return new TextEncoder().encode(`{"table":{${body}}}`);
}

export function registerRuntimeInfoProcessor(server: RemotingServer, src: RuntimeInfoSource): void {
  server.register(GET_BROKER_RUNTIME_INFO, (req) =>
    createResponse(req, ResponseCode.SUCCESS, undefined, undefined, encodeKVTable(runtimeInfo(src))));
}
