// What a failed HTTP publish answers: the Producer's error as an HTTP status with a RocketMQ code
// and a remark that says what failed and what to do, naming brokers by alias and never by address.
import {
  ClientErrorCode, MQBrokerError, MQClientError, NAMESRV_TARGET, RemotingConnectError, RemotingError,
  RemotingTimeoutError, RemotingTooMuchRequestError, ResponseCode,
} from '@rocketmq-edge/core/internal';
import { HttpError } from './http-error.js';

/** Addresses the gateway knows (name servers, brokers) and what remarks call them instead. */
export interface AddressNames {
  namesrvs: readonly string[];
  /** broker address → alias, as the gateway's producer knows its routes. */
  brokers(): Iterable<[string, string]>;
}

// Generic address shapes, for whatever the known ones above miss: IPv4[:port], [IPv6][:port],
// and dotted host names or localhost with a port.
const ADDRESS = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b|\[[0-9a-fA-F.]*:[0-9a-fA-F:.]*\](?::\d{1,5})?|\b(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+):\d{1,5}\b/g;

/** `text` with every network address replaced by the name clients know it by. */
export function scrubAddresses(text: string, names: AddressNames): string {
  let out = text;
  const known: [string, string][] = [...names.namesrvs.map((a): [string, string] => [a, 'name server']), ...names.brokers()];
  // Longest first, so that "10.0.0.1:10911" is not half-replaced by "10.0.0.1:1091".
  known.sort((a, b) => b[0].length - a[0].length);
  for (const [addr, name] of known) if (addr) out = out.replaceAll(addr, name);
  return out.replace(ADDRESS, 'an address');
}

/** An error and its causes, outermost first (a few levels at most). */
function chain(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c = e; c && out.length < 8; c = (c as { cause?: unknown }).cause) out.push(c);
  return out;
}

/** The innermost system error code (ECONNREFUSED, ETIMEDOUT …) of an error's cause chain, if any. */
function systemCode(e: unknown): string | undefined {
  for (const c of chain(e).reverse()) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** The last attempt's failure: the innermost transport error (the Producer wraps it after its retries), else the error itself. */
const lastAttempt = (e: unknown): Error => (chain(e).reverse().find((c) => c instanceof RemotingError) ?? e) as Error;

/** The HTTP answer for a publish the Producer could not complete. */
export function publishFailure(e: unknown, topic: string, names: AddressNames, sendTimeoutMs: number): HttpError {
  const scrub = (s: string) => scrubAddresses(s, names).slice(0, 600);
  const why = (err: unknown) => systemCode(err) ?? scrub(err instanceof Error ? err.message : String(err));
  const isNamesrv = (err: unknown) =>
    err instanceof RemotingError && (err.addr === NAMESRV_TARGET || names.namesrvs.includes(err.addr) || err.addr === names.namesrvs.join(';'));

  if (isNamesrv(e) || (e instanceof MQClientError && e.responseCode === ClientErrorCode.NO_NAME_SERVER_EXCEPTION)) {
    return new HttpError(503, ClientErrorCode.NO_NAME_SERVER_EXCEPTION,
      `name server unavailable (${why(e)}): the gateway cannot look up the route of topic ${topic}; retry later`, undefined, { 'retry-after': '1' });
  }
  if (e instanceof MQClientError && e.responseCode === ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION) {
    return new HttpError(503, e.responseCode, scrub(e.message), undefined, { 'retry-after': '1' });
  }
  // A broker's error answer, on its own or as the last of the Producer's attempts.
  const refused = chain(e).find((c): c is MQBrokerError => c instanceof MQBrokerError);
  if (refused) {
    return new HttpError(502, refused.responseCode, `the broker refused the message: code ${refused.responseCode}${refused.remark ? `, ${scrub(refused.remark)}` : ''}`);
  }
  const timedOut = e instanceof RemotingTimeoutError || e instanceof RemotingTooMuchRequestError ||
    (e instanceof MQClientError && e.responseCode === ClientErrorCode.ACCESS_BROKER_TIMEOUT);
  if (timedOut) {
    const last = lastAttempt(e);
    const detail = last instanceof RemotingTimeoutError ? `: ${scrub(last.message)}` : '';
    return new HttpError(504, ClientErrorCode.ACCESS_BROKER_TIMEOUT,
      `no acknowledgement within ${sendTimeoutMs} ms${detail}; the message may or may not be stored: retry with the same id`);
  }
  if (e instanceof RemotingConnectError || (e instanceof MQClientError && e.responseCode === ClientErrorCode.CONNECT_BROKER_EXCEPTION)) {
    return new HttpError(502, ClientErrorCode.CONNECT_BROKER_EXCEPTION, `broker unreachable: ${scrub(lastAttempt(e).message)}; retry later`);
  }
  if (e instanceof MQClientError && e.responseCode === ResponseCode.MESSAGE_ILLEGAL) {
    // Core's own check of what is sent: the messages passed one by one, so this is their batch.
    return new HttpError(413, e.responseCode, `${scrub(e.message)}: send fewer messages per request`, 'oversize');
  }
  if (e instanceof MQClientError) {
    const code = e.responseCode > 0 ? e.responseCode : ResponseCode.SYSTEM_ERROR;
    return new HttpError(502, code, `send failed: ${scrub(e.message)}`);
  }
  return new HttpError(502, ResponseCode.SYSTEM_ERROR, `send failed: ${why(e)}`);
}
