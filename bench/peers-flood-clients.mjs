// Floods a rocketmq-edge gateway from N WebSocket connections that never read what it sends back
// (for the gateway-flood-* cases of bench/ws.ts). Loopback only.
//   node bench/peers-flood-clients.mjs --url ws://127.0.0.1:PORT/rmq --mode send|ping-auth|ping-unauth
//        [--token T]       bearer token (send, ping-auth; ping-unauth connects without one)
//        [--topic T]       send: an existing topic the token may use (its route is looked up once)
//        [--count 100]     connections
//        [--max-ms 10000]  hard bound on the flood if no STOP line comes
//        [--max-sent 20000000] and on the messages sent, all connections together
//        [--drain-ms 2000] how long to read afterwards to learn close codes
//        [--size 1024]     send: body bytes
// Modes: send = SEND_MESSAGE_V2 requests (binary envelopes, as WebSocketTransport sends them);
// ping-auth / ping-unauth = text {"type":"ping","id":1} control messages.
// stdio: opens every connection (authenticated ones wait for their hello), pauses each socket
// (ws.pause(): from then on nothing is read, so the gateway's replies back up), prints
// "READY <open> <failed>", waits for a "GO" line on stdin, then writes as fast as each socket's
// write buffer drains until a "STOP" line (or --max-ms, or --max-sent). Then it resumes reading for up to
// --drain-ms, so close frames the gateway queued behind its backlog arrive, prints one JSON line
//   {"sent":…,"sent_mb":…,"flood_ms":…,"closed":{"<code>":n},"closed_while_flooding":n,"open_at_end":n,"drained_mb":…}
// and exits. A connection the gateway dropped without a close frame shows as 1006 (seen while
// flooding through a failed write). Exits at once when stdin ends.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { RequestCode, createRequest, decodeCommand, encodeCommand, encodeProperties } from '@rocketmq-edge/core/internal';
import { BEARER_PREFIX, SUBPROTOCOL, decodeEnvelope, encodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';

const require = createRequire(new URL('../packages/gateway/package.json', import.meta.url));
const WebSocket = require('ws');
const arg = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : d; };
const url = arg('--url');
const mode = arg('--mode', 'send');
const token = arg('--token');
const topic = arg('--topic', 'BenchFlood');
const count = Number(arg('--count', '100'));
const maxMs = Number(arg('--max-ms', '10000'));
const maxSent = Number(arg('--max-sent', '20000000'));
const drainMs = Number(arg('--drain-ms', '2000'));
const size = Number(arg('--size', '1024'));
if (!/^ws:\/\/127\.0\.0\.1:\d+\//.test(url ?? '')) throw new Error('--url must be ws://127.0.0.1:PORT/… (loopback only)');
if (!['send', 'ping-auth', 'ping-unauth'].includes(mode)) throw new Error(`unknown --mode ${mode}`);
const auth = mode !== 'ping-unauth';

/** Bytes a connection may have queued in its own write buffer before it waits for 'drain'. */
const HIGH_WATER = 256 * 1024;
/** Bytes written per turn of the event loop and connection. */
const BATCH_BYTES = 64 * 1024;

/** Opens one connection; resolves once it may flood (hello received, or open when unauthenticated), or undefined. */
function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, auth ? [SUBPROTOCOL, `${BEARER_PREFIX}${token}`] : [SUBPROTOCOL], { perMessageDeflate: false });
    const c = { ws, closeCode: undefined, closedWhileFlooding: false, waiting: false, n: 0 };
    let settled = false;
    const settle = (ok) => { if (!settled) { settled = true; resolve(ok ? c : undefined); } };
    ws.on('error', () => {});
    ws.on('close', (code) => {
      settle(false);
      if (selfClosing) return;
      c.closeCode = code;
      c.closedWhileFlooding = flooding;
    });
    if (auth) ws.on('message', (d, binary) => { if (!binary && !settled && String(d).includes('"hello"')) settle(true); });
    else ws.once('open', () => settle(true));
  });
}

/** The route of --topic through the gateway: the broker alias to send to, its name and write queue count. */
async function lookUpRoute(ws) {
  const req = createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
  req.opaque = 1;
  const reply = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no route response within 5 s')), 5000);
    const onMessage = (d, binary) => {
      if (!binary) return;
      clearTimeout(t);
      ws.off('message', onMessage);
      resolve(decodeCommand(decodeEnvelope(new Uint8Array(d)).frame));
    };
    ws.on('message', onMessage);
  });
  ws.send(encodeEnvelope(NAMESRV_TARGET, encodeCommand(req)));
  const res = await reply;
  if (res.code !== 0 || !res.body) throw new Error(`route of ${topic}: code ${res.code} ${res.remark ?? ''}`);
  const route = JSON.parse(new TextDecoder().decode(res.body));
  const bd = route.brokerDatas[0];
  const alias = bd.brokerAddrs['0'] ?? Object.values(bd.brokerAddrs)[0];
  const queues = route.queueDatas.find((q) => q.brokerName === bd.brokerName)?.writeQueueNums ?? 1;
  return { alias, brokerName: bd.brokerName, queues };
}

