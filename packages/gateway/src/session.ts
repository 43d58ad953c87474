// One client WebSocket: authentication state, the per-connection bounds (pre-auth messages, rate,
// in-flight requests, bytes owed to a client that does not read), and the relay of each request:
// decode once, check (schema.ts, policy.ts), forward exactly what was checked (relay.ts), answer.
// Deny by default; every refused request gets a remoting response.
import type { WebSocket } from 'ws';
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import {
  RequestCode,
  ResponseCode,
  createResponse,
  encodeCommand,
  isOneway,
  isResponse,
  type RemotingCommand,
  type SerializeType,
} from '@rocketmq-edge/core/internal';
import { CloseCode, FRAMES_VERSION, encodeEnvelope, targetBytes, type ControlMessage } from '@rocketmq-edge/transport-ws/envelope';
import { signRequest, type AclCredentials } from './acl.js';
import type { AliasTable } from './aliases.js';
import type { Authenticator, Principal } from './auth.js';
import type { Admission } from './admission.js';
import { parseControl } from './control.js';
import { decodeInbound, framesBytes } from './frames.js';
import { Outbound } from './outbound.js';
import { envelopeWithOpaque } from './reply-frame.js';
import type { GatewayMetrics, RefusalReason } from './metrics.js';
import { PULL_BUDGET_GRACE_MS, type GatewayLimits } from './options.js';
import { checkCode, checkTarget, checkTopics } from './policy.js';
import { ProducerCallbacks, type HalfSend, type Via } from './callbacks.js';
import type { ClientIdOwners } from './producer-registry.js';
import { TokenBucket } from './rate-limit.js';
import type { Link, LinkScope, Relay, RelayEntry, RelayOwner } from './relay.js';
import { checkRequest, isConsumerCode, isRefusal, type CheckedRequest, type Refusal } from './schema.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface SessionConfig {
  limits: GatewayLimits;
  admission: Admission;
  relayed: ReadonlySet<number>;
  enableConsumer: boolean;
  createTopicKey: string;
  /** Largest frame the decoder accepts (above maxFrameBytes, so an oversize request still gets an answer). */
  maxDecodeBytes: number;
  acl?: AclCredentials;
  relay: Relay;
  aliases: AliasTable;
  /** Learns aliases from the name server's cluster info (throttled). */
  learnAliases: () => Promise<void>;
  auth: Authenticator;
  metrics: GatewayMetrics;
  log: Logger;
  /** Which session holds each producer client id, gateway-wide. */
  clientIds: ClientIdOwners;
}

interface ClientEntry extends RelayEntry {
  serializeType: SerializeType;
  /** A transaction's half message: its response makes an END_TRANSACTION ticket. */
  half?: HalfSend;
}

function clip(reason: string): string {
  // WebSocket close reasons are at most 123 bytes.
  let r = reason;
  while (Buffer.byteLength(r) > 120) r = r.slice(0, -4) + '…';
  return r;
}

