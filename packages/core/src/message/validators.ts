// Client-side checks before any network activity (Validators.java, TopicValidator.java), 5.1.
import { MQClientError } from '../errors.js';
import { ResponseCode } from '../remoting/codes.js';
import type { WireMessage } from './message.js';

export const TOPIC_MAX_LENGTH = 127;
export const GROUP_MAX_LENGTH = 255;
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

const NOT_ALLOWED_SEND = new Set([
  'SCHEDULE_TOPIC_XXXX', 'RMQ_SYS_TRANS_HALF_TOPIC', 'RMQ_SYS_TRANS_OP_HALF_TOPIC',
  'TRANS_CHECK_MAX_TIME_TOPIC', 'SELF_TEST_TOPIC', 'OFFSET_MOVED_EVENT',
]);
const SYSTEM_TOPICS = new Set([...NOT_ALLOWED_SEND, 'TBW102', 'BenchmarkTest', 'RMQ_SYS_TRACE_TOPIC', 'CHECKPOINT_TOPIC']);

/** Topics a client may not send to (TopicValidator.isNotAllowedSendTopic). */
export const isNotAllowedSendTopic = (topic: string): boolean => NOT_ALLOWED_SEND.has(topic);

/** System topics, which cannot be created as normal topics (TopicValidator.isSystemTopic). */
export const isSystemTopic = (topic: string): boolean => SYSTEM_TOPICS.has(topic) || topic.startsWith('rmq_sys_');

const fail = (msg: string) => new MQClientError(-1, msg);

function checkName(kind: 'topic' | 'group', name: unknown, max: number): void {
  if (typeof name !== 'string' || name.trim() === '') throw fail(`${kind} is blank: give a ${kind} name`);
  if (name.length > max) throw fail(`${kind} "${name.slice(0, 20)}…" is ${name.length} characters long; the limit is ${max}`);
  const bad = /[^%|a-zA-Z0-9_-]/.exec(name);
  if (bad) {
    throw fail(`${kind} ${JSON.stringify(name)} contains ${JSON.stringify(bad[0])} at index ${bad.index}; allowed: letters, digits, %, |, _ and -`);
  }
}

/** Validators.checkTopic: MQClientError(-1) for a blank, too long (> 127) or badly spelled topic. */
export function validateTopic(topic: string): void {
  checkName('topic', topic, TOPIC_MAX_LENGTH);
}

/** Validators.checkGroup: MQClientError(-1) for a blank, too long (> 255) or badly spelled group. */
export function validateGroup(group: string): void {
  checkName('group', group, GROUP_MAX_LENGTH);
}

/** Validators.checkMessage: topic checks and forbidden topics (-1), then the body (13). */
export function validateMessage(wire: WireMessage, maxMessageSize: number = DEFAULT_MAX_MESSAGE_SIZE): void {
  if (!wire) throw new MQClientError(ResponseCode.MESSAGE_ILLEGAL, 'the message is null');
  validateTopic(wire.topic);
  if (isNotAllowedSendTopic(wire.topic)) throw fail(`sending to topic "${wire.topic}" is forbidden: it is a RocketMQ system topic`);
  const body = wire.body as Uint8Array | null | undefined;
  if (!body) throw new MQClientError(ResponseCode.MESSAGE_ILLEGAL, 'the message body is missing');
  if (body.length === 0) throw new MQClientError(ResponseCode.MESSAGE_ILLEGAL, 'the message body is empty: send at least one byte');
  if (body.length > maxMessageSize) {
    throw new MQClientError(
      ResponseCode.MESSAGE_ILLEGAL,
      `the message body is ${body.length} bytes; the limit (maxMessageSize) is ${maxMessageSize}`,
    );
  }
}
