// Messages: user model, wire form, properties, ids, validation, compression, batch and stored layouts.
export { MessageConst, MessageSysFlag, KEY_SEPARATOR, RESERVED_PROPERTY_NAMES, DEFAULT_MAX_BATCH_MESSAGES, REPLY_PROPERTIES } from './constants.js';
export type { Message, MessageQueue, WireMessage } from './message.js';
export { toWireMessage, addUserProperties } from './message.js';
export { encodeProperties, decodeProperties, setOwn, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR } from './properties.js';
export type { ParsedUniqId, UniqIdIdentity } from './uniq-id.js';
export { createUniqId, parseUniqId, setUniqKeyIfAbsent, configureUniqId } from './uniq-id.js';
export {
  validateTopic, validateGroup, validateMessage, isSystemTopic, isNotAllowedSendTopic,
  TOPIC_MAX_LENGTH, GROUP_MAX_LENGTH, DEFAULT_MAX_MESSAGE_SIZE,
} from './validators.js';
export { wrapNamespace, withoutNamespace } from './namespace.js';
export { compressZlib, decompressZlib } from './compression.js';
export { encodeBatchBody, decodeBatchBody, countBatchRecords } from './batch.js';
export type { MessageExt } from './stored.js';
export { decodeStoredMessages, MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2 } from './stored.js';
export { createOffsetMsgId, decodeOffsetMsgId } from './message-id.js';
export { crc32 } from './crc32.js';
export { toHex, fromHex } from './hex.js';
export { parseIp, formatIp, parseHostPort, formatHostPort } from './address.js';
