// The demo page: publish events from the browser to RocketMQ through the gateway and show every
// SendResult live. Plain DOM, no framework. Built by scripts/build.mjs, where the import below
// becomes `./rocketmq-edge.js` (the one browser bundle).
import { Producer, WebSocketTransport } from '../../../packages/transport-ws/src/browser.js';
import type { Message, MessageQueue, SendOptions } from '../../../packages/transport-ws/src/browser.js';

// ---------------------------------------------------------------------------------------------
// Types

interface DemoConfig { wsUrl: string; token: string; topic: string }

type ConnStateType = 'connecting' | 'connected' | 'reconnecting' | 'refused' | 'closed';
interface ConnState { type: ConnStateType; reason?: string; attempt?: number; delayMs?: number }
interface StateEntry extends ConnState { at: number }

type Kind = 'form' | 'stream' | 'click';

/** One publish attempt as shown in the table (and returned by `__demo.results()`). */
export interface ResultEntry {
  n: number;
  kind: Kind;
  topic: string;
  tags?: string;
  keys?: string;
  /** Stream events: run id, index within the run; ordered ones also key sequence number. */
  run?: number;
  i?: number;
  ordered?: boolean;
  seq?: number;
  ok: boolean;
  status?: string;
  msgId?: string;
  offsetMsgId?: string;
  queue?: MessageQueue;
  queueOffset?: number;
  brokerAddr?: string;
  error?: string;
  latencyMs: number;
  /** When the send was issued (epoch ms); `at` is when it ended. */
  issuedAt: number;
  at: number;
}

export interface StreamOptions {
  /** Sends in flight at once (default 16). */
  concurrency?: number;
  /** Every Nth event is ordered by key (0 = none; default 4). */
  orderedEvery?: number;
  /** How many distinct ordered keys (default 4). */
  orderedKeys?: number;
  /** Pause between issuing events, to spread a stream over time (default 0). */
  intervalMs?: number;
  topic?: string;
}

/** `issued` counts the events actually sent: fewer than asked when stopped or refused. */
export interface StreamSummary { run: number; issued: number; acked: number; failed: number; ms: number }

/** What the latest stream is doing: `paused` while the gateway is unreachable, `ended` when it refused. */
export type StreamStateType = 'idle' | 'running' | 'paused' | 'done' | 'stopped' | 'ended';

interface Stats { sent: number; acked: number; failed: number; inFlight: number }

export interface DemoHook {
  /** Resolves when the configuration is loaded and the producer started. */
  ready: Promise<void>;
  config(): DemoConfig | undefined;
  stream(n: number, opts?: StreamOptions): Promise<StreamSummary>;
  send(msg: Message): Promise<ResultEntry>;
  stop(): void;
  stats(): Stats;
  results(): ResultEntry[];
  state(): ConnState;
  states(): StateEntry[];
}

declare global { interface Window { __demo: DemoHook } }

// ---------------------------------------------------------------------------------------------
// State

const MAX_ROWS = 200;
const LATENCY_SAMPLES = 5000;

let config: DemoConfig | undefined;
let producer: Producer | undefined;
let current: ConnState = { type: 'connecting' };
const states: StateEntry[] = [];
const results: ResultEntry[] = [];
const stats: Stats = { sent: 0, acked: 0, failed: 0, inFlight: 0 };
const latencies: number[] = [];
let counter = 0;
let runs = 0;
let stopRequested = false;
let streaming = 0;
let progress = { done: 0, total: 0 };
let streamState: StreamStateType = 'idle';
let lastSummary: StreamSummary | undefined;
/** Woken on every connection state change and on stop: streams paused for the connection look again. */
let wake: (() => void)[] = [];

// ---------------------------------------------------------------------------------------------
// DOM helpers

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const tid = <T extends Element = HTMLElement>(id: string) => $<T>(`[data-testid="${id}"]`);

