// @rocketmq-edge/playwright: a @playwright/test fixture (`rmq`) that reads what the page under test
// published, and matchers to assert it. Without configuration each worker starts an embedded
// gateway + broker; with `rmqGatewayUrl` + `rmqToken` (or `rmqNamesrvAddr`) it reads from yours.
import { test as base, expect as baseExpect, type ExpectMatcherState } from '@playwright/test';
import { Rmq, receivedTimesVerdict, receivedVerdict, type MessagePredicate, type RmqTarget, type TopicHandle, type WaitOptions } from './core.js';
import { startEmbeddedRocketMQ } from './embedded.js';

export * from './core.js';
export { startEmbeddedRocketMQ, type EmbeddedRocketMQ } from './embedded.js';

export interface RmqWorkerOptions {
  /** A gateway to read through ("wss://gw.example.com/rmq"), with a token that has read claims. */
  rmqGatewayUrl: string | undefined;
  rmqToken: string | undefined;
  /** Or name servers to read from over TCP ("host:9876;host2:9876"). */
  rmqNamesrvAddr: string | undefined;
  /** Prefix of the per-test consumer groups (default "rmq-test"): the token's consumerGroups must cover `<prefix>-*`. */
  rmqGroupPrefix: string | undefined;
}

export const test = base.extend<{ rmq: Rmq }, RmqWorkerOptions & { rmqTarget: RmqTarget }>({
  rmqGatewayUrl: [undefined, { option: true, scope: 'worker' }],
  rmqToken: [undefined, { option: true, scope: 'worker' }],
  rmqNamesrvAddr: [undefined, { option: true, scope: 'worker' }],
  rmqGroupPrefix: [undefined, { option: true, scope: 'worker' }],
  rmqTarget: [async ({ rmqGatewayUrl, rmqToken, rmqNamesrvAddr }, use) => {
    if (rmqGatewayUrl) {
      if (!rmqToken) throw new Error('rmqGatewayUrl needs rmqToken: a token with "subscribe" and "consumerGroups" claims');
      await use({ gatewayUrl: rmqGatewayUrl, token: rmqToken });
    } else if (rmqNamesrvAddr) {
      await use({ namesrvAddr: rmqNamesrvAddr });
    } else {
      const embedded = await startEmbeddedRocketMQ();
      try {
        await use({ gatewayUrl: embedded.gatewayUrl, token: embedded.token });
      } finally {
        await embedded.close();
      }
    }
  }, { scope: 'worker' }],
  rmq: async ({ rmqTarget, rmqGroupPrefix }, use) => {
    const rmq = new Rmq(rmqTarget, rmqGroupPrefix ? { groupPrefix: rmqGroupPrefix } : {});
    try {
      await use(rmq);
    } finally {
      await rmq.close();
    }
  },
});

export const expect = baseExpect.extend({
  async toHaveReceived(this: ExpectMatcherState, topic: TopicHandle, p: MessagePredicate, opts?: WaitOptions) {
    const v = await receivedVerdict(topic, p, { timeout: opts?.timeout ?? this.timeout }, this.isNot);
    return { ...v, name: 'toHaveReceived' };
  },
  async toHaveReceivedTimes(this: ExpectMatcherState, topic: TopicHandle, n: number, p?: MessagePredicate, opts?: WaitOptions) {
    const v = await receivedTimesVerdict(topic, n, p, { timeout: opts?.timeout ?? this.timeout });
    return { ...v, name: 'toHaveReceivedTimes' };
  },
});
