// The `rocketmq-edge` command: gateway (+ embedded name server and broker unless --namesrv) + demo page.
// Prints one JSON line {"event":"ready",…} on stdout when ready; logs go to stderr.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import type { JwtAuthOptions } from './auth.js';
import { parseHostPort } from '@rocketmq-edge/transport-tcp';
import { startGateway, type GatewayOptions } from './gateway.js';
import type { HttpPublishOptions } from './http-options.js';
import type { LogLevel } from '@rocketmq-edge/broker';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const HELP = `rocketmq-edge — RocketMQ over WebSocket for browsers, edge functions and Node

Usage: rocketmq-edge [options]

With no --namesrv it starts an embedded name server + broker (data in --data) and the gateway.
With --namesrv it relays to a real cluster.

Development mode (a printed token for topics ["*"], /demo-config.json, the demo page) is on with
--dev, or when no authentication is configured at all (no --jwt-secret, --jwt-public-key or
--static-token). Its token is signed with a development secret kept in <data>/gateway-dev-secret,
never with --jwt-secret, and is accepted besides the operator's tokens; /demo-config.json answers
loopback Host names only (127.0.0.1, localhost, [::1]).

Options (env var in brackets; --config file.json takes the same keys in camelCase):
  --host H                 listen address (127.0.0.1)                   [ROCKETMQ_EDGE_HOST]
  --port N                 listen port (8080)                           [ROCKETMQ_EDGE_PORT]
  --namesrv "h:p;h2:p"     real name servers; no embedded broker        [ROCKETMQ_EDGE_NAMESRV]
  --data DIR               embedded broker data (./data)                [ROCKETMQ_EDGE_DATA]
  --namesrv-port N         embedded name server port (0 = any)          [ROCKETMQ_EDGE_NAMESRV_PORT]
  --broker-port N          embedded broker port (0 = any)               [ROCKETMQ_EDGE_BROKER_PORT]
  --flush async|sync       embedded broker: fsync every 500 ms (async) or before each ack (sync) [ROCKETMQ_EDGE_FLUSH]
  --embedded-broker M      auto (default): thread with 3 or more CPU cores, else inline;
                           inline: on the gateway's event loop (lowest latency, one core);
                           thread: a worker thread of its own, relay and broker run in parallel [ROCKETMQ_EDGE_EMBEDDED_BROKER]
  --jwt-secret S           HS256 secret (>= 32 bytes)                   [ROCKETMQ_EDGE_JWT_SECRET]
  --jwt-public-key K       RS256/ES256 public key: PEM text or file     [ROCKETMQ_EDGE_JWT_PUBLIC_KEY]
  --jwt-issuer I / --jwt-audience A                                     [ROCKETMQ_EDGE_JWT_ISSUER / _AUDIENCE]
  --jwt-allow-no-expiry    accept JWTs without "exp" (refused by default) [ROCKETMQ_EDGE_JWT_ALLOW_NO_EXPIRY=1]
  --static-token T=topics  fixed token, topic patterns comma separated (repeatable), e.g. T=orders-*,demo-events
                                                                        [ROCKETMQ_EDGE_STATIC_TOKENS="t=a,b;t2=c"]
  --allowed-origins a,b    browser origins allowed to connect, e.g. https://app.example.com [ROCKETMQ_EDGE_ALLOWED_ORIGINS]
                           (pages of this gateway connect on their own only under 127.0.0.1, localhost
                           or [::1]: served under a public name, list its own origin here)
  --acl-access-key K / --acl-secret-key S / --acl-security-token T      [ROCKETMQ_EDGE_ACL_ACCESS_KEY / _SECRET_KEY / _SECURITY_TOKEN]
  --max-frame-bytes N      largest frame relayed (4718592)              [ROCKETMQ_EDGE_MAX_FRAME_BYTES]
  --max-in-flight N        per connection (1024)                        [ROCKETMQ_EDGE_MAX_IN_FLIGHT]
  --rate N / --burst N     requests per second per connection (2000 / 4000) [ROCKETMQ_EDGE_RATE / _BURST]
  --max-batch-messages N   records per SEND_BATCH_MESSAGE (1024)        [ROCKETMQ_EDGE_MAX_BATCH_MESSAGES]
  --max-outbound-bytes N   bytes a client may leave unread before 4410 (16777216) [ROCKETMQ_EDGE_MAX_OUTBOUND_BYTES]
  --request-budget-ms N    in-flight slot hold for clients that send no deadline (10000) [ROCKETMQ_EDGE_REQUEST_BUDGET_MS]
  --max-connections N      refuse connections beyond N                  [ROCKETMQ_EDGE_MAX_CONNECTIONS]
  --enable-consumer        relay consumer requests (tokens with read claims) [ROCKETMQ_EDGE_ENABLE_CONSUMER=1]
  --wire-version 2|3       3 (default): several frames per WebSocket message with clients that read them;
                           2: one frame per message, as gateways before FRAMES [ROCKETMQ_EDGE_WIRE_VERSION]
HTTP publish API (POST /v1/topics/{topic}/messages, /v1/beacon-tokens, /v1/beacon):
  --no-http-publish        do not serve it                              [ROCKETMQ_EDGE_HTTP_PUBLISH=0]
  --http-max-body-bytes N  largest request body (4718592)               [ROCKETMQ_EDGE_HTTP_MAX_BODY_BYTES]
  --http-rate N / --http-burst N  requests per second per token (default: --rate / --burst) [ROCKETMQ_EDGE_HTTP_RATE / _HTTP_BURST]
  --http-max-in-flight N   publishes awaiting the broker per token (1024) [ROCKETMQ_EDGE_HTTP_MAX_IN_FLIGHT]
  --http-send-timeout-ms N budget of one publish, route lookup and retries included (3000) [ROCKETMQ_EDGE_HTTP_SEND_TIMEOUT_MS]
  --http-headers-timeout-ms N / --http-request-timeout-ms N  slower requests get 408 (10000 / 30000)
                                                                        [ROCKETMQ_EDGE_HTTP_HEADERS_TIMEOUT_MS / _HTTP_REQUEST_TIMEOUT_MS]
  --idempotency-window-ms N / --idempotency-max-ids N  acknowledged ids remembered per gateway (600000 / 100000)
                                                                        [ROCKETMQ_EDGE_IDEMPOTENCY_WINDOW_MS / _IDEMPOTENCY_MAX_IDS]
  --beacon-secret S        HS256 key of beacon tokens (>= 32 bytes), the same on every gateway behind
                           one load balancer (default: random per process) [ROCKETMQ_EDGE_BEACON_SECRET]
  --dev / --no-dev         development mode (default: on only when no authentication is configured)
  --demo-dir DIR           demo page folder (apps/demo/dist)            [ROCKETMQ_EDGE_DEMO_DIR]
  --no-demo                do not serve (or build) the demo page
  --topic T                topic the demo page publishes to (demo-events)
  --log-level L            trace|debug|info|warn|error|silent (info)    [ROCKETMQ_EDGE_LOG_LEVEL]
  --config FILE            JSON file with any of the options above
  -h, --help               this text

Clients: new WebSocketTransport({ url: "ws://HOST:PORT/rmq", token }) from @rocketmq-edge/transport-ws.
`;

