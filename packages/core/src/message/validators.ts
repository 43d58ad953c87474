// Client-side checks before any network activity (Validators.java, TopicValidator.java), 5.1.
import { RS_MESSAGE_ILLEGAL } from '../remoting/codes.js';
import { fail, isBlank, type WireMessage } from './message.js';

import { DEFAULT_MAX_MESSAGE_SIZE, GROUP_MAX_LENGTH, TOPIC_MAX_LENGTH } from './constants.js';

export { DEFAULT_MAX_MESSAGE_SIZE, GROUP_MAX_LENGTH, TOPIC_MAX_LENGTH };

const NOT_ALLOWED_SEND = 'SCHEDULE_TOPIC_XXXX RMQ_SYS_TRANS_HALF_TOPIC RMQ_SYS_TRANS_OP_HALF_TOPIC TRANS_CHECK_MAX_TIME_TOPIC SELF_TEST_TOPIC OFFSET_MOVED_EVENT';
const inList = (list: string, topic: string): boolean => list.split(' ').includes(topic);

/** Topics a client may not send to (TopicValidator.isNotAllowedSendTopic). */
export const isNotAllowedSendTopic = (topic: string): boolean => inList(NOT_ALLOWED_SEND, topic);

/** System topics, which cannot be created as normal topics (TopicValidator.isSystemTopic). */
export const isSystemTopic = (topic: string): boolean =>
  isNotAllowedSendTopic(topic) || inList('TBW102 BenchmarkTest RMQ_SYS_TRACE_TOPIC CHECKPOINT_TOPIC', topic) || topic.startsWith('rmq_sys_');

function checkName(kind: 'topic' | 'group', name: unknown, max: number): void {
  if (isBlank(name)) fail(-1, `${kind} is blank: give a ${kind} name`);
  const s = name as string;
  if (s.length > max) fail(-1, `${kind} "${s.slice(0, 20)}…" is ${s.length} characters long; the limit is ${max}`);
  const bad = /[^%|\w-]/.exec(s);
  if (bad) fail(-1, `${kind} ${JSON.stringify(s)} contains ${JSON.stringify(bad[0])} at index ${bad.index}; allowed: letters, digits, %, |, _ and -`);
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
  if (!wire) fail(RS_MESSAGE_ILLEGAL, 'the message is null');
  validateTopic(wire.topic);
  if (isNotAllowedSendTopic(wire.topic)) fail(-1, `sending to topic "${wire.topic}" is forbidden: it is a RocketMQ system topic`);
  const n = (wire.body as Uint8Array | undefined)?.length;
  if (n === undefined) fail(RS_MESSAGE_ILLEGAL, 'the message body is missing');
  if (!n) fail(RS_MESSAGE_ILLEGAL, 'the message body is empty');
  if (n! > maxMessageSize) fail(RS_MESSAGE_ILLEGAL, `the message body is ${n} bytes; the limit (maxMessageSize) is ${maxMessageSize}`);
}