function el(tag: string, props: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

const time = (t: number) => new Date(t).toLocaleTimeString([], { hour12: false });

// ---------------------------------------------------------------------------------------------
// Connection

async function loadConfig(): Promise<DemoConfig> {
  const q = new URLSearchParams(location.search);
  let served: Partial<DemoConfig> = {};
  try {
    const res = await fetch('/demo-config.json', { cache: 'no-store' });
    if (res.ok) served = await res.json() as Partial<DemoConfig>;
  } catch { /* served without a gateway: the query string must say everything */ }
  const sameOrigin = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/rmq`;
  return {
    wsUrl: q.get('url') ?? served.wsUrl ?? sameOrigin,
    token: q.get('token') ?? served.token ?? '',
    topic: q.get('topic') ?? served.topic ?? 'demo-events',
  };
}

function onState(s: ConnState): void {
  current = { type: s.type, reason: s.reason, attempt: s.attempt, delayMs: s.delayMs };
  states.push({ ...current, at: Date.now() });
  wakeAll();

  const conn = tid('conn');
  conn.dataset.state = s.type;
  let text: string = s.type;
  if (s.type === 'reconnecting') {
    text = `reconnecting${s.attempt ? ` · attempt ${s.attempt}` : ''}${s.delayMs != null ? ` · in ${(s.delayMs / 1000).toFixed(1)} s` : ''}`;
  } else if (s.type === 'refused') {
    text = `refused${s.reason ? `: ${s.reason}` : ''}`;
  } else if (s.type === 'connecting') {
    text = 'connecting…';
  }
  tid('conn-text').textContent = text;

  if (s.type === 'refused') {
    banner(`The gateway refused this connection${s.reason ? ` — ${s.reason}` : ''}. ` +
      'The page does not retry a refused token: fix it (add ?token=… to the address) and reload.', 'bad');
  } else if (s.type === 'reconnecting') {
    banner('Connection to the gateway lost. Reconnecting by itself; a running stream pauses until then. ' +
      'Sends that were in flight end acknowledged or fail visibly — a row is green only when the broker acknowledged it.', 'warn');
  } else if (s.type === 'connected') {
    banner(null);
  }

  const log = tid('conn-log');
  const detail = (s.type === 'reconnecting' && s.attempt ? ` (attempt ${s.attempt})` : '') + (s.reason ? ` — ${s.reason}` : '');
  log.prepend(el('li', { class: `t-${s.type}` }, `${time(Date.now())}  ${s.type}${detail}`));
  while (log.childElementCount > 50) log.lastElementChild!.remove();
}

function banner(text: string | null, kind: 'bad' | 'warn' = 'bad'): void {
  const b = tid('banner');
  if (text == null) { b.hidden = true; return; }
  // A refusal stays visible: a later notice must not hide why nothing works.
  if (!b.hidden && b.classList.contains('bad') && kind === 'warn') return;
  b.hidden = false;
  b.className = `banner ${kind}`;
  b.textContent = text;
}

async function start(): Promise<void> {
  config = await loadConfig();
  // Shown as the field's value (what is sent), unless the user typed one meanwhile.
  const topicInput = tid<HTMLInputElement>('topic');
  if (!topicInput.value) topicInput.value = config.topic;
  for (const e of document.querySelectorAll('.topic-name')) e.textContent = config.topic;
  tid('conn-url').textContent = config.wsUrl;
  tid('conn-url').title = config.wsUrl;
  onState({ type: 'connecting' });

  const transport = new WebSocketTransport({ url: config.wsUrl, token: config.token || undefined });
  transport.on('state', onState);
  producer = new Producer({ transport, producerGroup: 'demo-browser', sendMsgTimeout: 5000 });
  await producer.start();
  addEventListener('pagehide', () => { void producer?.shutdown(); });
  // Connect now, whatever the route lookup below makes of the topic: the page shows the
  // connection state from the start, and a stream waits for "connected".
  transport.open();

  // Look the topic up at once: it shows where messages will go.
  producer.fetchPublishMessageQueues(config.topic).then(
    (mqs) => {
      const brokers = [...new Set(mqs.map((q) => q.brokerName))].join(', ');
      tid('route').textContent = `Topic ${config!.topic}: ${mqs.length} queue${mqs.length === 1 ? '' : 's'} on ${brokers}.`;
    },
    (err) => {
      tid('route').textContent = `Route lookup for ${config!.topic} failed: ${errorText(err)}`;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Publishing

/** Java's String.hashCode, so key → queue matches SelectMessageQueueByHash. */
function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

const selectByKey: NonNullable<SendOptions['selector']> = (mqs, _msg, arg) => mqs[javaHash(String(arg)) % mqs.length]!;

async function publish(msg: Message, kind: Kind, extra: Partial<ResultEntry> = {}, opts?: SendOptions): Promise<ResultEntry> {
  const n = ++counter;
  const base = {
    n, kind, topic: msg.topic, tags: msg.tags,
    keys: Array.isArray(msg.keys) ? msg.keys.join(' ') : (msg.keys as string | undefined), ...extra,
  };
  stats.sent++;
  stats.inFlight++;
  schedule();
  const issuedAt = Date.now();
  const t0 = performance.now();
  let entry: ResultEntry;
  try {
    if (!producer) throw new Error('The producer is not started yet (configuration still loading).');
    const r = await producer.send(msg, opts);
    entry = {
      ...base, ok: true, status: r.sendStatus, msgId: r.msgId, offsetMsgId: r.offsetMsgId, queue: r.messageQueue,
      queueOffset: r.queueOffset, brokerAddr: r.brokerAddr, latencyMs: performance.now() - t0, issuedAt, at: Date.now(),
    };
    stats.acked++;
    latencies.push(entry.latencyMs);
    if (latencies.length > LATENCY_SAMPLES) latencies.splice(0, latencies.length - LATENCY_SAMPLES);
  } catch (err) {
    entry = { ...base, ok: false, error: errorText(err), latencyMs: performance.now() - t0, issuedAt, at: Date.now() };
    stats.failed++;
    console.warn(`send #${n} failed:`, err);
  } finally {
    stats.inFlight--;
  }
  results.push(entry);
  fresh.push(entry);
  schedule();
  return entry;
}