type Opts = Record<string, unknown>;

/** A mistake in how the command was called: exit code 2 (runtime failures exit 1). */
export class UsageError extends Error {
  override name = 'UsageError';
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Every flag the help names: the parser refuses the rest, so help and parser cannot drift. */
const KNOWN_FLAGS: ReadonlySet<string> = new Set([...HELP.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]!));
/** Config file keys: the flags in camelCase (`no-*` as the option they turn off), plus the object form of static tokens. */
const CONFIG_KEYS: ReadonlySet<string> = new Set([
  ...[...KNOWN_FLAGS].map((f) => camel(f.startsWith('no-') ? f.slice(3) : f)),
  'staticTokens',
]);

/** The known name closest to `name` (edit distance ≤ 2), for "did you mean". */
function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

const unknown = (what: string, name: string, known: Iterable<string>, prefix = ''): UsageError => {
  const near = closest(name, known);
  return new UsageError(`unknown ${what} ${prefix}${name}${near ? ` (did you mean ${prefix}${near}?)` : ''} (see --help)`);
};

const BOOL_FLAGS = new Set(['enable-consumer', 'dev', 'no-dev', 'no-demo', 'no-http-publish', 'jwt-allow-no-expiry', 'help']);

export function parseArgs(argv: string[]): Opts {
  const o: Opts = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (a === '-h') a = '--help';
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${a} (see --help)`);
    let key = a.slice(2);
    let value: string | undefined;
    const eq = key.indexOf('=');
    if (eq > 0) { value = key.slice(eq + 1); key = key.slice(0, eq); }
    if (!KNOWN_FLAGS.has(key)) throw unknown('option', key, KNOWN_FLAGS, '--');
    if (BOOL_FLAGS.has(key)) {
      if (key === 'no-dev') o.dev = false;
      else if (key === 'no-demo') o.demo = false;
      else if (key === 'no-http-publish') o.httpPublish = false;
      else o[camel(key)] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${a} needs a value (see --help)`);
    }
    if (key === 'static-token') {
      const list = (o.staticToken as string[] | undefined) ?? [];
      list.push(value);
      o.staticToken = list;
    } else o[camel(key)] = value;
  }
  return o;
}

