// One client WebSocket: authentication state, per-frame checks, relay to the upstream pool,
// opaque remapping back. Deny by default; every refused request gets a remoting response.
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  RequestCode,
  ResponseCode,
  createResponse,
  decodeCommand,
  encodeCommand,
  isOneway,
  isResponse,
  nameOfCode,
  writeBatcher,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { CloseCode, decodeEnvelope, encodeEnvelope, type ControlMessage } from '@rocketmq-edge/transport-ws/envelope';
import { hasAclFields, signRequest, stripAclFields, type AclCredentials } from './acl.js';
import type { AliasTable } from './aliases.js';
import type { Authenticator, Principal } from './auth.js';
import type { GatewayMetrics, RefusalReason } from './metrics.js';
import type { PendingEntry, PendingOwner, UpstreamPool } from './upstream.js';
import { envelopeWithOpaque, peekRequest, type FramePeek } from './fastframe.js';

const utf8e = new TextEncoder();
const targetCache = new Map<string, Uint8Array>();
function targetBytes(target: string): Uint8Array {
  let b = targetCache.get(target);
  if (!b) {
    b = utf8e.encode(target);
    if (targetCache.size < 4096) targetCache.set(target, b);
  }
  return b;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Codes that only administrators send: never relayed, whatever allowedCodes says. */
export const ADMIN_CODES: ReadonlySet<number> = new Set([
  17, 18, 21, 25, 26, 28, 43, 45, 50, 51, 52, 53, 100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 205, 206, 207, 208,
  215, 216, 217, 219, 222, 223, 224, 300, 304, 305, 318, 319, 321, 322, 323, 327, 328, 329,
]);
/** What a producer needs (the default allowlist). */
export const PRODUCER_CODES: readonly number[] = [
  RequestCode.GET_ROUTEINFO_BY_TOPIC, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_MESSAGE,
  RequestCode.SEND_BATCH_MESSAGE, RequestCode.HEART_BEAT, RequestCode.UNREGISTER_CLIENT,
];
/** Added by enableConsumer. */
export const CONSUMER_CODES: readonly number[] = [
  RequestCode.PULL_MESSAGE, RequestCode.QUERY_CONSUMER_OFFSET, RequestCode.UPDATE_CONSUMER_OFFSET,
  RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, RequestCode.GET_MAX_OFFSET, RequestCode.GET_MIN_OFFSET,
  RequestCode.CONSUMER_SEND_MSG_BACK, RequestCode.GET_CONSUMER_LIST_BY_GROUP, RequestCode.LOCK_BATCH_MQ,
  RequestCode.UNLOCK_BATCH_MQ, RequestCode.CHECK_CLIENT_CONFIG,
];
/** Codes that go to the name server; everything else goes to a broker alias. */
export const NAMESRV_CODES: ReadonlySet<number> = new Set([RequestCode.GET_ROUTEINFO_BY_TOPIC, RequestCode.GET_BROKER_CLUSTER_INFO]);

const SEND_V1 = new Set<number>([RequestCode.SEND_MESSAGE]);
const SEND_V2 = new Set<number>([RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE]);
const SYSTEM_TOPIC = /^(TBW102|SCHEDULE_TOPIC_XXXX|RMQ_SYS_.*|rmq_sys_.*|BenchmarkTest|OFFSET_MOVED_EVENT|SELF_TEST_TOPIC)$/;

export interface SessionConfig {
  allowedCodes: ReadonlySet<number>;
  enableConsumer: boolean;
  maxFrameBytes: number;
  maxInFlight: number;
  ratePerSecond: number;
  rateBurst: number;
  authTimeoutMs: number;
  createTopicKey: string;
  acl?: AclCredentials;
  pool: UpstreamPool;
  aliases: AliasTable;
  /** Learns aliases from the name server's cluster info (throttled). */
  learnAliases: () => Promise<void>;
  auth: Authenticator;
  metrics: GatewayMetrics;
  log: Logger;
  maxDecodeBytes: number;
}

const utf8d = new TextDecoder();

function clip(reason: string): string {
  // WebSocket close reasons are at most 123 bytes.
  let r = reason;
  while (Buffer.byteLength(r) > 120) r = r.slice(0, -4) + '…';
  return r;
}

export class ClientSession implements PendingOwner {
  readonly inflight = new Set<PendingEntry>();
  alive = true;
  closed = false;
  private beforeWrite: (() => void) | undefined;
  private principal: Principal | undefined;
  private tokens: number;
  private lastRefill = performance.now();
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private draining = false;
  private authPending = false;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly cfg: SessionConfig,
    principal: Principal | undefined,
    private readonly onClosed: (s: ClientSession) => void,
  ) {
    this.tokens = cfg.rateBurst;
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | ArrayBuffer | Buffer[], isBinary));
    ws.on('close', () => this.cleanup());
    ws.on('error', () => { /* close follows */ });
    ws.on('pong', () => { this.alive = true; });
    if (principal) this.authenticated(principal);
    else {
      this.authTimer = setTimeout(() => this.refuseConnection(CloseCode.AUTH_TIMEOUT, 'auth_timeout',
        `no token within ${cfg.authTimeoutMs} ms: send subprotocol "bearer.<token>" or {"type":"auth","token":…} first`), cfg.authTimeoutMs);
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

  // ---------- PendingOwner ----------

  deliver(entry: PendingEntry, resp: RemotingCommand): void {
    if (!this.inflight.delete(entry)) return;
    this.cfg.metrics.latency(entry.code, (performance.now() - entry.startedAt) / 1000);
    resp.opaque = entry.clientOpaque;
    if (entry.code === RequestCode.GET_ROUTEINFO_BY_TOPIC && resp.code === ResponseCode.SUCCESS && resp.body) {
      try {
        resp.body = this.cfg.aliases.rewriteRoute(resp.body);
      } catch (e) {
        this.cfg.log.warn({ err: (e as Error).message }, 'unparseable route from the name server');
        resp = this.responseFor(entry, ResponseCode.SYSTEM_ERROR, 'the gateway could not parse the route from the name server');
      }
    }
    this.toClient(entry.target, resp);
    if (this.draining && this.inflight.size === 0) this.close(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  deliverRaw(entry: PendingEntry, frame: Uint8Array, peek: FramePeek): void {
    if (!this.inflight.delete(entry)) return;
    this.cfg.metrics.latency(entry.code, (performance.now() - entry.startedAt) / 1000);
    if (!this.closed && this.ws.readyState === 1) {
      this.cfg.metrics.frameOut(peek.code);
      this.send(envelopeWithOpaque(targetBytes(entry.target), frame, peek, entry.clientOpaque));
    }
    if (this.draining && this.inflight.size === 0) this.close(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  fail(entry: PendingEntry, remark: string): void {
    if (!this.inflight.delete(entry)) return;
    this.toClient(entry.target, this.responseFor(entry, ResponseCode.SYSTEM_ERROR, remark));
    if (this.draining && this.inflight.size === 0) this.close(CloseCode.GOING_AWAY, 'gateway shutting down');
  }

  // ---------- inbound ----------

  private onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.closed) return;
    this.alive = true;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
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
    let target: string;
    let frame: Uint8Array;
    try {
      ({ target, frame } = decodeEnvelope(buf));
    } catch (e) {
      this.violation(`bad envelope: ${(e as Error).message}`);
      return;
    }
    let cmd: RemotingCommand;
    try {
      cmd = decodeCommand(frame, { maxFrameSize: this.cfg.maxDecodeBytes });
    } catch (e) {
      this.violation(`undecodable remoting frame: ${(e as Error).message}`);
      return;
    }
    if (this.draining) return; // shutting down: the close that follows makes the client retry elsewhere
    if (isResponse(cmd)) return; // broker-initiated requests are not relayed, so there is nothing to answer
    this.onRequest(target, cmd, frame);
  }

  private onRequest(target: string, cmd: RemotingCommand, frame: Uint8Array): void {
    const cfg = this.cfg;
    const code = cmd.code;
    const size = frame.length;
    cfg.metrics.frameIn(code);
    if (size > cfg.maxFrameBytes) {
      this.refuse(target, cmd, ResponseCode.MESSAGE_ILLEGAL, 'oversize',
        `frame of ${size} bytes exceeds this gateway's limit of ${cfg.maxFrameBytes} bytes; send smaller messages or split the batch`);
      return;
    }
    if (!this.takeToken()) {
      this.refuse(target, cmd, ResponseCode.SYSTEM_BUSY, 'rate_limit',
        `[RATE_LIMIT] more than ${cfg.ratePerSecond} requests/s (burst ${cfg.rateBurst}) on this connection; slow down and retry`);
      return;
    }
    if (ADMIN_CODES.has(code)) {
      this.refuse(target, cmd, ResponseCode.NO_PERMISSION, 'admin_code',
        `request code ${ClientSession.codeName(code)} is an admin operation; the gateway never relays admin requests (use the RocketMQ admin tools on the cluster)`);
      return;
    }
    if (!cfg.allowedCodes.has(code)) {
      const consumer = CONSUMER_CODES.includes(code) && !cfg.enableConsumer;
      this.refuse(target, cmd, ResponseCode.NO_PERMISSION, consumer ? 'consumer_disabled' : 'code_not_allowed', consumer
        ? `request code ${ClientSession.codeName(code)} is a consumer request; this gateway relays producer requests only (start it with enableConsumer)`
        : `request code ${ClientSession.codeName(code)} is not allowed through this gateway`);
      return;
    }
    const topicProblem = this.checkTopic(cmd);
    if (topicProblem) {
      this.refuse(target, cmd, ResponseCode.NO_PERMISSION, topicProblem[0], topicProblem[1]);
      return;
    }
    const toNamesrv = NAMESRV_CODES.has(code);
    if (toNamesrv !== (target === NAMESRV_TARGET)) {
      this.refuse(target, cmd, ResponseCode.NO_PERMISSION, 'bad_target', toNamesrv
        ? `request code ${ClientSession.codeName(code)} goes to the name server (target "${NAMESRV_TARGET}"), not to "${target}"`
        : `request code ${ClientSession.codeName(code)} goes to a broker alias from a route response, not to the name server`);
      return;
    }
    if (!isOneway(cmd) && this.inflight.size >= cfg.maxInFlight) {
      this.refuse(target, cmd, ResponseCode.SYSTEM_BUSY, 'in_flight',
        `[TOO_MANY_REQUESTS] ${this.inflight.size} requests already in flight on this connection (limit ${cfg.maxInFlight}); wait for responses`);
      return;
    }
    if (toNamesrv) {
      this.forward(target, undefined, cmd);
      return;
    }
    const addr = cfg.aliases.resolve(target);
    if (addr) {
      this.forward(target, addr, cmd, frame);
      return;
    }
    // Perhaps aliases issued before a gateway restart: learn the cluster's brokers, then decide.
    cfg.learnAliases().catch(() => {}).then(() => {
      if (this.closed) return;
      const later = cfg.aliases.resolve(target);
      if (later) this.forward(target, later, cmd);
      else {
        this.refuse(target, cmd, ResponseCode.NO_PERMISSION, 'unknown_alias',
          `unknown broker alias "${target}": targets must be broker aliases from a route response of this gateway; refresh the topic route`);
      }
    });
  }

  private static codeName(code: number): string {
    return `${code} (${nameOfCode(RequestCode, code)})`;
  }

  private checkTopic(cmd: RemotingCommand): [RefusalReason, string] | undefined {
    const p = this.principal!;
    const ext = cmd.extFields ?? {};
    const code = cmd.code;
    let topic: string | undefined;
    if (code === RequestCode.GET_ROUTEINFO_BY_TOPIC) {
      topic = ext.topic;
      if (topic === undefined) return ['topic_not_allowed', 'route request without a topic'];
      if (topic === this.cfg.createTopicKey) return undefined; // default-topic route for auto-created topics
    } else if (SEND_V2.has(code)) {
      topic = ext.b;
    } else if (SEND_V1.has(code)) {
      topic = ext.topic;
    } else if (code === RequestCode.HEART_BEAT) {
      if (!this.cfg.enableConsumer && cmd.body && cmd.body.length) {
        try {
          const hb = JSON.parse(utf8d.decode(cmd.body)) as { consumerDataSet?: unknown[] };
          if (Array.isArray(hb.consumerDataSet) && hb.consumerDataSet.length > 0) {
            return ['consumer_disabled', 'heartbeat registers consumer groups; this gateway relays producers only'];
          }
        } catch {
          return ['code_not_allowed', 'heartbeat body is not JSON'];
        }
      }
      return undefined;
    } else if (code === RequestCode.UNREGISTER_CLIENT) {
      return undefined;
    } else {
      topic = ext.topic; // consumer codes (when enabled)
      if (topic === undefined) return undefined;
    }
    if (topic === undefined || topic === '') return ['topic_not_allowed', `request code ${code} without a topic`];
    if (code !== RequestCode.GET_ROUTEINFO_BY_TOPIC && SYSTEM_TOPIC.test(topic)) {
      return ['topic_not_allowed', `topic "${topic}" is a system topic; clients may not send to it`];
    }
    if (!p.mayUseTopic(topic)) {
      return ['topic_not_allowed',
        `token of "${p.sub}" may not use topic "${topic}" (allowed: ${p.topics.join(', ')}); ask for a token whose "topics" claim covers it`];
    }
    return undefined;
  }

  private forward(target: string, brokerAddr: string | undefined, cmd: RemotingCommand, frame?: Uint8Array): void {
    const cfg = this.cfg;
    // Unmodified requests are relayed as they came, with only the opaque patched (no re-encoding).
    let raw: { frame: Uint8Array; peek: FramePeek } | undefined;
    if (frame && !cfg.acl && !hasAclFields(cmd)) {
      const key = SEND_V2.has(cmd.code) ? 'b' : cmd.extFields && 'topic' in cmd.extFields ? 'topic' : undefined;
      const peek = peekRequest(frame, cmd.opaque, key);
      if (peek) raw = { frame, peek };
    }
    if (!raw) {
      stripAclFields(cmd);
      if (cfg.acl) signRequest(cmd, cfg.acl);
    }
    const oneway = isOneway(cmd);
    const entry: PendingEntry | undefined = oneway ? undefined : {
      owner: this, clientOpaque: cmd.opaque, target, code: cmd.code, request: cmd, startedAt: performance.now(), tries: 0,
    };
    if (entry) this.inflight.add(entry);
    try {
      if (brokerAddr) cfg.pool.sendBroker(brokerAddr, cmd, entry, raw);
      else cfg.pool.sendNamesrv(cmd, entry);
    } catch (e) {
      if (entry) this.fail(entry, `upstream ${brokerAddr ? `broker ${target}` : 'name server'} unavailable (${(e as Error).message})`);
    }
  }

  // ---------- control ----------

  private onControl(buf: Buffer): void {
    let msg: ControlMessage;
    try {
      msg = JSON.parse(buf.toString('utf8')) as ControlMessage;
    } catch {
      this.violation('text messages are control messages (JSON); data goes in binary messages');
      return;
    }
    if (!msg || typeof msg !== 'object') {
      this.violation('control message is not a JSON object');
      return;
    }
    switch (msg.type) {
      case 'ping':
        this.sendControl({ type: 'pong', id: typeof msg.id === 'number' ? msg.id : 0 });
        return;
      case 'pong':
        return;
      case 'auth':
        if (this.principal || this.authPending) return;
        if (typeof msg.token !== 'string') {
          this.refuseConnection(CloseCode.UNAUTHORIZED, 'unauthorized', 'auth message without a token');
          return;
        }
        this.authPending = true;
        this.cfg.auth.verify(msg.token).then(
          (p) => { if (!this.closed) this.authenticated(p); },
          (e: Error) => this.refuseConnection(CloseCode.UNAUTHORIZED, 'unauthorized', e.message),
        );
        return;
      default:
        this.violation(`unknown control message type ${JSON.stringify(String((msg as { type?: unknown }).type)).slice(0, 40)}`);
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
    this.sendControl({
      type: 'hello', version: 1, sub: p.sub, maxFrameBytes: this.cfg.maxFrameBytes,
      ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
    });
  }

  // ---------- outbound ----------

  private responseFor(entry: PendingEntry, code: number, remark: string): RemotingCommand {
    const r = createResponse(entry.request, code, remark);
    r.opaque = entry.clientOpaque;
    return r;
  }

  private refuse(target: string, cmd: RemotingCommand, code: number, reason: RefusalReason, remark: string): void {
    this.cfg.metrics.refused(reason);
    this.cfg.log.debug({ conn: this.id, sub: this.principal?.sub, code: cmd.code, reason }, remark);
    if (isOneway(cmd)) return; // oneway frames never get a response
    this.toClient(target, createResponse(cmd, code, remark));
  }

  private toClient(target: string, cmd: RemotingCommand): void {
    if (this.closed || this.ws.readyState !== 1) return;
    this.cfg.metrics.frameOut(cmd.code);
    this.send(encodeEnvelope(target, encodeCommand(cmd)));
  }

  /** Sends a binary message; writes of one tick leave in few syscalls (see writeBatcher). */
  private send(bytes: Uint8Array): void {
    if (!this.beforeWrite) {
      const sock = (this.ws as unknown as { _socket?: Writable })._socket;
      if (sock) this.beforeWrite = writeBatcher(sock, process.nextTick);
    }
    this.beforeWrite?.();
    this.ws.send(bytes);
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

  private takeToken(): boolean {
    const now = performance.now();
    const rate = this.cfg.ratePerSecond;
    this.tokens = Math.min(this.cfg.rateBurst, this.tokens + ((now - this.lastRefill) * rate) / 1000);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    for (const e of this.inflight) e.conn?.drop(e);
    this.inflight.clear();
    if (this.principal) this.cfg.metrics.connections.dec();
    this.onClosed(this);
  }
}
