// Who may send what where: request codes, targets and topics, decided on the checked request
// (schema.ts) and the connection's principal. Pure functions: no sockets, no state.
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { GATEWAY_DENIED, RequestCode, ResponseCode, isSystemTopic } from '@rocketmq-edge/core/internal';
import type { Principal } from './auth.js';
import { topicRefusalRemark } from './topics.js';
import { SCHEMAS, codeName, isConsumerCode, toNamesrv, type CheckedRequest, type Refusal } from './schema.js';

/** Codes that only administrators send: never relayed, whatever allowedCodes says. */
export const ADMIN_CODES: ReadonlySet<number> = new Set([
  17, 18, 21, 25, 26, 28, 43, 45, 50, 51, 52, 53, 100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 205, 206, 207, 208,
  215, 216, 217, 219, 222, 223, 224, 300, 304, 305, 318, 319, 321, 322, 323, 327, 328, 329,
]);
/** What a producer needs (the default allowlist). */
export const PRODUCER_CODES: readonly number[] = [
  RequestCode.GET_ROUTEINFO_BY_TOPIC, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_MESSAGE,
  RequestCode.SEND_BATCH_MESSAGE, RequestCode.HEART_BEAT, RequestCode.UNREGISTER_CLIENT,
  // Transactions and request-reply (callbacks.ts decides which of these reach a broker).
  RequestCode.END_TRANSACTION, RequestCode.SEND_REPLY_MESSAGE_V2, RequestCode.SEND_REPLY_MESSAGE,
];
/**
 * Added by enableConsumer: what a pull consumer needs. CONSUMER_SEND_MSG_BACK is not among them:
 * it names a commit-log offset, which can point at any topic's message.
 */
export const CONSUMER_CODES: readonly number[] = [...SCHEMAS].filter(([, s]) => s.consumer).map(([code]) => code);

/** The codes a gateway relays: the producer codes (+ consumer codes), never admin codes nor codes without a schema. */
export function relayedCodes(allowedCodes: readonly number[] | undefined, enableConsumer: boolean): Set<number> {
  const codes = new Set(allowedCodes ?? [...PRODUCER_CODES, ...(enableConsumer ? CONSUMER_CODES : [])]);
  for (const c of codes) if (ADMIN_CODES.has(c) || !SCHEMAS.has(c)) codes.delete(c);
  return codes;
}

/**
 * NO_PERMISSION (16), as a broker would say, with the GATEWAY_DENIED mark: core retries a broker's
 * 16 on another broker (as Java does) but never a policy refusal, which every broker would share.
 */
const noPermission = (reason: Refusal['reason'], remark: string): Refusal => ({ code: ResponseCode.NO_PERMISSION, reason, remark: `${GATEWAY_DENIED} ${remark}` });

/** Refuses codes this gateway does not relay (checked before the request is looked at further). */
export function checkCode(code: number, relayed: ReadonlySet<number>, enableConsumer: boolean): Refusal | undefined {
  if (relayed.has(code)) return undefined;
  if (ADMIN_CODES.has(code)) {
    return noPermission('admin_code', `request code ${codeName(code)} is an admin operation; the gateway never relays admin requests (use the RocketMQ admin tools on the cluster)`);
  }
  if (isConsumerCode(code) && !enableConsumer) {
    return noPermission('consumer_disabled', `request code ${codeName(code)} is a consumer request; this gateway relays producer requests only (start it with enableConsumer)`);
  }
  return noPermission('code_not_allowed', `request code ${codeName(code)} is not allowed through this gateway`);
}

/** Name-server codes go to "namesrv", everything else to a broker alias. */
export function checkTarget(code: number, target: string): Refusal | undefined {
  const namesrv = toNamesrv(code);
  if (namesrv === (target === NAMESRV_TARGET)) return undefined;
  return noPermission('bad_target', namesrv
    ? `request code ${codeName(code)} goes to the name server (target "${NAMESRV_TARGET}"), not to "${target}"`
    : `request code ${codeName(code)} goes to a broker alias from a route response, not to the name server`);
}

