// @rocketmq-edge/core/request: request-reply (DefaultMQProducer.request, MessageUtil.createReplyMessage),
// an entry of its own so that the Producer bundle does not carry it.
export { RequestProducer, createCorrelationId } from './request-producer.js';
export type { RequestOptions } from './request-producer.js';
export { createReplyMessage, decodeReplyMessage } from './reply.js';
