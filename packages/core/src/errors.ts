// One error family, named after what RocketMQ users know from the Java client.
import { ClientErrorCode } from './remoting/codes.js';

export interface ErrorOptions { cause?: unknown }

/** Base of every error this library throws; `code` is a stable string for programs. */
export class RocketMQError extends Error {
  override name = 'RocketMQError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Client-side failure (MQClientException). `responseCode` is a ClientErrorCode, a broker code, or -1. */
export class MQClientError extends RocketMQError {
  override name = 'MQClientError';
  constructor(readonly responseCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The broker answered with an error response code (MQBrokerException). */
export class MQBrokerError extends RocketMQError {
  override name = 'MQBrokerError';
  constructor(
    readonly responseCode: number,
    readonly remark: string,
    readonly brokerAddr: string,
    options?: ErrorOptions,
  ) {
    super(`broker ${brokerAddr} answered code ${responseCode}: ${remark || '(no remark)'}`, options);
  }
}

/** Transport-level failures (RemotingException family). */
export class RemotingError extends RocketMQError {
  override name = 'RemotingError';
  constructor(readonly addr: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export class RemotingConnectError extends RemotingError {
  override name = 'RemotingConnectError';
  constructor(addr: string, detail = 'connection failed or was closed', options?: ErrorOptions) {
    super(addr, `cannot reach ${addr}: ${detail}`, options);
  }
}

export class RemotingTimeoutError extends RemotingError {
  override name = 'RemotingTimeoutError';
  constructor(addr: string, readonly timeoutMs: number, options?: ErrorOptions) {
    super(addr, `no response from ${addr} within ${timeoutMs} ms`, options);
  }
}

export class RemotingTooMuchRequestError extends RemotingError {
  override name = 'RemotingTooMuchRequestError';
  constructor(addr: string, message: string, options?: ErrorOptions) {
    super(addr, message, options);
  }
}

/** A frame could not be decoded or encoded. `reason` is stable for programs and tests. */
export type CodecErrorReason = 'TRUNCATED' | 'OVERSIZE' | 'BAD_LENGTH' | 'BAD_SERIALIZE_TYPE' | 'BAD_HEADER' | 'BAD_BODY';
export class CodecError extends RocketMQError {
  override name = 'CodecError';
  constructor(readonly reason: CodecErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
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
    ClientErrorCode.NO_NAME_SERVER_EXCEPTION,
    'No name server address configured: pass namesrvAddr (e.g. "127.0.0.1:9876") to the transport',
  );
}
