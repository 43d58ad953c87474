// One error family, named after what RocketMQ users know from the Java client.
import { CE_NO_NAME_SERVER_EXCEPTION } from './remoting/codes.js';

export interface ErrorOptions { cause?: unknown }

/** Base of every error this library throws; `code` is a stable string for programs. */
export class RocketMQError extends Error {
  override name = 'RocketMQError';
  // The implicit constructor passes (message, options) to Error: `options.cause` sets `cause`.
}

/** Client-side failure (MQClientException). `responseCode` is a ClientErrorCode, a broker code, or -1. */
export class MQClientError extends RocketMQError {
  override name = 'MQClientError';
  declare readonly responseCode: number;
  constructor(responseCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.responseCode = responseCode;
  }
}

/** The broker answered with an error response code (MQBrokerException). */
export class MQBrokerError extends RocketMQError {
  override name = 'MQBrokerError';
  declare readonly responseCode: number;
  declare readonly remark: string;
  declare readonly brokerAddr: string;
  constructor(responseCode: number, remark: string, brokerAddr: string, options?: ErrorOptions) {
    super(`broker ${brokerAddr} answered code ${responseCode}: ${remark || '(no remark)'}`, options);
    Object.assign(this, { responseCode, remark, brokerAddr });
  }
}

/** Transport-level failures (RemotingException family). */
export class RemotingError extends RocketMQError {
  override name = 'RemotingError';
  declare readonly addr: string;
  constructor(addr: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.addr = addr;
  }
}

export class RemotingConnectError extends RemotingError {
  override name = 'RemotingConnectError';
  constructor(addr: string, detail: string, options?: ErrorOptions) {
    super(addr, `cannot reach ${addr}: ${detail}`, options);
  }
}

/** No answer within `timeoutMs`: one request's, or (with a message saying so) a whole send's budget. */
export class RemotingTimeoutError extends RemotingError {
  override name = 'RemotingTimeoutError';
  declare readonly timeoutMs: number;
  constructor(addr: string, timeoutMs: number, options?: ErrorOptions, message = `no response from ${addr} within ${timeoutMs} ms`) {
    super(addr, message, options);
    this.timeoutMs = timeoutMs;
  }
}

export class RemotingTooMuchRequestError extends RemotingError {
  override name = 'RemotingTooMuchRequestError';
}

/** A frame could not be decoded or encoded. `reason` is stable for programs and tests. */
export type CodecErrorReason = 'TRUNCATED' | 'OVERSIZE' | 'BAD_LENGTH' | 'BAD_SERIALIZE_TYPE' | 'BAD_HEADER' | 'BAD_BODY';
export class CodecError extends RocketMQError {
  override name = 'CodecError';
  declare readonly reason: CodecErrorReason;
  constructor(reason: CodecErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends RocketMQError {
  override name = 'AbortError';
  constructor(message = 'the operation was aborted', options?: ErrorOptions) {
    super(message, options);
  }
}

export function noNameServerError(): MQClientError {
  return new MQClientError(
    CE_NO_NAME_SERVER_EXCEPTION,
    'No name server address configured: pass namesrvAddr (e.g. "127.0.0.1:9876") to the transport',
  );
}