/** The messages a connection cycles through: 16 SEND_MESSAGE_V2 envelopes (distinct opaques, queues, bodies), or one ping. */
function messages(route) {
  if (mode !== 'send') return [Buffer.from('{"type":"ping","id":1}')];
  return Array.from({ length: 16 }, (_, i) => {
    const req = createRequest(RequestCode.SEND_MESSAGE_V2, {
      a: 'bench_flood', b: topic, c: 'TBW102', d: '4', e: String(i % route.queues), f: '0', g: String(Date.now()), h: '0',
      i: encodeProperties({ WAIT: 'true' }), j: '0', k: 'false', m: 'false', n: route.brokerName,
    }, { body: randomBytes(size) });
    req.opaque = 1000 + i;
    return Buffer.from(encodeEnvelope(route.alias, encodeCommand(req)));
  });
}

let flooding = false;
let selfClosing = false;
let sent = 0;
let sentBytes = 0;
let floodStart = 0;
let floodMs = 0;

const conns = [];
let failed = 0;
for (let i = 0; i < count; i += 100) {
  for (const c of await Promise.all(Array.from({ length: Math.min(100, count - i) }, open))) {
    if (c) conns.push(c);
    else failed++;
  }
}
if (conns.length === 0) throw new Error(`no connection to ${url} got ready (${failed} failed)`);
const msgs = messages(mode === 'send' ? await lookUpRoute(conns[0].ws) : undefined);
const binary = mode === 'send';
for (const c of conns) c.ws.pause();
process.stdout.write(`READY ${conns.length} ${failed}\n`);

/**
 * Writes a batch of up to BATCH_BYTES in one corked write, then continues on the next turn of the
 * event loop, or on 'drain' once the connection's own buffer holds HIGH_WATER bytes (the gateway
 * stopped reading). Batches keep this process responsive (STOP) and its syscalls few.
 */
function pump(c) {
  c.waiting = false;
  const { ws } = c;
  if (!flooding || ws.readyState !== WebSocket.OPEN) return;
  const sock = ws._socket;
  sock.cork();
  for (let bytes = 0; bytes < BATCH_BYTES && sent < maxSent && ws.bufferedAmount < HIGH_WATER;) {
    const m = msgs[c.n++ & (msgs.length - 1)];
    ws.send(m, { binary });
    sent++;
    bytes += m.length;
    sentBytes += m.length;
  }
  sock.uncork();
  if (sent >= maxSent) void stop();
  else if (ws.bufferedAmount >= HIGH_WATER) {
    c.waiting = true;
    sock.once('drain', () => pump(c));
  } else setImmediate(pump, c);
}

let hardStop;
function go() {
  if (flooding || floodStart) return;
  flooding = true;
  floodStart = performance.now();
  for (const c of conns) pump(c);
  hardStop = setTimeout(stop, maxMs);
}

async function stop() {
  if (!flooding) return;
  flooding = false;
  clearTimeout(hardStop);
  floodMs = performance.now() - floodStart;
  let drained = 0;
  for (const c of conns) {
    if (c.closeCode !== undefined) continue;
    c.ws._socket.on('data', (d) => { drained += d.length; });
    c.ws.resume();
  }
  const end = performance.now() + drainMs;
  while (performance.now() < end && conns.some((c) => c.closeCode === undefined)) await new Promise((r) => setTimeout(r, 20));
  const closed = {};
  for (const c of conns) if (c.closeCode !== undefined) closed[c.closeCode] = (closed[c.closeCode] ?? 0) + 1;
  const result = {
    sent,
    sent_mb: Math.round(sentBytes / 104857.6) / 10,
    flood_ms: Math.round(floodMs),
    closed,
    closed_while_flooding: conns.filter((c) => c.closedWhileFlooding).length,
    open_at_end: conns.filter((c) => c.closeCode === undefined).length,
    drained_mb: Math.round(drained / 104857.6) / 10,
  };
  selfClosing = true;
  for (const c of conns) c.ws.terminate();
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

let input = '';
process.stdin.on('data', (d) => {
  input += d;
  if (/^GO$/m.test(input)) go();
  if (/^STOP$/m.test(input)) void stop();
});
process.stdin.on('end', () => { selfClosing = true; for (const c of conns) c.ws.terminate(); process.exit(0); });
