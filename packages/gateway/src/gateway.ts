// startGateway: HTTP server (health, readiness, metrics, demo page) + WebSocket endpoint /rmq.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve as resolvePath, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { pino } from 'pino';
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { RequestCode, ResponseCode, createRequest, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { BEARER_PREFIX, CloseCode, SUBPROTOCOL } from '@rocketmq-edge/transport-ws/envelope';
import { signRequest, type AclCredentials } from './acl.js';
import { AliasTable } from './aliases.js';
import { AuthError, Authenticator, type AuthOptions, type Principal } from './auth.js';
import { GatewayMetrics, type RefusalReason } from './metrics.js';
import { DEFAULT_CREATE_TOPIC_KEY, resolveLimits, type GatewayLimits } from './options.js';
import { relayedCodes } from './policy.js';
import { Relay, type RelayEntry } from './relay.js';
import { ClientSession, type Logger, type SessionConfig } from './session.js';

export const WS_PATH = '/rmq';

/** Limits (see options.ts for each default) can be given one by one. */
export interface GatewayOptions extends Partial<Omit<GatewayLimits, 'ratePerSecond' | 'rateBurst' | 'maxRequestBudgetMs'>> {
  host?: string;
  port?: number;
  /** "host:9876;host2:9876". */
  namesrvAddr: string;
  auth: AuthOptions;
  /** Origins allowed besides the gateway's own host (and clients that send no Origin). "*" allows all. */
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
  /** Development mode: serves /demo-config.json, allows loopback origins. */
  dev?: { token: string; topic?: string; wsUrl?: string };
  /** Fail upstream requests unanswered after this long, whatever budget the client sent (default 60 s). */
  upstreamTimeoutMs?: number;
  createTopicKey?: string;
  /** Adds Node process metrics to /metrics. */
  defaultMetrics?: boolean;
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
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.wasm': 'application/wasm',
};

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const namesrvAddrs = (opts.namesrvAddr ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  if (namesrvAddrs.length === 0) throw new Error('startGateway needs namesrvAddr, e.g. "127.0.0.1:9876;10.0.0.2:9876"');
  const auth = new Authenticator(opts.auth ?? {});
  if (!auth.configured) throw new Error('startGateway needs auth: { jwt: { secret | publicKey } } and/or { staticTokens }');
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

  const sessionCfg: SessionConfig = {
    limits,
    relayed,
    enableConsumer,
    createTopicKey: opts.createTopicKey ?? DEFAULT_CREATE_TOPIC_KEY,
    maxDecodeBytes: maxPayload,
    ...(opts.acl ? { acl: opts.acl } : {}),
    relay, aliases, learnAliases, auth, metrics, log,
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

  const demoDir = opts.demoDir ? resolvePath(opts.demoDir) : undefined;
  const server = createServer((req, res) => {
    handleHttp(req, res).catch((e) => {
      log.warn({ err: (e as Error).message }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      json(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const ok = !closing && (await Promise.race([relay.namesrvReachable(), delay(3000).then(() => false)]));
      json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', namesrv: ok ? 'reachable' : 'unreachable' });
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return;
    }
    if (path === '/demo-config.json' && opts.dev) {
      const host = req.headers.host ?? `${opts.host ?? '127.0.0.1'}:${port}`;
      json(res, 200, { wsUrl: opts.dev.wsUrl ?? `ws://${host}${WS_PATH}`, token: opts.dev.token, topic: opts.dev.topic ?? 'demo-events' });
      return;
    }
    if (demoDir !== undefined) {
      serveStatic(demoDir, path, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  }

  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // non-browser clients (Node, Deno, Workers) send none
    const list = opts.allowedOrigins ?? [];
    if (list.includes('*') || list.includes(origin)) return true;
    let u: URL;
    try { u = new URL(origin); } catch { return false; }
    if (u.host === req.headers.host) return true; // the gateway's own pages
    if (opts.dev && (u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]')) return true;
    return false;
  };

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
      while (sessions.size > 0 && performance.now() < deadline) await delay(20);
      for (const s of [...sessions]) s.close(CloseCode.GOING_AWAY, 'gateway shutting down');
      await delay(sessions.size ? 50 : 0);
      for (const s of [...sessions]) s.terminate();
      await relay.close();
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
    close,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>rocketmq-edge</title>
<h1>rocketmq-edge gateway</h1><p>The demo page is not built: run <code>pnpm build</code>, then reload.</p>
<p>WebSocket endpoint: <code>${WS_PATH}</code> · <a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a></p>\n`;

function serveStatic(root: string, urlPath: string, res: ServerResponse): void {
  let rel: string;
  try { rel = decodeURIComponent(urlPath); } catch { res.writeHead(400).end(); return; }
  if (rel.includes('\0')) { res.writeHead(400).end(); return; }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = normalize(join(root, rel));
  if (file !== root && !file.startsWith(root + sep)) { res.writeHead(403).end(); return; }
  if (!existsSync(root) || !existsSync(join(root, 'index.html'))) {
    if (urlPath === '/' || urlPath === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(NOT_BUILT);
    } else res.writeHead(404).end();
    return;
  }
  let body: Buffer;
  try {
    if (!statSync(file).isFile()) { res.writeHead(404).end(); return; }
    body = readFileSync(file);
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
