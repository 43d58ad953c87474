// startGateway: HTTP server (http.ts: health, readiness, metrics, demo page) + WebSocket endpoint /rmq
// (relayed frames) + HTTP publish API /v1/ (http-publish.ts: published by the gateway's own producer).
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { pino } from 'pino';
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { DEFAULT_MAX_MESSAGE_SIZE, RequestCode, ResponseCode, createRequest, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { BEARER_PREFIX, CloseCode, SUBPROTOCOL } from '@rocketmq-edge/transport-ws/envelope';
import { signRequest, type AclCredentials } from './acl.js';
import { Admission } from './admission.js';
import { AliasTable } from './aliases.js';
import { AuthError, Authenticator, type AuthOptions, type Principal } from './auth.js';
import { BeaconTokens } from './beacon.js';
import { answerClientError, httpHandler } from './http.js';
import { HttpPublishMetrics } from './http-metrics.js';
import { DEFAULT_HTTP_PRODUCER_GROUP, resolveHttpLimits, type HttpPublishOptions } from './http-options.js';
import { MAX_REQUEST_HEADERS, httpPublishApi } from './http-publish.js';
import { GatewayMetrics, type RefusalReason } from './metrics.js';
import { DEFAULT_CREATE_TOPIC_KEY, resolveLimits, type GatewayLimits } from './options.js';
import { relayedCodes } from './policy.js';
import { PrincipalLimits } from './principal-limits.js';
import { ClientIdOwners } from './producer-registry.js';
import { HttpPublisher } from './publisher.js';
import { Relay, type RelayEntry } from './relay.js';
import { ClientSession, type Logger, type SessionConfig } from './session.js';
import { normalizeAllowedOrigin, originAllowed as originPolicyAllows } from './origin.js';

export const WS_PATH = '/rmq';

/** Limits (see options.ts for each default) can be given one by one. */
export interface GatewayOptions extends Partial<Omit<GatewayLimits, 'ratePerSecond' | 'rateBurst' | 'maxRequestBudgetMs'>> {
  host?: string;
  port?: number;
  /** "host:9876;host2:9876". */
  namesrvAddr: string;
  auth: AuthOptions;
  /**
   * Browser origins allowed to connect ("https://app.example.com"; "*" allows all). Also the names
   * under which the gateway's own pages may connect: besides these, only loopback names
   * (127.0.0.1, localhost, [::1]) are trusted, because a same-origin page under any other name may
   * be a DNS-rebinding attacker's. Clients that send no Origin are left to their token.
   */
  allowedOrigins?: string[];
  /** Request codes relayed (default: 105, 310, 10, 320, 34, 35; consumer codes with enableConsumer). Admin codes never. */
  allowedCodes?: number[];
  enableConsumer?: boolean;
  rate?: { perSecond?: number; burst?: number };
  maxConnections?: number;
  acl?: AclCredentials;
  logger?: Logger & { error?(obj: object, msg?: string): void };
  /** Log level of the default pino logger (default "info", "silent" under node --test). */
  logLevel?: string;
  /** Folder with the demo page (index.html …), served at "/". */
  demoDir?: string;
  /** Development mode: serves /demo-config.json (to loopback Host names only), allows loopback origins. */
  dev?: { token: string; topic?: string; wsUrl?: string };
  /** Fail upstream requests unanswered after this long, whatever budget the client sent (default 60 s). */
  upstreamTimeoutMs?: number;
  createTopicKey?: string;
  /** Adds Node process metrics to /metrics. */
  defaultMetrics?: boolean;
  /** The HTTP publish API (/v1/…, see http-options.ts); `false` or `{ enabled: false }` turns it off. */
  http?: HttpPublishOptions | false;
}

export interface Gateway {
  /** ws://host:port/rmq */
  readonly url: string;
  /** http://host:port */
  readonly httpUrl: string;
  readonly port: number;
  readonly metrics: GatewayMetrics;
  readonly aliases: AliasTable;
  /** Open client sessions. */
  readonly connections: number;
  /** Requests relayed upstream and not yet answered (diagnostics). */
  pendingUpstream(): number;
  /** The producer of HTTP publishes (undefined when the HTTP publish API is off). */
  readonly publisher: HttpPublisher | undefined;
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const namesrvAddrs = (opts.namesrvAddr ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  if (namesrvAddrs.length === 0) throw new Error('startGateway needs namesrvAddr, e.g. "127.0.0.1:9876;10.0.0.2:9876"');
  const auth = new Authenticator(opts.auth ?? {});
  if (!auth.configured) throw new Error('startGateway needs auth: { jwt: { secret | publicKey } } and/or { staticTokens }');
  const originPolicy = { allowedOrigins: (opts.allowedOrigins ?? []).map(normalizeAllowedOrigin), dev: opts.dev !== undefined };
  const log: Logger = opts.logger ?? pino({ level: opts.logLevel ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info'), name: 'rocketmq-edge' });
  const enableConsumer = opts.enableConsumer ?? false;
  const relayed = relayedCodes(opts.allowedCodes, enableConsumer);
  const limits = resolveLimits({
    ...opts,
    ratePerSecond: opts.rate?.perSecond,
    rateBurst: opts.rate?.burst,
    maxRequestBudgetMs: opts.upstreamTimeoutMs,
  });
  const maxFrameBytes = limits.maxFrameBytes;
  const maxPayload = Math.min(2 * maxFrameBytes + 1024, 32 * 1024 * 1024);
  const metrics = new GatewayMetrics(relayed, opts.defaultMetrics ?? false);
  const aliases = new AliasTable();
  const relay = new Relay(namesrvAddrs.join(';'), {
    connectTimeoutMs: limits.upstreamConnectTimeoutMs,
    maxQueuedBytes: limits.upstreamMaxQueuedBytes,
    maxFrameSize: 32 * 1024 * 1024,
    onConnectionCount: (n) => metrics.upstreamConnections.set(n),
    log,
  });

  // Gateway-originated name-server requests (cluster info for alias learning).
  const internalRequest = (code: number, timeoutMs: number): Promise<RemotingCommand> =>
    new Promise((resolve, reject) => {
      const cmd = createRequest(code);
      if (opts.acl) signRequest(cmd, opts.acl);
      const now = performance.now();
      const entry: RelayEntry = {
        owner: { deliver: (_e, r) => resolve(r), fail: (_e, remark) => reject(new Error(remark)) },
        clientOpaque: 0, target: NAMESRV_TARGET, code, startedAt: now, deadline: now + timeoutMs,
      };
      relay.send(NAMESRV_TARGET, cmd, entry);
    });
  let learning: Promise<void> | undefined;
  let learnedAt = -Infinity;
  const learnAliases = (): Promise<void> => {
    if (learning) return learning;
    if (performance.now() - learnedAt < 1000) return Promise.resolve();
    learning = internalRequest(RequestCode.GET_BROKER_CLUSTER_INFO, 3000)
      .then((r) => { if (r.code === ResponseCode.SUCCESS && r.body) aliases.learnClusterInfo(r.body); })
      .catch((e: Error) => log.warn({ err: e.message }, 'could not fetch cluster info for alias resolution'))
      .finally(() => { learning = undefined; learnedAt = performance.now(); });
    return learning;
  };

  // Gateway-wide fair share of upstream requests, for WebSocket sessions and HTTP publishes alike.
  const admission = new Admission(limits.maxUpstreamInFlight);
  const sessionCfg: SessionConfig = {
    limits,
    admission,
    relayed,
    enableConsumer,
    createTopicKey: opts.createTopicKey ?? DEFAULT_CREATE_TOPIC_KEY,
    maxDecodeBytes: maxPayload,
    ...(opts.acl ? { acl: opts.acl } : {}),
    relay, aliases, learnAliases, auth, metrics, log,
    clientIds: new ClientIdOwners(),
  };

  const sessions = new Set<ClientSession>();
  let nextId = 1;
  let closing = false;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  wss.on('error', () => {});

  const httpOpts = opts.http === false ? { enabled: false } : opts.http ?? {};
  const httpLimits = resolveHttpLimits(httpOpts, { perSecond: limits.ratePerSecond, burst: limits.rateBurst });
  const originAllowed = (req: IncomingMessage): boolean => originPolicyAllows(req.headers.origin, req.headers.host, originPolicy);
  let publisher: HttpPublisher | undefined;
  let api: ReturnType<typeof httpPublishApi> | undefined;
  if (httpOpts.enabled !== false) {
    // A beacon token must never pass for an operator's token (or the reverse): keys of their own.
    const secret = httpOpts.beaconSecret;
    const jwtSecrets = (Array.isArray(opts.auth.jwt) ? opts.auth.jwt : opts.auth.jwt ? [opts.auth.jwt] : []).map((j) => j.secret);
    if (secret !== undefined && jwtSecrets.some((s) => s !== undefined && Buffer.from(s).equals(Buffer.from(secret)))) {
      throw new Error('http.beaconSecret (--beacon-secret) must differ from every JWT secret: beacon tokens are signed with a key of their own');
    }
    publisher = new HttpPublisher({
      namesrvAddr: namesrvAddrs.join(';'),
      ...(opts.acl ? { acl: opts.acl } : {}),
      aliases,
      sendTimeoutMs: httpLimits.sendTimeoutMs,
      connectTimeoutMs: limits.upstreamConnectTimeoutMs,
      maxQueuedBytes: limits.upstreamMaxQueuedBytes,
      createTopicKey: opts.createTopicKey ?? DEFAULT_CREATE_TOPIC_KEY,
      producerGroup: httpOpts.producerGroup ?? DEFAULT_HTTP_PRODUCER_GROUP,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      idempotency: { windowMs: httpLimits.idempotencyWindowMs, maxIds: httpLimits.idempotencyMaxIds },
      log,
    });
    api = httpPublishApi({
      auth,
      beacon: new BeaconTokens({ ...(httpOpts.beaconSecret ? { secret: httpOpts.beaconSecret } : {}), ttlMs: httpLimits.beaconTokenTtlMs }),
      publisher,
      limits: new PrincipalLimits({ perSecond: httpLimits.ratePerSecond, burst: httpLimits.rateBurst }, httpLimits.maxInFlightPerPrincipal, admission),
      originAllowed,
      createTopicKey: opts.createTopicKey ?? DEFAULT_CREATE_TOPIC_KEY,
      maxBodyBytes: httpLimits.maxBodyBytes,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
      maxMessages: limits.maxBatchMessages,
      metrics,
      httpMetrics: new HttpPublishMetrics(metrics.registry),
      log,
      closing: () => closing,
    });
  }

  const surface = httpHandler({
    metrics,
    ready: async () => !closing && (await Promise.race([relay.namesrvReachable(), delay(3000).then(() => false)])),
    wsPath: WS_PATH,
    ...(opts.demoDir !== undefined ? { demoDir: opts.demoDir } : {}),
    ...(opts.dev !== undefined ? { dev: opts.dev } : {}),
    log,
  });
  // Slow clients (headers or body trickling in) are answered 408 and closed; checked every second.
  const server = createServer({
    headersTimeout: httpLimits.headersTimeoutMs,
    requestTimeout: httpLimits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, httpLimits.headersTimeoutMs),
  }, (req, res) => { if (!api?.handle(req, res)) surface(req, res); });
  server.maxHeadersCount = MAX_REQUEST_HEADERS;
  server.on('clientError', answerClientError);

  const acceptAndClose = (req: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string, why: RefusalReason) => {
    metrics.refused(why);
    log.info({ closeCode: code, reason, origin: req.headers.origin }, 'refusing WebSocket');
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, reason));
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const path = (req.url ?? '/').split('?')[0];
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!originAllowed(req)) {
      acceptAndClose(req, socket, head, CloseCode.FORBIDDEN_ORIGIN, 'origin not allowed', 'forbidden_origin');
      return;
    }
    if (opts.maxConnections !== undefined && sessions.size >= opts.maxConnections) {
      acceptAndClose(req, socket, head, CloseCode.TOO_MANY_CONNECTIONS, 'gateway at its connection limit', 'too_many_connections');
      return;
    }
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    const bearer = protocols.find((p) => p.startsWith(BEARER_PREFIX));
    const accept = (principal: Principal | undefined) => {
      if (closing) { socket.destroy(); return; }
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        metrics.connectionsTotal.inc();
        const s = new ClientSession(nextId++, ws, sessionCfg, principal, (x) => sessions.delete(x));
        if (!s.closed) sessions.add(s);
      });
    };
    if (bearer === undefined) {
      accept(undefined);
      return;
    }
    auth.verify(bearer.slice(BEARER_PREFIX.length)).then(
      (p) => accept(p),
      (e: unknown) => {
        const msg = e instanceof AuthError ? e.message : 'token verification failed';
        acceptAndClose(req, socket, head, CloseCode.UNAUTHORIZED, msg.slice(0, 120), 'unauthorized');
      },
    );
  });

  const pinger = setInterval(() => { for (const s of sessions) s.ping(); }, limits.pingIntervalMs);
  pinger.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Started once listening: a gateway that failed to start leaves no producer timers behind.
  await publisher?.start();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port ?? 0;
  const host = opts.host ?? '127.0.0.1';
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  log.info({ port, host, namesrv: namesrvAddrs }, 'gateway listening');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      clearInterval(pinger);
      const serverClosed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sessions) s.drain();
      const deadline = performance.now() + limits.drainTimeoutMs;
      while ((sessions.size > 0 || (api?.active ?? 0) > 0) && performance.now() < deadline) await delay(20);
      for (const s of [...sessions]) s.close(CloseCode.GOING_AWAY, 'gateway shutting down');
      await delay(sessions.size ? 50 : 0);
      for (const s of [...sessions]) s.terminate();
      await relay.close();
      await publisher?.close();
      wss.close();
      server.closeAllConnections();
      await serverClosed;
      log.info({}, 'gateway closed');
    })();
    return closed;
  };

  return {
    url: `ws://${hostForUrl}:${port}${WS_PATH}`,
    httpUrl: `http://${hostForUrl}:${port}`,
    port,
    metrics,
    aliases,
    get connections() { return sessions.size; },
    pendingUpstream: () => relay.pendingCount,
    publisher,
    close,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
