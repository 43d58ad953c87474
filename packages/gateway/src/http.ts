// The gateway's HTTP surface: /healthz, /readyz, /metrics, the demo page and its development
// config, and answers to requests the HTTP parser refuses. The WebSocket endpoint lives elsewhere.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve as resolvePath, sep } from 'node:path';
import type { GatewayMetrics } from './metrics.js';
import { isLoopbackHost } from './origin.js';

export interface HttpSurfaceOptions {
  metrics: GatewayMetrics;
  /** Readiness: true when a name server connection can be made and the gateway is not closing. */
  ready(): Promise<boolean>;
  /** Path of the WebSocket endpoint, for the demo config and the "not built" page. */
  wsPath: string;
  /** Folder with the demo page (index.html …), served at "/". */
  demoDir?: string;
  /** Development mode: /demo-config.json hands out this token, to loopback Host names only. */
  dev?: { token: string; topic?: string; wsUrl?: string };
  log: { warn(obj: object, msg?: string): void };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8', '.wasm': 'application/wasm',
};

/** The request listener for node's http server. */
export function httpHandler(opts: HttpSurfaceOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const demoDir = opts.demoDir ? resolvePath(opts.demoDir) : undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      const ok = await opts.ready();
      json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', namesrv: ok ? 'reachable' : 'unreachable' });
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(await opts.metrics.registry.metrics());
      return;
    }
    if (path === '/demo-config.json' && opts.dev) {
      // A page under any other name may be a DNS-rebinding attacker's: it would read the token.
      if (!isLoopbackHost(req.headers.host)) {
        json(res, 403, { error: 'the development config is served to loopback hosts only (127.0.0.1, localhost, [::1]); open the demo page through one of them, or pass ?token= to it' });
        return;
      }
      const wsUrl = opts.dev.wsUrl ?? `ws://${req.headers.host}${opts.wsPath}`;
      json(res, 200, { wsUrl, token: opts.dev.token, topic: opts.dev.topic ?? 'demo-events' });
      return;
    }
    if (demoDir !== undefined) {
      serveStatic(demoDir, path, res, opts.wsPath);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  }

  return (req, res) => {
    handle(req, res).catch((e) => {
      opts.log.warn({ err: (e as Error).message }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
}

const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/** How long a refused connection may go on sending before it is closed. */
const LINGER_MS = 1000;

/**
 * The 'clientError' listener: requests the parser refuses (headers over the limit, malformed
 * requests, WebSocket upgrades included) get a status line instead of a reset.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // Nothing to answer on a reset connection; and node reports again for every later chunk of the
  // same request, by which time the answer has gone (the socket is no longer writable).
  if (err.code === 'ECONNRESET' || !socket.writable) return;
  // Like node's own default: only where nothing was written yet, so that the status line cannot
  // land inside a response already under way on a kept-alive connection.
  if ((socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  } else {
    socket.end();
  }
  // Close after a while rather than now: closing with the rest of the request unread resets the
  // connection, and a client can lose the answer it has not read yet.
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify(body));
}

const notBuilt = (wsPath: string) => `<!doctype html><meta charset="utf-8"><title>rocketmq-edge</title>
<h1>rocketmq-edge gateway</h1><p>The demo page is not built: run <code>pnpm build</code>, then reload.</p>
<p>WebSocket endpoint: <code>${wsPath}</code> · <a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a></p>\n`;

function serveStatic(root: string, urlPath: string, res: ServerResponse, wsPath: string): void {
  let rel: string;
  try { rel = decodeURIComponent(urlPath); } catch { res.writeHead(400).end(); return; }
  if (rel.includes('\0')) { res.writeHead(400).end(); return; }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = normalize(join(root, rel));
  if (file !== root && !file.startsWith(root + sep)) { res.writeHead(403).end(); return; }
  if (!existsSync(root) || !existsSync(join(root, 'index.html'))) {
    if (urlPath === '/' || urlPath === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(notBuilt(wsPath));
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