const ENV_KEYS = [
  'host', 'port', 'namesrv', 'data', 'namesrvPort', 'brokerPort', 'flush', 'embeddedBroker', 'jwtSecret', 'jwtPublicKey', 'jwtIssuer', 'jwtAudience', 'jwtAllowNoExpiry',
  'allowedOrigins', 'aclAccessKey', 'aclSecretKey', 'aclSecurityToken', 'maxFrameBytes', 'maxInFlight', 'rate', 'burst',
  'maxBatchMessages', 'maxOutboundBytes', 'requestBudgetMs', 'wireVersion',
  'maxConnections', 'enableConsumer', 'demoDir', 'logLevel', 'staticTokens', 'topic',
  'httpPublish', 'httpMaxBodyBytes', 'httpRate', 'httpBurst', 'httpMaxInFlight', 'httpSendTimeoutMs', 'httpHeadersTimeoutMs',
  'httpRequestTimeoutMs', 'idempotencyWindowMs', 'idempotencyMaxIds', 'beaconSecret',
];

function fromEnv(env: NodeJS.ProcessEnv): Opts {
  const o: Opts = {};
  for (const k of ENV_KEYS) {
    const name = 'ROCKETMQ_EDGE_' + k.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
    const v = env[name];
    if (v !== undefined && v !== '') o[k] = v;
  }
  return o;
}