const SEND_CODES: ReadonlySet<number> = new Set([RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE]);
const RETRY_PREFIX = '%RETRY%';
const RETRY_OR_DLQ = /^%(RETRY|DLQ)%/;

/** A consumer group's own retry topic ("%RETRY%<group>") that the principal may consume as: readable with the group. */
const ownRetryTopic = (p: Principal, topic: string): boolean =>
  topic.startsWith(RETRY_PREFIX) && p.mayUseGroup(topic.slice(RETRY_PREFIX.length));

/**
 * Whether a request reads (RocketMQ ACL's SUB): consumer codes, and heartbeats / unregisters that
 * name a consumer group. Reading is checked against "subscribe" and "consumerGroups", never "topics".
 */
export const isRead = (req: CheckedRequest): boolean => isConsumerCode(req.cmd.code) || req.groups.length > 0;

/** Every topic and group the request names must be one the principal may use for what it does (publish or read). */
export function checkTopics(p: Principal, req: CheckedRequest, createTopicKey: string, enableConsumer: boolean): Refusal | undefined {
  const code = req.cmd.code;
  if (code === RequestCode.GET_ROUTEINFO_BY_TOPIC) {
    // A route is what a producer needs to publish and a consumer needs to read; the default topic's
    // route is what a producer reads for a topic that does not exist yet.
    for (const topic of req.topics) {
      if (topic === createTopicKey || p.mayUseTopic(topic) || p.mayReadTopic(topic) || ownRetryTopic(p, topic)) continue;
      return noPermission('topic_not_allowed', topicRefusalRemark(p.sub, p.topics, topic));
    }
    return undefined;
  }
  if (isRead(req)) return checkRead(p, req, enableConsumer);
  for (const topic of req.topics) {
    if (isSystemTopic(topic)) {
      return noPermission('topic_not_allowed', `topic "${topic}" is a system topic; clients may not use it`);
    }
    if (SEND_CODES.has(code) && RETRY_OR_DLQ.test(topic)) {
      return noPermission('topic_not_allowed', `topic "${topic}" is a consumer's retry or dead-letter topic; producers may not send to it`);
    }
    if (!p.mayUseTopic(topic)) return noPermission('topic_not_allowed', topicRefusalRemark(p.sub, p.topics, topic));
  }
  return undefined;
}

function checkRead(p: Principal, req: CheckedRequest, enableConsumer: boolean): Refusal | undefined {
  if (!enableConsumer) {
    return noPermission('consumer_disabled', `request code ${codeName(req.cmd.code)} ${req.registersConsumers ? 'registers a consumer group' : 'is a consumer request'}; this gateway relays producer requests only (start it with enableConsumer)`);
  }
  if (p.consumerGroups.length === 0) {
    return noPermission('read_not_allowed', `token of "${p.sub.slice(0, 64)}" may publish but not consume: it has no "subscribe" / "consumerGroups" claims; ask for a token that grants reading`);
  }
  for (const group of req.groups) {
    if (RETRY_OR_DLQ.test(group)) {
      return noPermission('group_not_allowed', `"${group.slice(0, 64)}" is a retry or dead-letter name, not a consumer group`);
    }
    if (!p.mayUseGroup(group)) return noPermission('group_not_allowed', topicRefusalRemark(p.sub, p.consumerGroups, group, 'consumerGroups'));
  }
  for (const topic of req.topics) {
    if (ownRetryTopic(p, topic)) continue;
    if (isSystemTopic(topic) || RETRY_OR_DLQ.test(topic)) {
      return noPermission('topic_not_allowed', `topic "${topic}" is a system, retry or dead-letter topic; consumers read it only as their own group's retry topic`);
    }
    if (!p.mayReadTopic(topic)) return noPermission('topic_not_allowed', topicRefusalRemark(p.sub, p.subscribe, topic, 'subscribe'));
  }
  return undefined;
}