/** A tiny counting semaphore for the stream's in-flight bound. */
function limiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<void> {
      if (active < max) { active++; return; }
      await new Promise<void>((res) => waiting.push(res));
    },
    release(): void {
      const next = waiting.shift();
      if (next) next(); else active--;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wakeAll(): void {
  const w = wake;
  wake = [];
  for (const f of w) f();
}

/**
 * Resolves true once the transport is connected (at once if it is), false when the stream should
 * end instead: stop asked for, or the connection refused or closed for good. While it waits the
 * stream is shown as paused: sending into a lost connection would only fail one event after another.
 */
async function connected(): Promise<boolean> {
  while (!stopRequested && (current.type === 'connecting' || current.type === 'reconnecting')) {
    setStreamState('paused');
    await new Promise<void>((r) => wake.push(r));
  }
  if (stopRequested || current.type !== 'connected') return false;
  if (streamState === 'paused') setStreamState('running');
  return true;
}

function setStreamState(s: StreamStateType): void {
  streamState = s;
  schedule();
}

async function stream(n: number, opts: StreamOptions = {}): Promise<StreamSummary> {
  await hook.ready;
  const run = ++runs;
  const topic = opts.topic ?? config!.topic;
  const orderedEvery = opts.orderedEvery ?? 4;
  const orderedKeys = Math.max(1, opts.orderedKeys ?? 4);
  const gate = limiter(Math.max(1, opts.concurrency ?? 16));
  const lanes = new Map<string, Promise<unknown>>();
  const seqs = new Map<string, number>();
  const pending: Promise<ResultEntry | undefined>[] = [];
  const t0 = performance.now();
  stopRequested = false;
  streaming++;
  progress = { done: 0, total: n };
  setStreamState('running');
  syncButtons();

  let issued = 0;
  // Waits for the connection right before sending: an ordered event queued behind its key's
  // previous one may come due during an outage. Not sent (undefined) when the stream ends first.
  const one = async (msg: Message, extra: Partial<ResultEntry>, sendOpts?: SendOptions) => {
    try {
      if (!(await connected())) return undefined;
      issued++;
      const r = await publish(msg, 'stream', extra, sendOpts);
      progress.done++;
      return r;
    } finally {
      gate.release();
    }
  };

  for (let i = 0; i < n && (await connected()); i++) {
    if (opts.intervalMs) await sleep(opts.intervalMs);
    if (orderedEvery > 0 && i % orderedEvery === 0) {
      // Ordered: one lane per key, each send waits for the previous one of its key, same queue.
      const key = `order-${run}-${(i / orderedEvery) % orderedKeys}`;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      const msg: Message = { topic, tags: 'ordered', keys: key, body: JSON.stringify({ run, i, key, seq, at: Date.now() }) };
      const p = (lanes.get(key) ?? Promise.resolve())
        .then(() => gate.acquire())
        .then(() => one(msg, { run, i, ordered: true, seq }, { selector: selectByKey, arg: key }));
      lanes.set(key, p);
      pending.push(p);
    } else {
      await gate.acquire();
      const key = `evt-${run}-${i}`;
      const msg: Message = { topic, tags: 'stream', keys: key, body: JSON.stringify({ run, i, at: Date.now() }) };
      pending.push(one(msg, { run, i }));
    }
  }
  const done = (await Promise.all(pending)).filter((r): r is ResultEntry => r !== undefined);
  streaming--;
  const summary = {
    run, issued,
    acked: done.filter((r) => r.ok).length,
    failed: done.filter((r) => !r.ok).length,
    ms: Math.round(performance.now() - t0),
  };
  lastSummary = summary;
  setStreamState(issued === n ? 'done' : stopRequested ? 'stopped' : 'ended');
  syncButtons();
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Rendering (batched per animation frame; the table keeps the newest MAX_ROWS rows)

const fresh: ResultEntry[] = [];
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
  // Hidden tabs get no animation frames; make sure counters still move.
  setTimeout(() => { if (scheduled) render(); }, 250);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function fmtMs(ms: number): string { return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`; }

function row(r: ResultEntry): HTMLElement {
  const keys = [r.tags, r.keys].filter(Boolean).join(' · ');
  const status = r.ok
    ? el('span', { class: `badge ${r.status === 'SEND_OK' ? 'ok' : 'warn'}` }, r.status ?? 'OK')
    : el('span', { class: 'badge bad' }, 'FAILED');
  // data-label names the column where narrow screens show each row as a card (style.css).
  const n = el('td', { class: 'c-n' }, String(r.n));
  const latency = el('td', { class: 'num c-lat' }, fmtMs(r.latencyMs));
  const keysCell = el('td', { class: 'mono keys', 'data-label': 'tags · keys', title: keys }, keys);
  if (!r.ok) {
    return el('tr', { class: 'fail new', 'data-ok': 'false' },
      n, el('td', { class: 'c-status' }, status),
      el('td', { class: 'err', colspan: '3' }, r.error ?? 'failed'),
      latency, keysCell);
  }
  const q = r.queue;
  return el('tr', { class: 'new', 'data-ok': 'true' },
    n, el('td', { class: 'c-status' }, status),
    el('td', { class: 'mono id', 'data-label': 'msgId', title: `offsetMsgId ${r.offsetMsgId ?? ''}` }, r.msgId ?? ''),
    el('td', { class: 'mono queue', 'data-label': 'queue', title: 'topic · queue id @ queue offset' }, q ? `${q.topic} · q${q.queueId} @${r.queueOffset}` : ''),
    el('td', { class: 'mono', 'data-label': 'broker', title: `broker ${q?.brokerName ?? ''} (address alias issued by the gateway)` }, r.brokerAddr ?? ''),
    latency, keysCell);
}

function render(): void {
  scheduled = false;
  tid('stat-sent').textContent = String(stats.sent);
  tid('stat-acked').textContent = String(stats.acked);
  tid('stat-failed').textContent = String(stats.failed);
  tid('stat-inflight').textContent = String(stats.inFlight);
  if (latencies.length) {
    const sorted = [...latencies].sort((a, b) => a - b);
    tid('stat-p50').textContent = fmtMs(percentile(sorted, 0.5));
    tid('stat-p99').textContent = fmtMs(percentile(sorted, 0.99));
  }
  const prog = tid<HTMLProgressElement>('progress');
  prog.max = Math.max(1, progress.total);
  prog.value = progress.done;
  const ss = tid('stream-state');
  ss.dataset.state = streamState;
  ss.textContent = streamText();
  // A live region: screen readers announce pauses and the end, not every count while running.
  ss.ariaBusy = String(streamState === 'running');

  const failuresOnly = $<HTMLInputElement>('#failures-only').checked;
  const body = tid('results');
  const add = fresh.splice(0).filter((r) => !failuresOnly || !r.ok).slice(-MAX_ROWS);
  for (const tr of body.querySelectorAll('tr.new')) tr.classList.remove('new');
  const frag = document.createDocumentFragment();
  for (let i = add.length - 1; i >= 0; i--) frag.append(row(add[i]!));
  body.prepend(frag);
  while (body.childElementCount > MAX_ROWS) body.lastElementChild!.remove();
  tid('empty').hidden = body.childElementCount > 0;
}

function streamText(): string {
  const { done, total } = progress;
  const s = lastSummary;
  const counts = s ? `${s.acked} acknowledged, ${s.failed} failed` : '';
  switch (streamState) {
    case 'idle': return 'No stream yet.';
    case 'running': return `Running: ${done} of ${total} events answered.`;
    case 'paused': {
      const attempt = current.attempt ? `, attempt ${current.attempt}` : '';
      return `Paused at ${done} of ${total}: waiting for the gateway (${current.type}${attempt}). ` +
        'Resumes by itself when connected; Stop ends the stream.';
    }
    case 'done': return `Done: ${total} events sent, ${counts}.`;
    case 'stopped': return `Stopped after ${s?.issued ?? done} of ${total} events: ${counts}.`;
    case 'ended': return `Ended after ${s?.issued ?? done} of ${total} events (${counts}): ` +
      `the connection is ${current.type}${current.reason ? ` — ${current.reason}` : ''}.`;
  }
}

function rerender(): void {
  tid('results').replaceChildren();
  const failuresOnly = $<HTMLInputElement>('#failures-only').checked;
  fresh.splice(0, fresh.length, ...results.filter((r) => !failuresOnly || !r.ok).slice(-MAX_ROWS));
  render();
  for (const tr of tid('results').querySelectorAll('tr.new')) tr.classList.remove('new');
}

function syncButtons(): void {
  tid<HTMLButtonElement>('stream').disabled = streaming > 0;
  $<HTMLButtonElement>('#stop').disabled = streaming === 0;
}

// ---------------------------------------------------------------------------------------------
// Wiring

function describe(target: EventTarget | null): string {
  if (!(target instanceof Element)) return 'document';
  const t = target.closest('[data-testid], button, a, input, label, h1, h2, td, th') ?? target;
  const id = t.getAttribute('data-testid');
  return id ? `${t.tagName.toLowerCase()}[${id}]` : t.tagName.toLowerCase();
}

function wire(): void {
  $<HTMLFormElement>('#send-form').addEventListener('submit', (e) => {
    e.preventDefault();
    // Only what the fields hold: the browser refused the submit if Topic or Body is empty, and
    // empty Tags / Keys (showing their "e.g." hint) are left out of the message.
    const f = new FormData(e.target as HTMLFormElement);
    const str = (k: string) => String(f.get(k) ?? '').trim();
    const msg: Message = { topic: str('topic'), body: String(f.get('body') ?? '') };
    if (str('tags')) msg.tags = str('tags');
    if (str('keys')) msg.keys = str('keys');
    void publish(msg, 'form');
  });

  $<HTMLFormElement>('#stream-form').addEventListener('submit', (e) => {
    e.preventDefault();
    // Both numbers are required and range-checked by the browser: no hidden default is used.
    const f = new FormData(e.target as HTMLFormElement);
    void stream(Number(f.get('count')), {
      concurrency: Number(f.get('concurrency')),
      orderedEvery: f.get('ordered') ? 4 : 0,
    });
  });
  $('#stop').addEventListener('click', stop);
  $('#failures-only').addEventListener('change', rerender);

  // Page interactions as events: every click while the box is ticked (off on a fresh page), but
  // not the clicks on the box itself: turning capture on or off is not an interaction to publish.
  document.addEventListener('click', (e) => {
    if (!config || !$<HTMLInputElement>('#capture').checked) return;
    if (e.target instanceof Node && $('#capture-label').contains(e.target)) return;
    const target = describe(e.target);
    void publish({
      topic: config.topic, tags: 'click', keys: target,
      body: JSON.stringify({ type: 'click', target, x: e.clientX, y: e.clientY, page: location.pathname, at: new Date().toISOString() }),
    }, 'click');
  }, true);
}

function stop(): void {
  stopRequested = true;
  wakeAll();
}

const hook: DemoHook = {
  ready: Promise.resolve(),
  config: () => config,
  stream,
  send: (msg) => publish(msg, 'form'),
  stop,
  stats: () => ({ ...stats }),
  results: () => results.map((r) => ({ ...r })),
  state: () => ({ ...current }),
  states: () => states.map((s) => ({ ...s })),
};
window.__demo = hook;

wire();
hook.ready = start();
hook.ready.catch((err) => {
  onState({ type: 'closed', reason: errorText(err) });
  banner(`The demo could not start: ${errorText(err)}`);
});
