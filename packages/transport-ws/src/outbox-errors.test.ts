// What a failed attempt means for the outbox, read from the errors core and the HTTP path throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MQBrokerError, MQClientError, RemotingConnectError, RemotingTimeoutError, RemotingTooMuchRequestError,
} from '@rocketmq-edge/core';
import { classify } from './outbox-errors.js';
import { HttpPublishError } from './http.js';

test('refused for good: message illegal, no permission (a topic the token does not cover); HTTP 400, 403, 413', () => {
  for (const e of [
    new MQBrokerError(13, 'bad', 'broker-a@0'),
    new MQClientError(16, 'Send [3] times, still failed'),
    new MQClientError(13, 'the message body is empty'),
    new HttpPublishError(400, 13, 'bad'),
    new HttpPublishError(403, 16, 'topic not allowed'),
    new HttpPublishError(413, 13, 'too large'),
  ]) assert.equal(classify(e), 'refused', e.message);
});

test('the link (connection, timeout, gateway, token): the whole path waits; other failures retry the message', () => {
  for (const e of [
    new RemotingConnectError('namesrv', 'connect ECONNREFUSED'),
    new RemotingTimeoutError('broker-a@0', 3000),
    new RemotingTooMuchRequestError('broker-a@0', 'busy'),
    new MQClientError(10001, 'connect'),
    new MQClientError(10002, 'timeout'),
    new TypeError('Failed to fetch'),
    new HttpPublishError(401, 16, 'expired'),
    new HttpPublishError(429, 215, 'slow down'),
    new HttpPublishError(503, 14, 'no name server'),
    new HttpPublishError(0, -1, 'gateway not reachable: Failed to fetch'),
    new HttpPublishError(404, 3, 'no such endpoint'),
    new HttpPublishError(504, 10002, 'timeout'),
  ]) assert.equal(classify(e), 'link', e.message);
  for (const e of [
    new MQClientError(10005, 'No route info of this topic'),
    new MQBrokerError(14, 'service not available', 'broker-a@0'),
    new MQClientError(-1, 'the producer is SHUTDOWN_ALREADY'),
    new HttpPublishError(502, 14, 'broker error'),
  ]) assert.equal(classify(e), 'retry', e.message);
});
