// @rocketmq-edge/core/transaction: transactional messages (TransactionMQProducer), an entry of its own so
// that the Producer bundle does not carry it. A TransactionProducer is also a RequestProducer, as
// Java's TransactionMQProducer is a DefaultMQProducer.
export { TransactionProducer } from './transaction-producer.js';
export type {
  TransactionListener, TransactionMessage, TransactionProducerOptions, TransactionSendResult, LocalTransactionResult,
} from './transaction-producer.js';
export { endTransactionRequest, toLocalTransactionState } from './end-transaction.js';
export type { LocalTransactionState, EndTransactionFields } from './end-transaction.js';
export * from '../request/index.js';
