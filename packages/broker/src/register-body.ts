// RegisterBrokerBody: the broker's topic table sent with REGISTER_BROKER (103).
// JSON form (what 4.9.8 brokers send by default) and the zlib "compressed" binary form
// (RegisterBrokerBody.encode(true), sent when the broker runs with compressedRegister=true).
import { inflateSync } from 'node:zlib';
import { CodecError, fastjsonString, parseLenientJson } from '@rocketmq-edge/core/internal';

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: 'SINGLE_TAG' | 'MULTI_TAG';
  topicSysFlag: number;
  order: boolean;
}

export interface DataVersion {
  counter: number;
  timestamp: number;
}

export function topicConfigJson(t: TopicConfig): string {
  return (
    `{"order":${t.order},"perm":${t.perm},"readQueueNums":${t.readQueueNums},"topicFilterType":"${t.topicFilterType}",` +
    `"topicName":${fastjsonString(t.topicName)},"topicSysFlag":${t.topicSysFlag},"writeQueueNums":${t.writeQueueNums}}`
  );
}

export function encodeRegisterBrokerBody(topics: Iterable<TopicConfig>, dataVersion: DataVersion): Uint8Array {
  const table = [...topics].map((t) => `${fastjsonString(t.topicName)}:${topicConfigJson(t)}`).join(',');
  const json =
    `{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":${dataVersion.counter},` +
    `"timestamp":${dataVersion.timestamp}},"topicConfigTable":{${table}}}}`;
  return new TextEncoder().encode(json);
}

function num(v: unknown, fallback: number): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}

function toTopicConfig(name: string, o: Record<string, unknown>): TopicConfig {
  return {
    topicName: typeof o.topicName === 'string' ? o.topicName : name,
    readQueueNums: num(o.readQueueNums, 16),
    writeQueueNums: num(o.writeQueueNums, 16),
    perm: num(o.perm, 6),
    topicFilterType: o.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG',
    topicSysFlag: num(o.topicSysFlag, 0),
    order: o.order === true || o.order === 'true',
  };
}

export interface RegisterBrokerBody {
  topics: TopicConfig[];
  dataVersion: DataVersion;
}

export function decodeRegisterBrokerBody(body: Uint8Array | undefined, compressed: boolean): RegisterBrokerBody {
  if (!body || body.length === 0) return { topics: [], dataVersion: { counter: 0, timestamp: 0 } };
  if (compressed) return decodeCompressed(body);
  const o = parseLenientJson(new TextDecoder().decode(body)) as Record<string, unknown>;
  const wrapper = (o?.topicConfigSerializeWrapper ?? {}) as Record<string, unknown>;
  const table = (wrapper.topicConfigTable ?? {}) as Record<string, Record<string, unknown>>;
  const dv = (wrapper.dataVersion ?? {}) as Record<string, unknown>;
  const topics = Object.entries(table)
    .filter(([, v]) => v && typeof v === 'object')
    .map(([k, v]) => toTopicConfig(k, v));
  return { topics, dataVersion: { counter: num(dv.counter, 0), timestamp: num(dv.timestamp, 0) } };
}

/** int length + DataVersion JSON, int count, count × (int length + TopicConfig.encode()), int length + filter list JSON. */
function decodeCompressed(body: Uint8Array): RegisterBrokerBody {
  let raw: Buffer;
  try {
    raw = inflateSync(body);
  } catch (e) {
    throw new CodecError('BAD_BODY', `compressed RegisterBrokerBody does not inflate: ${(e as Error).message}`);
  }
  let p = 0;
  const int = () => {
    if (p + 4 > raw.length) throw new CodecError('BAD_BODY', 'compressed RegisterBrokerBody is truncated');
    const v = raw.readInt32BE(p);
    p += 4;
    return v;
  };
  const bytes = (n: number) => {
    if (n < 0 || p + n > raw.length) throw new CodecError('BAD_BODY', 'compressed RegisterBrokerBody is truncated');
    const s = raw.subarray(p, p + n).toString('utf8');
    p += n;
    return s;
  };
  const dv = parseLenientJson(bytes(int())) as Record<string, unknown>;
  const count = int();
  const topics: TopicConfig[] = [];
  for (let i = 0; i < count; i++) {
    // TopicConfig.encode: "name read write perm filterType" separated by single spaces.
    const parts = bytes(int()).split(' ');
    topics.push({
      topicName: parts[0] ?? '',
      readQueueNums: num(parts[1], 16),
      writeQueueNums: num(parts[2], 16),
      perm: num(parts[3], 6),
      topicFilterType: parts[4] === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG',
      topicSysFlag: 0,
      order: false,
    });
  }
  return { topics, dataVersion: { counter: num(dv?.counter, 0), timestamp: num(dv?.timestamp, 0) } };
}
