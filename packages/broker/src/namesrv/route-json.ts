// TopicRouteData / ClusterInfo / TopicList JSON exactly as the 4.9.8 name server writes them
// (fastjson, compact, bean properties sorted, nulls omitted).
import { fastjsonString } from '@rocketmq-edge/core/internal';

export interface QueueData {
  brokerName: string;
  perm: number;
  readQueueNums: number;
  topicSysFlag: number;
  writeQueueNums: number;
}

export interface BrokerData {
  brokerName: string;
  cluster: string;
  /** brokerId → "host:port" */
  brokerAddrs: Map<number, string>;
}

/** A string literal; in the standard form non-ASCII characters are \u-escaped (BrowserCompatible). */
function str(s: string, standard: boolean): string {
  const j = fastjsonString(s);
  if (!standard) return j;
  // eslint-disable-next-line no-control-regex
  return j.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

function brokerAddrsJson(addrs: Map<number, string>, standard: boolean): string {
  const ids = [...addrs.keys()].sort((a, b) => a - b);
  // Standard JSON quotes the Long keys; fastjson's default writer leaves them bare.
  return `{${ids.map((id) => `${standard ? `"${id}"` : id}:${str(addrs.get(id)!, standard)}`).join(',')}}`;
}

function brokerDataJson(b: BrokerData, standard: boolean): string {
  return `{"brokerAddrs":${brokerAddrsJson(b.brokerAddrs, standard)},"brokerName":${str(b.brokerName, standard)},"cluster":${str(b.cluster, standard)}}`;
}

function queueDataJson(q: QueueData, standard: boolean): string {
  return (
    `{"brokerName":${str(q.brokerName, standard)},"perm":${q.perm},"readQueueNums":${q.readQueueNums},` +
    `"topicSysFlag":${q.topicSysFlag},"writeQueueNums":${q.writeQueueNums}}`
  );
}

/** `standard`: quoted map keys (request version ≥ 401 or acceptStandardJsonOnly=true). */
export function encodeTopicRouteData(brokers: BrokerData[], queues: QueueData[], standard: boolean): string {
  return (
    `{"brokerDatas":[${brokers.map((b) => brokerDataJson(b, standard)).join(',')}],"filterServerTable":{},` +
    `"queueDatas":[${queues.map((q) => queueDataJson(q, standard)).join(',')}]}`
  );
}

/** ClusterInfo, always in the non-standard form (bare integer keys), as the 4.9.8 name server writes it. */
export function encodeClusterInfo(brokers: BrokerData[], clusters: Map<string, string[]>): string {
  const table = brokers.map((b) => `${str(b.brokerName, false)}:${brokerDataJson(b, false)}`).join(',');
  const cl = [...clusters.entries()].map(([c, names]) => `${str(c, false)}:[${names.map((n) => str(n, false)).join(',')}]`).join(',');
  return `{"brokerAddrTable":{${table}},"clusterAddrTable":{${cl}}}`;
}

export function encodeTopicList(topics: string[]): string {
  return `{"topicList":[${topics.map((t) => str(t, false)).join(',')}]}`;
}