const num = (v: unknown, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a non-negative number, got ${String(v)}`);
  return n;
};
const list = (v: unknown): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v.map(String) : String(v).split(',').map((s) => s.trim()).filter(Boolean);
const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 'yes';

function staticTokens(o: Opts): Record<string, { sub: string; topics: string[] }> {
  const out: Record<string, { sub: string; topics: string[] }> = {};
  if (o.staticTokens && typeof o.staticTokens === 'object') Object.assign(out, o.staticTokens);
  const specs = [...((o.staticToken as string[] | undefined) ?? [])];
  if (typeof o.staticTokens === 'string') specs.push(...o.staticTokens.split(';'));
  for (const spec of specs) {
    const i = spec.indexOf('=');
    if (i <= 0) throw new Error(`--static-token wants TOKEN=topic1,topic2, got ${spec}`);
    out[spec.slice(0, i)] = { sub: `static:${spec.slice(0, 4)}…`, topics: list(spec.slice(i + 1)) ?? [] };
  }
  return out;
}

/** The development secret, kept beside the data so that dev tokens survive restarts; never the operator's. */
function devSecret(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const f = join(dataDir, 'gateway-dev-secret');
  if (existsSync(f)) return readFileSync(f, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(f, secret + '\n', { mode: 0o600 });
  return secret;
}

/**
 * Why development mode is on, or undefined when it is off: only when asked for, or when nothing
 * else could authenticate anyone. Operator credentials never turn it on by themselves.
 */
export function devModeReason(dev: boolean | undefined, authConfigured: boolean): string | undefined {
  if (dev === true) return '--dev';
  if (dev === undefined && !authConfigured) return 'no authentication configured: no --jwt-secret, --jwt-public-key or --static-token';
  return undefined;
}

async function devToken(secret: string, topics: string[]): Promise<string> {
  // Development: publish and read everything (reading still needs --enable-consumer).
  return new SignJWT({ topics, subscribe: topics, consumerGroups: ['*'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('dev')
    .setIssuedAt()
    .setExpirationTime('30d')
    .sign(new TextEncoder().encode(secret));
}

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  const flags = parseArgs(argv);
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  let file: Opts = {};
  const configPath = (flags.config ?? env.ROCKETMQ_EDGE_CONFIG) as string | undefined;
  if (configPath) file = readConfig(configPath);
  const o: Opts = { ...file, ...fromEnv(env), ...flags };

  const logLevel = String(o.logLevel ?? 'info');
  const logger = pino({ level: logLevel, name: 'rocketmq-edge' }, pino.destination(2));
  const host = String(o.host ?? '127.0.0.1');
  const port = portNumber(o.port, '--port') ?? 8080;
  const dataDir = resolve(String(o.data ?? './data'));
  const embedded = o.namesrv === undefined;

  const flush = String(o.flush ?? 'async').toLowerCase();
  if (flush !== 'async' && flush !== 'sync') throw new Error(`--flush must be async or sync, got ${String(o.flush)}`);
  const mode = embeddedBrokerMode(o.embeddedBroker, availableParallelism());

  const jwtSecret = o.jwtSecret as string | undefined;
  let publicKey = o.jwtPublicKey as string | undefined;
  if (publicKey && !publicKey.includes('-----BEGIN') && existsSync(publicKey)) publicKey = readFileSync(publicKey, 'utf8');
  const statics = staticTokens(o);
  const authConfigured = Boolean(jwtSecret || publicKey || Object.keys(statics).length > 0);
  const devReason = devModeReason(o.dev === undefined ? undefined : bool(o.dev), authConfigured);
  const dev = devReason !== undefined;
  if (!dev && !authConfigured) {
    throw new Error('no authentication configured: pass --jwt-secret, --jwt-public-key or --static-token (or use --dev)');
  }
  // The operator's issuer, then (dev mode) the development one: a token may verify with either.
  const jwt: JwtAuthOptions[] = [];
  if (jwtSecret || publicKey) {
    jwt.push({
      ...(jwtSecret ? { secret: jwtSecret } : {}),
      ...(publicKey ? { publicKey } : {}),
      ...(o.jwtIssuer ? { issuer: String(o.jwtIssuer) } : {}),
      ...(o.jwtAudience ? { audience: String(o.jwtAudience) } : {}),
      ...(bool(o.jwtAllowNoExpiry) ? { allowNoExpiry: true } : {}),
    });
  }
  let token: string | undefined;
  if (dev) {
    const secret = devSecret(dataDir);
    jwt.push({ secret });
    token = await devToken(secret, ['*']);
  }

  let emb: { namesrvAddr: string; close(): Promise<void> } | undefined;
  let namesrvAddr = o.namesrv as string | undefined;
  if (namesrvAddr !== undefined) {
    const entries = String(namesrvAddr).split(';').map((x) => x.trim()).filter(Boolean);
    if (entries.length === 0) throw new UsageError('--namesrv needs at least one "host:port" (e.g. 10.0.0.1:9876;10.0.0.2:9876)');
    for (const x of entries) if (!parseHostPort(x)) throw new UsageError(`--namesrv entry "${x}" is not host:port (e.g. 10.0.0.1:9876)`);
  }
  if (embedded) {
    const { startEmbedded, startEmbeddedThread } = await import('@rocketmq-edge/broker');
    mkdirSync(dataDir, { recursive: true });
    const brokerLog = logger.child({ component: 'broker' });
    const serverOpts = {
      dataDir,
      host: '127.0.0.1',
      namesrvPort: portNumber(o.namesrvPort, '--namesrv-port') ?? 0,
      brokerPort: portNumber(o.brokerPort, '--broker-port') ?? 0,
      flushDiskType: flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
      logger: (level: LogLevel, msg: string) => brokerLog[level](msg),
    } as const;
    // Either way the gateway reaches the broker over TCP, exactly as it reaches a real cluster.
    emb = mode === 'inline'
      ? await startEmbedded(serverOpts)
      : await startEmbeddedThread({
        ...serverOpts,
        logLevel: logLevel === 'debug' || logLevel === 'trace' ? 'debug' : logLevel === 'info' ? 'info' : 'warn',
        onExit: (err) => {
          logger.fatal({ err: err.message }, 'the embedded broker thread stopped; exiting');
          logger.flush?.();
          process.exit(1);
        },
      });
    namesrvAddr = emb.namesrvAddr;
  }

  let demoDir: string | undefined;
  if (o.demo !== false && (dev || o.demoDir !== undefined)) {
    demoDir = resolve(String(o.demoDir ?? join(REPO_ROOT, 'apps/demo/dist')));
    const build = join(REPO_ROOT, 'scripts/build.mjs');
    if (!existsSync(join(demoDir, 'index.html')) && o.demoDir === undefined && existsSync(build)) {
      logger.info({ script: build }, 'demo page not built yet: building it');
      const r = spawnSync(process.execPath, [build], { cwd: REPO_ROOT, stdio: ['ignore', 2, 2], timeout: 120_000 });
      if (r.status !== 0) logger.warn({ status: r.status }, 'demo build failed; serving the "not built" page');
    } else if (!existsSync(join(demoDir, 'index.html')) && o.demoDir === undefined) {
      // An installed package has no demo page and nothing to build it with: neither serve nor advertise one.
      demoDir = undefined;
    }
  }

  const topic = String(o.topic ?? 'demo-events');
  const acl = o.aclAccessKey && o.aclSecretKey
    ? { accessKey: String(o.aclAccessKey), secretKey: String(o.aclSecretKey), ...(o.aclSecurityToken ? { securityToken: String(o.aclSecurityToken) } : {}) }
    : undefined;
  const rate = { perSecond: num(o.rate, '--rate'), burst: num(o.burst, '--burst') };
  const gwOpts: GatewayOptions = {
    host,
    port,
    namesrvAddr: namesrvAddr!,
    auth: {
      ...(jwt.length ? { jwt } : {}),
      ...(Object.keys(statics).length ? { staticTokens: statics } : {}),
    },
    logger,
    defaultMetrics: true,
    enableConsumer: bool(o.enableConsumer),
    rate: {
      ...(rate.perSecond !== undefined ? { perSecond: rate.perSecond } : {}),
      ...(rate.burst !== undefined ? { burst: rate.burst } : {}),
    },
  };
  const origins = list(o.allowedOrigins);
  if (origins) gwOpts.allowedOrigins = origins;
  if (acl) gwOpts.acl = acl;
  if (demoDir) gwOpts.demoDir = demoDir;
  if (dev && token) gwOpts.dev = { token, topic };
  const mfb = num(o.maxFrameBytes, '--max-frame-bytes');
  if (mfb !== undefined) gwOpts.maxFrameBytes = mfb;
  const mif = num(o.maxInFlight, '--max-in-flight');
  if (mif !== undefined) gwOpts.maxInFlightPerConnection = mif;
  const mc = num(o.maxConnections, '--max-connections');
  if (mc !== undefined) gwOpts.maxConnections = mc;
  for (const [key, flag] of [['maxBatchMessages', '--max-batch-messages'], ['maxOutboundBytes', '--max-outbound-bytes'], ['requestBudgetMs', '--request-budget-ms'], ['wireVersion', '--wire-version']] as const) {
    const v = num(o[key], flag);
    if (v !== undefined) gwOpts[key] = v;
  }

  gwOpts.http = httpOptions(o);

  let gw;
  try {
    gw = await startGateway(gwOpts);
  } catch (e) {
    await emb?.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is in use: stop what listens there, or pass another --port (0 = any free port)`);
    throw e;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const hard = setTimeout(() => process.exit(1), 15_000);
    hard.unref();
    try {
      await gw.close();
      await emb?.close();
    } finally {
      logger.flush?.();
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const ready = {
    event: 'ready',
    url: gw.httpUrl + '/',
    wsUrl: gw.url,
    token: token ?? null,
    namesrvAddr,
    embedded,
    ...(embedded ? { embeddedBroker: mode } : {}),
    dev,
    ...(devReason ? { devReason, topic } : {}),
  };
  process.stdout.write(JSON.stringify(ready) + '\n');
  if (process.stderr.isTTY || logLevel !== 'silent') {
    process.stderr.write(
      `\nrocketmq-edge gateway ready\n${demoDir ? `  demo page : ${gw.httpUrl}/\n` : ''}  WebSocket : ${gw.url}\n` +
      (gw.publisher ? `  HTTP      : POST ${gw.httpUrl}/v1/topics/{topic}/messages (Authorization: Bearer <token>)\n` : '') +
      `  name server: ${namesrvAddr}${embedded ? ` (embedded, data in ${dataDir})` : ''}\n` +
      (devReason
        ? `  dev mode  : on (${devReason}); dev token publishes to and reads every topic ("*"), /demo-config.json for loopback hosts\n`
        : '  dev mode  : off (authentication configured; --dev adds a development token)\n') +
      (token ? `  dev token : ${token}\n  use it    : new WebSocketTransport({ url: '${gw.url}', token: '<dev token>' })\n` : '') +
      `  health    : ${gw.httpUrl}/healthz  ${gw.httpUrl}/readyz  ${gw.httpUrl}/metrics\n\n`,
    );
  }
}

