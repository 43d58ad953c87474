// What a failed attempt means for the outbox: drop the message (refused), pause the whole path
// (link: the connection, the gateway or its token), or retry this message after a backoff.
// Read from `name`, `status` and `responseCode`, not instanceof: the outbox may come from another
// bundle than the Producer that threw.

export type Outcome = 'ok' | 'refused' | 'link' | 'retry';

/** MESSAGE_ILLEGAL, NO_PERMISSION (through the gateway: a topic the token does not cover). */
const REFUSED_CODES = [13, 16];
/** ClientErrorCode: connect, timeout, broker not reachable, no name server. */
const LINK_CODES = [10001, 10002, 10003, 10004];
const LINK_ERRORS = ['RemotingConnectError', 'RemotingTimeoutError', 'RemotingTooMuchRequestError', 'TypeError', 'AbortError'];

/** HTTP answers about the message itself: bad input, a topic the token does not cover, too large, bad type. */
const REFUSED_STATUS = [400, 403, 413, 415];

export function classify(error: unknown): Exclude<Outcome, 'ok'> {
  const e = error as { name?: string; status?: number; responseCode?: number } | undefined;
  if (typeof e?.status === 'number') {
    // HttpPublishError. Unreachable (0), 401, 404, 408, 429, 503, 504: the token or the gateway, not the message.
    if (REFUSED_STATUS.includes(e.status)) return 'refused';
    return e.status === 500 || e.status === 502 ? 'retry' : 'link';
  }
  if (REFUSED_CODES.includes(e?.responseCode as number)) return 'refused';
  if (LINK_CODES.includes(e?.responseCode as number) || LINK_ERRORS.includes(e?.name as string)) return 'link';
  return 'retry';
}
