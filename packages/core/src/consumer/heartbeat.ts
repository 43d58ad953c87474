// HeartbeatData of a client with one consumer group (8.2), as fastjson writes it: keys sorted, no
// spaces. Every Java client instance also reports its inner producer group, so brokers see the same.
import { fastjsonString } from '../remoting/json.js';
import { subscriptionDataJson, type SubscriptionData } from './subscription.js';

export const CLIENT_INNER_PRODUCER_GROUP = 'CLIENT_INNER_PRODUCER';

export interface ConsumerData {
  groupName: string;
  /** CONSUME_ACTIVELY = pull (lite pull), CONSUME_PASSIVELY = push. */
  consumeType: 'CONSUME_ACTIVELY' | 'CONSUME_PASSIVELY';
  messageModel: 'CLUSTERING' | 'BROADCASTING';
  consumeFromWhere: string;
  subscriptionDataSet: readonly SubscriptionData[];
}

export function heartbeatBody(clientID: string, c: ConsumerData): string {
  return `{"clientID":${fastjsonString(clientID)},"consumerDataSet":[{"consumeFromWhere":"${c.consumeFromWhere}",` +
    `"consumeType":"${c.consumeType}","groupName":${fastjsonString(c.groupName)},"messageModel":"${c.messageModel}",` +
    `"subscriptionDataSet":[${c.subscriptionDataSet.map(subscriptionDataJson).join(',')}],"unitMode":false}],` +
    `"producerDataSet":[{"groupName":"${CLIENT_INNER_PRODUCER_GROUP}"}]}`;
}
