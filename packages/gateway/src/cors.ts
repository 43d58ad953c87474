// CORS of the HTTP publish endpoints. Pages may call them from the origins the WebSocket endpoint
// allows (origin.ts): only those get Access-Control-Allow-Origin, on preflights and answers alike.
// No credentials (cookies) are ever involved: a token is sent explicitly, by the page's own code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PREFLIGHT_MAX_AGE_S } from './http-options.js';

/** Request headers a page may send (besides RocketMQ-Property-<name>, allowed when asked for). */
export const ALLOWED_REQUEST_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'rocketmq-tags', 'rocketmq-keys', 'rocketmq-delay-level'];
const PROPERTY_HEADER = /^rocketmq-property-[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Headers every answer to a page from an allowed origin carries. */
export function corsHeaders(origin: string | undefined, allowed: boolean): Record<string, string> {
  if (origin === undefined || !allowed) return { vary: 'origin' };
  // Retry-After is not a CORS-safelisted response header: a page reads it only when exposed.
  return { vary: 'origin', 'access-control-allow-origin': origin, 'access-control-expose-headers': 'retry-after' };
}

/**
 * Answers an OPTIONS request: a preflight from an allowed origin gets 204 with what it may send;
 * from any other origin `refuse()` answers (403, no Access-Control-Allow-Origin: the browser then
 * sends nothing). Without an Origin it is no preflight: 204 with the methods allowed.
 */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, allowed: boolean, refuse: () => void): void {
  const origin = req.headers.origin;
  if (origin === undefined) {
    res.writeHead(204, { allow: 'POST, OPTIONS' }).end();
    return;
  }
  if (!allowed) {
    refuse();
    return;
  }
  const asked = String(req.headers['access-control-request-headers'] ?? '').toLowerCase().split(',').map((h) => h.trim()).filter(Boolean);
  const headers = [...ALLOWED_REQUEST_HEADERS, ...asked.filter((h) => PROPERTY_HEADER.test(h) && h.length <= 128).slice(0, 100)];
  res.writeHead(204, {
    vary: 'origin, access-control-request-headers',
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': [...new Set(headers)].join(', '),
    'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
  }).end();
}