/** The HTTP publish API's options from the flags (`false` with --no-http-publish). */
function httpOptions(o: Opts): GatewayOptions['http'] {
  if (o.httpPublish !== undefined && !bool(o.httpPublish)) return false;
  const http: HttpPublishOptions = {};
  const rate = { perSecond: num(o.httpRate, '--http-rate'), burst: num(o.httpBurst, '--http-burst') };
  if (rate.perSecond !== undefined || rate.burst !== undefined) {
    http.rate = { ...(rate.perSecond !== undefined ? { perSecond: rate.perSecond } : {}), ...(rate.burst !== undefined ? { burst: rate.burst } : {}) };
  }
  const numbers = [
    ['maxBodyBytes', 'httpMaxBodyBytes'], ['maxInFlightPerPrincipal', 'httpMaxInFlight'], ['sendTimeoutMs', 'httpSendTimeoutMs'],
    ['headersTimeoutMs', 'httpHeadersTimeoutMs'], ['requestTimeoutMs', 'httpRequestTimeoutMs'],
    ['idempotencyWindowMs', 'idempotencyWindowMs'], ['idempotencyMaxIds', 'idempotencyMaxIds'],
  ] as const;
  for (const [key, opt] of numbers) {
    const v = num(o[opt], `--${opt.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
    if (v !== undefined) http[key] = v;
  }
  if (o.beaconSecret !== undefined) http.beaconSecret = String(o.beaconSecret);
  return http;
}

/** A TCP port option (0 = any free port), or undefined when not given. */
function portNumber(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name} must be a port number 0..65535 (0 = any free port), got ${String(v)}`);
  return n;
}

/** The config file's options; a missing or unreadable file, invalid JSON or an unknown key is a usage error naming it. */
function readConfig(path: string): Opts {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`config file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new UsageError(`config file ${path} must hold a JSON object of options`);
  for (const k of Object.keys(o)) if (!CONFIG_KEYS.has(k)) throw unknown(`key in ${path}:`, k, CONFIG_KEYS);
  return o as Opts;
}

/**
 * Where the embedded broker runs. `auto`: on a thread of its own when the host has cores to run
 * the relay and the broker in parallel (each costs about as much CPU per message as the other);
 * on the gateway's event loop otherwise, where one thread avoids a wake-up per request.
 */
export function embeddedBrokerMode(value: unknown, cores: number): 'inline' | 'thread' {
  const m = String(value ?? 'auto').toLowerCase();
  if (m === 'auto') return cores >= 3 ? 'thread' : 'inline';
  if (m === 'thread' || m === 'inline') return m;
  throw new Error(`--embedded-broker must be auto, thread or inline, got ${String(value)}`);
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main().catch((e: Error) => {
    process.stderr.write(`rocketmq-edge: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
