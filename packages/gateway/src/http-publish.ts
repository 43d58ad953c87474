// The HTTP publish API, beside the WebSocket endpoint on the same server:
//   POST /v1/topics/{topic}/messages   Bearer token; raw body (one message) or JSON (one or many)
//   POST /v1/beacon-tokens             Bearer token → a short-lived beacon token (beacon.ts)
//   POST /v1/beacon                    text/plain JSON {"token","topic","messages"} (navigator.sendBeacon)
// Each request: origin, token, topic, rate, body and message checks, then the gateway's producer
// (publisher.ts), whose answer or failure becomes JSON. Refusals come before the body is read
// wherever the request allows it, and none of them costs the broker anything.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestCode, ResponseCode, createRequest } from '@rocketmq-edge/core/internal';
import { AuthError, type Authenticator, type Principal } from './auth.js';
import type { BeaconTokens } from './beacon.js';
import { ClientGoneError, discardRest, readBody } from './body.js';
import { answerPreflight, corsHeaders } from './cors.js';
import { HttpError, badRequest } from './http-error.js';
import type { HttpEndpoint, HttpPublishMetrics } from './http-metrics.js';
import { jsonMessages, messageList, rawMessage, type PublishItem } from './message-json.js';
import type { GatewayMetrics } from './metrics.js';
import { checkTopics } from './policy.js';
import type { PrincipalLimits } from './principal-limits.js';
import type { HttpPublisher, HttpSendResult } from './publisher.js';
import type { Logger } from './session.js';
import { isValidTopic } from './topics.js';

export const API_PREFIX = '/v1/';

const TOPIC_PATH = /^\/v1\/topics\/([^/]+)\/messages$/;
/**
 * Headers the server parses per request (its maxHeadersCount). Node drops the ones past it without
 * a word, which would lose RocketMQ-Property headers: a request that reaches it is refused instead.
 */
export const MAX_REQUEST_HEADERS = 256;
/** A beacon-token request body is small: {"topics":[…]}. */
const MINT_BODY_LIMIT = 32 * 1024;

/** A header given once (twice is refused: two values of one field cannot both be meant). */
function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headersDistinct[name];
  if (v === undefined) return undefined;
  if (v.length > 1) throw badRequest(`header ${name} is given twice`);
  return v[0];
}

export interface HttpPublishConfig {
  auth: Authenticator;
  beacon: BeaconTokens;
  publisher: HttpPublisher;
  limits: PrincipalLimits;
  /** The WebSocket endpoint's Origin rule (origin.ts) for this request. */
  originAllowed(req: IncomingMessage): boolean;
  createTopicKey: string;
  maxBodyBytes: number;
  maxMessageSize: number;
  maxMessages: number;
  metrics: GatewayMetrics;
  httpMetrics: HttpPublishMetrics;
  log: Logger;
  /** True once the gateway is shutting down: new publishes are refused with 503. */
  closing(): boolean;
}

export interface HttpPublishApi {
  /** Handles the request if it is for the API (path under /v1/); false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests being handled (the gateway waits for them when it closes). */
  readonly active: number;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  endpoint: HttpEndpoint;
  cors: Record<string, string>;
  sub?: string;
  topic?: string;
}