export class ClientSession implements RelayOwner {
  readonly inflight = new Set<ClientEntry>();
  alive = true;
  closed = false;
  private readonly out: Outbound;
  private principal: Principal | undefined;
  private readonly bucket: TokenBucket;
  private preAuthMessages = 0;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private draining = false;
  private authPending = false;
  /** This client's own upstream connections, for what it does as a consumer (created on first use). */
  private upstream: (LinkScope & { aliases: Map<string, string> }) | undefined;
  /** Producer registration and broker callbacks (transactions, request-reply). */
  private readonly producer: ProducerCallbacks;
  /** Requests held until this client's own connections are registered (counted as in flight). */
  private waiting = 0;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly cfg: SessionConfig,
    principal: Principal | undefined,
    private readonly onClosed: (s: ClientSession) => void,
  ) {
    const l = cfg.limits;
    this.bucket = new TokenBucket(l.ratePerSecond, l.rateBurst);
    this.out = new Outbound(ws, l, (why) => this.slowReader(why));
    this.producer = new ProducerCallbacks({
      id,
      principal: () => this.principal!,
      ownLinks: () => this.ownLinks(),
      toClient: (alias, frame, from, to, cmd) => this.brokerRequestToClient(alias, frame, from, to, cmd),
      evict: (why) => {
        this.cfg.log.info({ conn: id, sub: this.principal?.sub }, why);
        this.close(CloseCode.GOING_AWAY, why);
      },
    }, { relay: cfg.relay, limits: l, owners: cfg.clientIds, metrics: cfg.metrics, log: cfg.log, ...(cfg.acl ? { acl: cfg.acl } : {}) });
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | ArrayBuffer | Buffer[], isBinary));
    ws.on('close', () => this.cleanup());
    ws.on('error', () => { /* close follows */ });
    ws.on('pong', () => { this.alive = true; });
    if (principal) this.authenticated(principal);
    else {
      this.authTimer = setTimeout(() => this.refuseConnection(CloseCode.AUTH_TIMEOUT, 'auth_timeout',
        `no token within ${l.authTimeoutMs} ms: send subprotocol "bearer.<token>" or {"type":"auth","token":…} first`), l.authTimeoutMs);
    }
  }

  get sub(): string | undefined {
    return this.principal?.sub;
  }

  /** Graceful shutdown: relay nothing new; close with 1001 once in-flight requests are answered. */
  drain(): void {
    this.draining = true;
    if (this.inflight.size === 0) this.close(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    try { this.ws.close(code, clip(reason)); } catch { this.ws.terminate(); }
    this.cleanup();
  }

  terminate(): void {
    this.ws.terminate();
    this.cleanup();
  }

  ping(): void {
    if (!this.alive) {
      this.cfg.log.debug({ conn: this.id }, 'no pong: terminating dead peer');
      this.terminate();
      return;
    }
    this.alive = false;
    try { this.ws.ping(); } catch { /* closing */ }
  }

  // ---------- RelayOwner ----------

  deliver(entry: RelayEntry, resp: RemotingCommand, frame: Uint8Array): void {
    if (!this.untrack(entry)) return;
    this.cfg.metrics.latency(entry.code, (performance.now() - entry.startedAt) / 1000);
    const half = (entry as ClientEntry).half;
    if (half && entry.link) this.producer.halfSent(entry.link.key, half, resp);
    const route = entry.code === RequestCode.GET_ROUTEINFO_BY_TOPIC;
    // Most answers go back as received, with only the opaque changed (no re-encoding).
    const asReceived = !route && !this.closed && this.ws.readyState === 1 ? envelopeWithOpaque(entry.target, frame, resp.opaque, entry.clientOpaque) : undefined;
    if (asReceived) {
      this.cfg.metrics.frameOut(resp.code);
      this.out.send(asReceived);
      this.settled();
      return;
    }
    resp.opaque = entry.clientOpaque;
    if (route && resp.code === ResponseCode.SUCCESS && resp.body) {
      try {
        resp.body = this.cfg.aliases.rewriteRoute(resp.body);
      } catch (e) {
        this.cfg.log.warn({ err: (e as Error).message }, 'unparseable route from the name server');
        resp = this.responseFor(entry as ClientEntry, ResponseCode.SYSTEM_ERROR, 'the gateway could not parse the route from the name server');
      }
    }
    this.toClient(entry.target, resp);
    this.settled();
  }

  fail(entry: RelayEntry, remark: string): void {
    if (!this.untrack(entry)) return;
    this.toClient(entry.target, this.responseFor(entry as ClientEntry, ResponseCode.SYSTEM_ERROR, remark));
    this.settled();
  }

  /** Forgets an answered or failed request; false when it was not in flight. */
  private untrack(entry: RelayEntry): boolean {
    if (!this.inflight.delete(entry as ClientEntry)) return false;
    this.cfg.admission.removed(this.inflight.size);
    return true;
  }

  private settled(): void {
    if (this.draining && this.inflight.size === 0) this.close(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  // ---------- inbound ----------

  private onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.closed) return;
    this.alive = true;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!this.principal && ++this.preAuthMessages > this.cfg.limits.preAuthMessages) {
      this.refuseConnection(CloseCode.PROTOCOL_VIOLATION, 'pre_auth_flood',
        `more than ${this.cfg.limits.preAuthMessages} messages before authentication`);
      return;
    }
    if (!isBinary) {
      this.onControl(buf);
      return;
    }
    if (!this.principal) {
      this.refuseConnection(CloseCode.UNAUTHORIZED, 'unauthorized', 'authenticate before sending frames');
      return;
    }
    if (this.principal.expiresAt !== undefined && this.principal.expiresAt <= Date.now()) {
      this.refuseConnection(CloseCode.TOKEN_EXPIRED, 'token_expired', 'token expired: reconnect with a fresh token');
      return;
    }
    // One frame, or (FRAMES) several, each relayed under the same checks as a single one.
    const frames = decodeInbound(buf, framesBytes(this.cfg.limits), this.cfg.maxDecodeBytes);
    if (typeof frames === 'string') {
      this.violation(frames);
      return;
    }
    for (const { target, cmd, size, budgetMs } of frames) {
      if (this.draining || this.closed) return; // shutting down: the close that follows makes the client retry elsewhere
      if (isResponse(cmd)) {
        this.onClientResponse(cmd);
        continue;
      }
      this.onRequest(target, cmd, size, budgetMs);
    }
  }

  private onRequest(target: string, cmd: RemotingCommand, size: number, budgetMs: number | undefined): void {
    const cfg = this.cfg;
    const l = cfg.limits;
    cfg.metrics.frameIn(cmd.code);
    if (size > l.maxFrameBytes) {
      this.refuse(target, cmd, { code: ResponseCode.MESSAGE_ILLEGAL, reason: 'oversize',
        remark: `frame of ${size} bytes exceeds this gateway's limit of ${l.maxFrameBytes} bytes; send smaller messages or split the batch` });
      return;
    }
    if (!this.bucket.take()) {
      this.refuse(target, cmd, { code: ResponseCode.SYSTEM_BUSY, reason: 'rate_limit',
        remark: `[RATE_LIMIT] more than ${l.ratePerSecond} requests/s (burst ${l.rateBurst}) on this connection; slow down and retry` });
      return;
    }
    const refused = checkCode(cmd.code, cfg.relayed, cfg.enableConsumer) ?? checkTarget(cmd.code, target);
    if (refused) {
      this.refuse(target, cmd, refused);
      return;
    }
    const checked = checkRequest(cmd, { createTopicKey: cfg.createTopicKey, maxBatchMessages: l.maxBatchMessages });
    if (isRefusal(checked)) {
      this.refuse(target, cmd, checked);
      return;
    }
    const denied = checkTopics(this.principal!, checked, cfg.createTopicKey, cfg.enableConsumer);
    if (denied) {
      this.refuse(target, cmd, denied);
      return;
    }
    if (!isOneway(cmd) && (this.inflight.size + this.waiting >= l.maxInFlightPerConnection || !cfg.admission.admits(this.inflight.size))) {
      this.refuse(target, cmd, { code: ResponseCode.SYSTEM_BUSY, reason: 'in_flight',
        remark: this.inflight.size >= l.maxInFlightPerConnection
          ? `[TOO_MANY_REQUESTS] ${this.inflight.size} requests already in flight on this connection (limit ${l.maxInFlightPerConnection}); wait for responses`
          : `[TOO_MANY_REQUESTS] the gateway is busy and this connection has its fair share (${this.inflight.size}) of requests in flight; wait for responses` });
      return;
    }
    if (target === NAMESRV_TARGET) {
      this.forward(target, NAMESRV_TARGET, cmd, budgetMs, false);
      return;
    }
    const addr = cfg.aliases.resolve(target);
    if (addr) {
      this.toBroker(target, addr, checked, budgetMs);
      return;
    }
    // Perhaps aliases issued before a gateway restart: learn the cluster's brokers, then decide.
    cfg.learnAliases().catch(() => {}).then(() => {
      if (this.closed) return;
      const later = cfg.aliases.resolve(target);
      if (later) this.toBroker(target, later, checked, budgetMs);
      else {
        this.refuse(target, cmd, { code: ResponseCode.NO_PERMISSION, reason: 'unknown_alias',
          remark: `unknown broker alias "${target}": targets must be broker aliases from a route response of this gateway; refresh the topic route` });
      }
    });
  }

  /** How long the client still waits for this request: its own budget when it sent one, else the gateway's default. */
  private deadline(cmd: RemotingCommand, budgetMs: number | undefined): number {
    const l = this.cfg.limits;
    let ms = budgetMs || l.requestBudgetMs;
    if (!budgetMs && cmd.code === RequestCode.PULL_MESSAGE) {
      // A long poll is held for its suspend time: that is not a stuck request.
      ms = Number(cmd.extFields?.suspendTimeoutMillis ?? 0) + PULL_BUDGET_GRACE_MS;
    }
    return performance.now() + Math.min(ms, l.maxRequestBudgetMs);
  }

  /**
   * A checked request for broker `key`: consumer requests over this client's own connection,
   * producer requests where callbacks.ts says (shared connection, own connection, or answered here).
   */
  private toBroker(target: string, key: string, checked: CheckedRequest, budgetMs: number | undefined): void {
    const cmd = checked.cmd;
    if (isConsumerCode(cmd.code)) {
      this.forward(target, key, cmd, budgetMs, true);
      return;
    }
    let half: HalfSend | undefined;
    const via = this.producer.route(target, key, checked, (h) => { half = h; });
    const go = (v: Via | Refusal): void => {
      if (this.closed) return;
      if (typeof v !== 'string') this.refuse(target, cmd, v);
      else if (v === 'answered') { if (!isOneway(cmd)) this.toClient(target, createResponse(cmd, ResponseCode.SUCCESS)); }
      else this.forward(target, key, cmd, budgetMs, v === 'own', half);
    };
    if (!(via instanceof Promise)) {
      go(via);
      return;
    }
    this.waiting++;
    void via.then((v) => { this.waiting--; go(v); });
  }

  /** `own`: over this client's own connection to the broker (consumer requests), else over the shared one. */
  private forward(target: string, key: string, cmd: RemotingCommand, budgetMs: number | undefined, own: boolean, half?: HalfSend): void {
    const cfg = this.cfg;
    const scope = own ? this.ownLinks() : undefined;
    if (scope && !scope.links.has(key) && cfg.relay.dedicatedCount >= cfg.limits.maxConsumerLinks) {
      this.refuse(target, cmd, { code: ResponseCode.SYSTEM_BUSY, reason: 'consumer_links',
        remark: `[TOO_MANY_REQUESTS] the gateway has ${cfg.limits.maxConsumerLinks} consumer connections to brokers open (maxConsumerLinks); retry later` });
      return;
    }
    scope?.aliases.set(key, target);
    if (cfg.acl) signRequest(cmd, cfg.acl);
    const now = performance.now();
    const entry: ClientEntry | undefined = isOneway(cmd) ? undefined : {
      owner: this, clientOpaque: cmd.opaque, target, code: cmd.code, serializeType: cmd.serializeType,
      startedAt: now, deadline: this.deadline(cmd, budgetMs), ...(half ? { half } : {}),
    };
    if (entry) {
      this.inflight.add(entry);
      cfg.admission.added(this.inflight.size);
    }
    try {
      cfg.relay.send(key, cmd, entry, scope);
    } catch (e) {
      if (entry) this.fail(entry, `upstream ${key === NAMESRV_TARGET ? 'name server' : `broker ${target}`} unavailable (${(e as Error).message})`);
    }
  }

  private ownLinks(): LinkScope & { aliases: Map<string, string> } {
    return this.upstream ??= {
      links: new Map<string, Link>(),
      aliases: new Map<string, string>(),
      onRequest: (key, cmd, frame, link) => this.fromBroker(key, cmd, frame, link),
    };
  }

  /**
   * A request the broker sent over this client's own connection: NOTIFY_CONSUMER_IDS_CHANGED goes to
   * the client under the broker's alias (core's consumer rebalances on it, as over TCP); nothing
   * else is relayed (it is oneway: no answer is owed), except what callbacks.ts relays to producers.
   */
  private fromBroker(key: string, cmd: RemotingCommand, frame: Uint8Array, link: Link): void {
    const alias = this.upstream?.aliases.get(key);
    if (alias && !this.closed && this.producer.fromBroker(key, link, alias, cmd, frame)) return;
    if (cmd.code !== RequestCode.NOTIFY_CONSUMER_IDS_CHANGED || !isOneway(cmd) || !alias || this.closed || this.ws.readyState !== 1) return;
    this.cfg.metrics.frameOut(cmd.code);
    this.out.send(encodeEnvelope(alias, frame));
  }

  /** A broker's request relayed to this client under `alias`, its opaque `from` replaced by `to`. */
  private brokerRequestToClient(alias: string, frame: Uint8Array, from: number, to: number, cmd: RemotingCommand): void {
    if (this.closed || this.ws.readyState !== 1) return;
    this.cfg.metrics.frameOut(cmd.code);
    const asReceived = envelopeWithOpaque(alias, frame, from, to);
    if (asReceived) this.out.send(asReceived);
    else {
      cmd.opaque = to;
      const room = 2 + targetBytes(alias).length;
      this.out.send(encodeEnvelope(alias, encodeCommand(cmd, room, Buffer.allocUnsafe), room));
    }
  }

  /**
   * A response from the client: its answer to a broker request relayed to it (a reply push). An
   * answer to an opaque the gateway never gave this client is a protocol violation; a late one
   * (already answered or timed out) is dropped. Answers share the request rate budget.
   */
  private onClientResponse(cmd: RemotingCommand): void {
    if (!this.bucket.take()) {
      this.cfg.metrics.refused('rate_limit');
      return;
    }
    const r = this.producer.fromClient(cmd);
    if (r === 'unknown') this.violation(`response with opaque ${cmd.opaque} answers no request the gateway relayed to this client`);
    else if (r === 'late') this.cfg.metrics.refused('late_response');
  }

  // ---------- control ----------

  private onControl(buf: Buffer): void {
    const msg = parseControl(buf);
    if (typeof msg === 'string') {
      this.violation(msg);
      return;
    }
    switch (msg.type) {
      case 'ping':
        // Pings share the request budget: a flood of them is answered no faster than requests.
        if (this.principal && !this.bucket.take()) return;
        this.sendControl({ type: 'pong', id: msg.id });
        return;
      case 'pong':
        return;
      case 'hello':
        // The client reads FRAMES (it answers a hello that offered them): its answers coalesce.
        // A gateway pinned to version 2 never offered them: a violation, as it always was.
        if (msg.version >= FRAMES_VERSION && framesBytes(this.cfg.limits)) this.out.coalesce(framesBytes(this.cfg.limits));
        else this.violation('control message type hello is sent by the gateway, not by clients');
        return;
      case 'auth':
        if (this.principal || this.authPending) return;
        this.authPending = true;
        this.cfg.auth.verify(msg.token).then(
          (p) => { if (!this.closed) this.authenticated(p); },
          (e: Error) => this.refuseConnection(CloseCode.UNAUTHORIZED, 'unauthorized', e.message),
        );
        return;
      default:
        this.violation(`control message type ${msg.type} is sent by the gateway, not by clients`);
    }
  }

  private authenticated(p: Principal): void {
    clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.principal = p;
    if (p.expiresAt !== undefined) {
      const ms = p.expiresAt - Date.now();
      if (ms <= 0) {
        this.refuseConnection(CloseCode.TOKEN_EXPIRED, 'token_expired', 'token expired: reconnect with a fresh token');
        return;
      }
      if (ms < 0x7fffffff) {
        this.expiryTimer = setTimeout(() => this.refuseConnection(CloseCode.TOKEN_EXPIRED, 'token_expired',
          'token expired: reconnect with a fresh token'), ms);
      }
    }
    this.cfg.metrics.connections.inc();
    const frames = framesBytes(this.cfg.limits);
    this.sendControl({
      type: 'hello', version: this.cfg.limits.wireVersion, sub: p.sub, maxFrameBytes: this.cfg.limits.maxFrameBytes,
      ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
      ...(frames ? { frames } : {}),
    });
  }

  // ---------- outbound ----------

  private responseFor(entry: ClientEntry, code: number, remark: string): RemotingCommand {
    const r = createResponse({ opaque: entry.clientOpaque, serializeType: entry.serializeType } as RemotingCommand, code, remark);
    return r;
  }

  private refuse(target: string, cmd: RemotingCommand, r: Refusal): void {
    this.cfg.metrics.refused(r.reason);
    this.cfg.log.debug({ conn: this.id, sub: this.principal?.sub, code: cmd.code, reason: r.reason }, r.remark);
    if (isOneway(cmd)) return; // oneway frames never get a response
    this.toClient(target, createResponse(cmd, r.code, r.remark));
  }

  private toClient(target: string, cmd: RemotingCommand): void {
    if (this.closed || this.ws.readyState !== 1) return;
    this.cfg.metrics.frameOut(cmd.code);
    // Encoded once, with room for the envelope in front (written in place, no copy).
    const room = 2 + targetBytes(target).length;
    this.out.send(encodeEnvelope(target, encodeCommand(cmd, room, Buffer.allocUnsafe), room));
  }

  private slowReader(why: string): void {
    this.refuseConnection(CloseCode.SLOW_READER, 'slow_reader', why);
    // A client that does not read will not read the close frame either: let go of it soon.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  private sendControl(msg: ControlMessage): void {
    if (this.closed || this.ws.readyState !== 1) return;
    this.ws.send(JSON.stringify(msg));
  }

  private violation(why: string): void {
    this.refuseConnection(CloseCode.PROTOCOL_VIOLATION, 'protocol', why);
  }

  private refuseConnection(code: number, reason: RefusalReason, why: string): void {
    if (this.closed) return;
    this.cfg.metrics.refused(reason);
    this.cfg.log.info({ conn: this.id, sub: this.principal?.sub, closeCode: code, reason: why }, 'closing client connection');
    this.close(code, why);
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    for (const e of this.inflight) {
      this.cfg.relay.drop(e);
      this.untrack(e);
    }
    this.producer.close();
    // The broker sees this client's connections close: it drops its consumer members (the others
    // are told), its producer registrations and its parked pulls, instead of holding them for a
    // client that is gone.
    if (this.upstream) this.cfg.relay.closeScope(this.upstream);
    if (this.principal) this.cfg.metrics.connections.dec();
    this.onClosed(this);
  }
}
