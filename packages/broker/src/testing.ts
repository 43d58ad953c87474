// @rocketmq-edge/broker/testing: helpers for tests that check "acknowledged means stored" by
// reading back what a broker holds, over the real protocol (PULL_MESSAGE without suspension).
import {
  RemotingClient,
  RequestCode,
  ResponseCode,
  createRequest,
  decodeStoredMessages,
  parseLenientJson,
  type MessageExt,
} from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';

/** A message in the stored format (10.3), as brokers send it in pulls and check-backs. */
export { encodeRecord } from './store/record.js';

export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

export interface PullResult {
  status: PullStatus;
  /** The response code and the broker's lookup status (remark). */
  code: number;
  remark: string;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  messages: MessageExt[];
}

export interface PullArgs {
  brokerAddr: string;
  topic: string;
  queueId: number;
  offset: number;
  maxNums?: number;
  consumerGroup?: string;
  timeoutMs?: number;
}

const GROUP = 'rocketmq_edge_testing';

/** Runs `fn` with a RemotingClient over a fresh TcpTransport (name servers optional), closing both afterwards. */
export async function withClient<T>(namesrvAddr: string | undefined, fn: (client: RemotingClient) => Promise<T>): Promise<T> {
  const transport = new TcpTransport(namesrvAddr !== undefined ? { namesrvAddr } : {});
  const client = new RemotingClient(transport);
  try {
    return await fn(client);
  } finally {
    await client.close();
    await transport.close();
  }
}

async function pullWith(client: RemotingClient, a: PullArgs): Promise<PullResult> {
  const req = createRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: a.consumerGroup ?? GROUP,
    topic: a.topic,
    queueId: String(a.queueId),
    queueOffset: String(a.offset),
    maxMsgNums: String(a.maxNums ?? 32),
    sysFlag: '0',
    commitOffset: '0',
    suspendTimeoutMillis: '0',
    subVersion: '0',
    expressionType: 'TAG',
  });
  const r = await client.invoke(a.brokerAddr, req, a.timeoutMs ?? 5000);
  const h = r.extFields ?? {};
  let status: PullStatus;
  switch (r.code) {
    case ResponseCode.SUCCESS: status = 'FOUND'; break;
    case ResponseCode.PULL_NOT_FOUND: status = 'NO_NEW_MSG'; break;
    case ResponseCode.PULL_RETRY_IMMEDIATELY: status = 'NO_MATCHED_MSG'; break;
    case ResponseCode.PULL_OFFSET_MOVED: status = 'OFFSET_ILLEGAL'; break;
    default:
      throw new Error(`PULL_MESSAGE ${a.topic}/${a.queueId}@${a.offset} on ${a.brokerAddr}: code ${r.code} ${r.remark ?? ''}`);
  }
  return {
    status,
    code: r.code,
    remark: r.remark ?? '',
    nextBeginOffset: Number(h.nextBeginOffset ?? 0),
    minOffset: Number(h.minOffset ?? 0),
    maxOffset: Number(h.maxOffset ?? 0),
    // A plain Uint8Array view, so bodies compare equal to what producers sent (node:net hands out Buffers).
    messages: r.code === ResponseCode.SUCCESS && r.body
      ? decodeStoredMessages(new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength))
      : [],
  };
}

/** One PULL_MESSAGE (no long polling, no offset commit) against a broker. */
export async function pullMessages(a: PullArgs): Promise<PullResult> {
  return withClient(undefined, (client) => pullWith(client, a));
}

interface Route {
  brokerDatas?: { brokerName: string; brokerAddrs: Record<string, string> }[];
  queueDatas?: { brokerName: string; readQueueNums: number }[];
}

/**
 * Every message the brokers hold for `topic`: route lookup at the name server, then every readable
 * queue of every broker from its min offset to its max offset. Ordered by broker, queue, offset.
 * An unknown topic gives []; an unreachable broker of the route throws.
 */
export async function readAll(a: { namesrvAddr: string; topic: string; timeoutMs?: number }): Promise<MessageExt[]> {
  return withClient(undefined, async (client) => {
    const namesrv = a.namesrvAddr.split(';')[0]!.trim();
    const r = await client.invoke(namesrv, createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: a.topic }), a.timeoutMs ?? 5000);
    if (r.code === ResponseCode.TOPIC_NOT_EXIST) return [];
    if (r.code !== ResponseCode.SUCCESS || !r.body) throw new Error(`route of ${a.topic}: code ${r.code} ${r.remark ?? ''}`);
    const route = parseLenientJson(new TextDecoder().decode(r.body)) as Route;
    const out: MessageExt[] = [];
    const queues = [...(route.queueDatas ?? [])].sort((x, y) => (x.brokerName < y.brokerName ? -1 : x.brokerName > y.brokerName ? 1 : 0));
    for (const q of queues) {
      const addr = route.brokerDatas?.find((b) => b.brokerName === q.brokerName)?.brokerAddrs?.['0'];
      if (!addr) continue;
      for (let queueId = 0; queueId < q.readQueueNums; queueId++) {
        let offset = 0;
        for (let guard = 0; guard < 1_000_000; guard++) {
          const p = await pullWith(client, { brokerAddr: addr, topic: a.topic, queueId, offset, maxNums: 256, timeoutMs: a.timeoutMs });
          out.push(...p.messages);
          if (p.status === 'NO_NEW_MSG') break;
          if (p.status === 'OFFSET_ILLEGAL' && p.nextBeginOffset <= offset) break;
          if (p.nextBeginOffset === offset && p.status !== 'FOUND') break;
          offset = p.nextBeginOffset;
        }
      }
    }
    return out;
  });
}
