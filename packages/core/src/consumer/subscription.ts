// SubscriptionData and FilterAPI.buildSubscriptionData: what a consumer sends the broker about the
// tags it wants (8.2), and the client half of tag filtering (10.1).
import { MQClientError } from '../errors.js';
import { javaHashMapOrder, javaStringHash } from '../remoting/hashmap-order.js';
import { fastjsonString } from '../remoting/json.js';

/** SubscriptionData.SUB_ALL. */
export const SUB_ALL = '*';

export interface SubscriptionData {
  topic: string;
  /** The expression as given, or "*". */
  subString: string;
  /** Tags of "A || B", in Java HashSet order; empty for "*". */
  tagsSet: string[];
  /** Java String.hashCode of each tag: what the broker compares with its consume queue's tags codes. */
  codeSet: number[];
  expressionType: 'TAG';
  /** ms when built; brokers keep the newest subscription of a group. */
  subVersion: number;
}

/**
 * FilterAPI.buildSubscriptionData: "*" (or empty) takes every message; otherwise the expression is
 * split at "||" and each trimmed, non-empty part is a tag.
 */
export function buildSubscriptionData(topic: string, subString: string | undefined, now = Date.now()): SubscriptionData {
  if (subString != null && typeof subString !== 'string') throw new MQClientError(-1, `the tag expression must be a string like "TagA || TagB" or "*"`);
  if (/[\u0000-\u001f\u007f]/.test(subString ?? '')) throw new MQClientError(-1, 'the tag expression contains a control character');
  const all = !subString || subString === SUB_ALL;
  const tags: string[] = [];
  if (!all) {
    for (const part of subString.split('||')) {
      const tag = part.trim();
      if (tag && !tags.includes(tag)) tags.push(tag);
    }
    if (!tags.length) throw new MQClientError(-1, `the tag expression ${JSON.stringify(subString)} names no tag: use "*" for every message`);
  }
  // Both sets are java.util.HashSets filled in the same loop, and an Integer's hash is its value: the
  // codes iterate in the tags' order (javaHashMapOrder buckets a String by its hashCode).
  const tagsSet = [...javaHashMapOrder(tags)];
  const codeSet = [...new Set(tagsSet.map(javaStringHash))];
  return { topic, subString: all ? SUB_ALL : subString, tagsSet, codeSet, expressionType: 'TAG', subVersion: now };
}

/** The client half of tag filtering (PullAPIWrapper.processPullResult): exact tag match, after the broker's hash match. */
export function matchesTags(sub: SubscriptionData, tags: string | undefined): boolean {
  return !sub.tagsSet.length || (tags !== undefined && sub.tagsSet.includes(tags));
}

/** SubscriptionData as fastjson writes it: keys sorted, no spaces. */
export function subscriptionDataJson(s: SubscriptionData): string {
  return `{"classFilterMode":false,"codeSet":[${s.codeSet.join(',')}],"expressionType":"${s.expressionType}",` +
    `"subString":${fastjsonString(s.subString)},"subVersion":${s.subVersion},"tagsSet":[${s.tagsSet.map(fastjsonString).join(',')}],` +
    `"topic":${fastjsonString(s.topic)}}`;
}