export function httpPublishApi(cfg: HttpPublishConfig): HttpPublishApi {
  let active = 0;

  const answer = (x: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    cfg.httpMetrics.requests.inc({ endpoint: x.endpoint, status: String(status) });
    if (x.res.headersSent) return;
    x.res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...x.cors,
      ...headers,
      ...(cfg.closing() ? { connection: 'close' } : {}),
    });
    x.res.end(JSON.stringify(body));
  };

  const fail = (x: Exchange, e: unknown): void => {
    if (e instanceof ClientGoneError) {
      cfg.httpMetrics.requests.inc({ endpoint: x.endpoint, status: 'client_gone' });
      return;
    }
    const err = e instanceof HttpError ? e : new HttpError(500, ResponseCode.SYSTEM_ERROR, 'the gateway failed to handle the request');
    if (!(e instanceof HttpError)) cfg.log.warn({ err: (e as Error)?.message, endpoint: x.endpoint }, 'HTTP publish failed in the gateway');
    if (err.reason) {
      cfg.metrics.refused(err.reason);
      cfg.log.info({ status: err.status, reason: err.reason, sub: x.sub, topic: x.topic, origin: x.req.headers.origin, remark: err.remark }, 'refusing HTTP request');
    } else if (err.status >= 500) {
      cfg.log.warn({ status: err.status, code: err.code, sub: x.sub, topic: x.topic, remark: err.remark }, 'HTTP publish failed');
    }
    answer(x, err.status, { code: err.code, remark: err.remark }, err.headers);
    discardRest(x.req);
  };

  const refuseOrigin = (x: Exchange): HttpError =>
    new HttpError(403, ResponseCode.NO_PERMISSION,
      `origin ${JSON.stringify(String(x.req.headers.origin).slice(0, 200))} is not allowed: the gateway's --allowed-origins must list it`, 'forbidden_origin');

  const checkOpen = (): void => {
    if (cfg.closing()) throw new HttpError(503, ResponseCode.SERVICE_NOT_AVAILABLE, 'the gateway is shutting down; retry on another', 'draining', { 'retry-after': '1' });
  };

  /** Origin (when sent) and the Bearer token: the principal. */
  const authenticate = async (x: Exchange): Promise<Principal> => {
    if (x.req.headers.origin !== undefined && !cfg.originAllowed(x.req)) throw refuseOrigin(x);
    const m = /^Bearer +(\S+) *$/i.exec(x.req.headers.authorization ?? '');
    const unauthorized = (remark: string) =>
      new HttpError(401, ResponseCode.NO_PERMISSION, remark, 'unauthorized', { 'www-authenticate': 'Bearer' });
    if (!m) throw unauthorized('no token: send the header "Authorization: Bearer <token>"');
    try {
      const p = await cfg.auth.verify(m[1]);
      x.sub = p.sub;
      return p;
    } catch (e) {
      throw unauthorized(e instanceof AuthError ? e.message : 'token verification failed');
    }
  };

  /** The topic a principal publishes to: a RocketMQ topic its token covers, not a system, retry or dead-letter one. */
  const checkTopic = (x: Exchange, p: Principal, topic: string): void => {
    x.topic = topic.slice(0, 200);
    if (!isValidTopic(topic)) {
      throw badRequest(`topic ${JSON.stringify(topic.slice(0, 200))} is not a RocketMQ topic (1 to 127 characters of letters, digits, %, |, _ and -)`);
    }
    const refusal = checkTopics(p, { cmd: createRequest(RequestCode.SEND_MESSAGE_V2), topics: [topic], registersConsumers: false, groups: [] }, cfg.createTopicKey, false);
    if (refusal) throw new HttpError(403, refusal.code, refusal.remark, refusal.reason);
  };

  const publish = async (x: Exchange, p: Principal, topic: string, items: PublishItem[]): Promise<HttpSendResult[]> => {
    checkOpen(); // again: the body may have been read while the gateway began to shut down
    const release = cfg.limits.enter(p.sub);
    const t0 = performance.now();
    cfg.httpMetrics.inFlight.inc();
    try {
      const results = await cfg.publisher.publish(p.sub, topic, items);
      for (const r of results) cfg.httpMetrics.messages.inc({ result: r.duplicate ? 'duplicate' : 'stored' });
      cfg.log.debug({ sub: p.sub, topic, messages: items.length, endpoint: x.endpoint }, 'HTTP publish stored');
      return results;
    } finally {
      release();
      cfg.httpMetrics.inFlight.dec();
      cfg.httpMetrics.latency.observe((performance.now() - t0) / 1000);
    }
  };

  const parseJson = (body: Uint8Array): unknown => {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch (e) {
      throw badRequest(`the body is not JSON in UTF-8: ${(e as Error).message.slice(0, 200)}`);
    }
  };

  /** POST /v1/topics/{topic}/messages */
  const topicMessages = async (x: Exchange, rawTopic: string): Promise<void> => {
    checkOpen();
    const p = await authenticate(x);
    let topic: string;
    try {
      topic = decodeURIComponent(rawTopic);
    } catch {
      throw badRequest('the topic in the path is not valid percent-encoding');
    }
    checkTopic(x, p, topic);
    cfg.limits.request(p.sub);
    const body = await readBody(x.req, cfg.maxBodyBytes);
    const limits = { maxMessageSize: cfg.maxMessageSize, maxMessages: cfg.maxMessages };
    const isJson = /^application\/json\s*(;|$)/i.test(x.req.headers['content-type'] ?? '');
    const { items, wrapped } = isJson
      ? jsonMessages(topic, parseJson(body), limits, headerValue(x.req, 'idempotency-key'))
      : { items: [rawMessage(topic, x.req.rawHeaders, body, cfg.maxMessageSize)], wrapped: false };
    const results = await publish(x, p, topic, items);
    answer(x, 200, wrapped ? { results } : results[0]);
  };

  /** POST /v1/beacon-tokens */
  const mintBeaconToken = async (x: Exchange): Promise<void> => {
    checkOpen();
    const p = await authenticate(x);
    cfg.limits.request(p.sub);
    const body = await readBody(x.req, MINT_BODY_LIMIT);
    const request = body.length === 0 ? undefined : parseJson(body);
    answer(x, 200, await cfg.beacon.mint(p, request));
  };

  /** POST /v1/beacon: browsers only (Origin required and allowed), a beacon token in the body. */
  const beacon = async (x: Exchange): Promise<void> => {
    checkOpen();
    if (x.req.headers.origin === undefined) {
      throw new HttpError(403, ResponseCode.NO_PERMISSION, 'a beacon must come from a page of an allowed origin (no Origin header); servers publish with POST /v1/topics/{topic}/messages', 'forbidden_origin');
    }
    if (!cfg.originAllowed(x.req)) throw refuseOrigin(x);
    const type = x.req.headers['content-type'] ?? '';
    if (!/^(text\/plain|application\/json)\s*(;|$)/i.test(type)) {
      throw new HttpError(415, ResponseCode.MESSAGE_ILLEGAL, 'a beacon body is text/plain (or application/json) holding {"token","topic","messages"}', 'malformed');
    }
    const value = parseJson(await readBody(x.req, cfg.maxBodyBytes));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('the beacon body must be {"token":"…","topic":"…","messages":[…]}');
    const o = value as Record<string, unknown>;
    const extra = Object.keys(o).find((k) => k !== 'token' && k !== 'topic' && k !== 'messages');
    if (extra !== undefined) throw badRequest(`unknown field ${JSON.stringify(extra.slice(0, 64))} (known: token, topic, messages)`);
    const p = await cfg.beacon.verify(o.token);
    x.sub = p.sub;
    if (typeof o.topic !== 'string') throw badRequest('"topic" must be a string');
    checkTopic(x, p, o.topic);
    cfg.limits.request(p.sub);
    const items = messageList(o.topic, o.messages, { maxMessageSize: cfg.maxMessageSize, maxMessages: cfg.maxMessages });
    answer(x, 200, { results: await publish(x, p, o.topic, items) });
  };

  const route = (x: Exchange, path: string): Promise<void> | void => {
    const method = x.req.method;
    const topicPath = TOPIC_PATH.exec(path);
    const known = topicPath !== null || path === '/v1/beacon' || path === '/v1/beacon-tokens';
    if (!known) {
      x.endpoint = 'other';
      answer(x, 404, { code: ResponseCode.REQUEST_CODE_NOT_SUPPORTED, remark: 'no such endpoint: POST /v1/topics/{topic}/messages, /v1/beacon-tokens or /v1/beacon' });
      return;
    }
    if (method === 'OPTIONS') {
      x.endpoint = 'preflight';
      answerPreflight(x.req, x.res, cfg.originAllowed(x.req), () => fail(x, refuseOrigin(x)));
      if (x.res.statusCode === 204) cfg.httpMetrics.requests.inc({ endpoint: 'preflight', status: '204' });
      return;
    }
    if (method !== 'POST') {
      answer(x, 405, { code: ResponseCode.REQUEST_CODE_NOT_SUPPORTED, remark: `${method} is not supported here: use POST` }, { allow: 'POST, OPTIONS' });
      return;
    }
    if (topicPath) return topicMessages(x, topicPath[1]!);
    if (path === '/v1/beacon') {
      x.endpoint = 'beacon';
      return beacon(x);
    }
    x.endpoint = 'beacon_token';
    return mintBeaconToken(x);
  };

  return {
    get active() { return active; },
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (!path.startsWith(API_PREFIX)) return false;
      const origin = req.headers.origin;
      const x: Exchange = { req, res, endpoint: 'publish', cors: corsHeaders(origin, origin !== undefined && cfg.originAllowed(req)) };
      active++;
      req.on('error', () => {});
      new Promise<void>((r) => {
        if (req.rawHeaders.length / 2 >= MAX_REQUEST_HEADERS) {
          throw new HttpError(431, ResponseCode.MESSAGE_ILLEGAL, `${MAX_REQUEST_HEADERS} headers or more; send many properties in the JSON form`, 'malformed');
        }
        r(route(x, path));
      })
        .catch((e: unknown) => fail(x, e))
        .finally(() => { active--; });
      return true;
    },
  };
}
