// The fixture's core, usable without @playwright/test (node:test, any runner): per-test readers of
// topics (a LitePullConsumer through the gateway, or over TCP), the message matchers, and failure
// messages that show what was received instead.
import type { MessageExt, Transport } from '@rocketmq-edge/core';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';

/** Where the readers connect: a gateway with a reading token, or name servers over TCP. */
export type RmqTarget = { gatewayUrl: string; token: string } | { namesrvAddr: string };

/** A message as read, with its body as text and JSON at hand. */
export type ReceivedMessage = MessageExt & { readonly text: string; json(): unknown };

/** What a message must have: every field given must match (tags exactly, keys one of them, json partially). */
export interface MessageMatcher {
  tags?: string;
  /** One of the message's keys. */
  keys?: string;
  /** The body as UTF-8 text, exactly or by pattern. */
  body?: string | RegExp;
  /** The body parsed as JSON contains this: objects by their given fields, arrays element by element, the rest equal. */
  json?: unknown;
  /** User properties, each equal. */
  properties?: Record<string, string>;
}
export type MessagePredicate = MessageMatcher | ((m: ReceivedMessage) => boolean);

export interface WaitOptions {
  /** How long to wait for the messages to arrive, in ms (default 5000). */
  timeout?: number;
}

export const DEFAULT_TIMEOUT_MS = 5000;
const utf8 = new TextDecoder();

function received(m: MessageExt): ReceivedMessage {
  const text = utf8.decode(m.body);
  return Object.assign(m, { text, json: () => JSON.parse(text) as unknown });
}

/** Partial deep match: objects by the expected fields, arrays by length and element, the rest with Object.is. */
export function containsJson(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => containsJson(actual[i], e));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => containsJson((actual as Record<string, unknown>)[k], v));
  }
  return Object.is(actual, expected);
}

export function matches(m: ReceivedMessage, p: MessagePredicate | undefined): boolean {
  if (p === undefined) return true;
  if (typeof p === 'function') return p(m);
  if (p.tags !== undefined && m.tags !== p.tags) return false;
  if (p.keys !== undefined && !(m.keys ?? '').split(' ').includes(p.keys)) return false;
  if (p.body !== undefined && !(typeof p.body === 'string' ? m.text === p.body : p.body.test(m.text))) return false;
  if (p.properties && !Object.entries(p.properties).every(([k, v]) => m.properties[k] === v)) return false;
  if (p.json !== undefined) {
    let parsed: unknown;
    try {
      parsed = m.json();
    } catch {
      return false;
    }
    if (!containsJson(parsed, p.json)) return false;
  }
  return true;
}

const clip = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function describeMatcher(p: MessagePredicate | undefined): string {
  if (p === undefined) return 'any message';
  if (typeof p === 'function') return `a message for which ${p.name || 'the predicate'} holds`;
  const parts = Object.entries(p).map(([k, v]) => `${k}: ${v instanceof RegExp ? String(v) : JSON.stringify(v)}`);
  return `a message with { ${parts.join(', ')} }`;
}

/** One line per message: tags, keys, properties, body (JSON or text) cut short. */
export function describeReceived(list: readonly ReceivedMessage[], max = 20): string {
  if (list.length === 0) return 'received no message';
  const lines = list.slice(0, max).map((m, i) => {
    const props = Object.entries(m.properties).filter(([k]) => !SYSTEM_PROPERTIES.has(k));
    return `  ${i + 1}. tags=${m.tags ?? '-'} keys=${m.keys ?? '-'}${props.length ? ` properties=${JSON.stringify(Object.fromEntries(props))}` : ''} body=${clip(m.text)}`;
  });
  if (list.length > max) lines.push(`  … and ${list.length - max} more`);
  return `received ${list.length} message${list.length === 1 ? '' : 's'}:\n${lines.join('\n')}`;
}
// Properties RocketMQ sets itself (MessageConst): not what a test author wrote, so left out of failure messages.
const SYSTEM_PROPERTIES = new Set(['TAGS', 'KEYS', 'UNIQ_KEY', 'WAIT', 'MIN_OFFSET', 'MAX_OFFSET', 'CONSUME_START_TIME', 'REAL_TOPIC', 'REAL_QID', 'TRAN_MSG', 'PGROUP', 'CLUSTER']);

let instances = 0;

/**
 * One topic as a test sees it: a consumer of its own (assign mode, its own group) reading every
 * queue, from the start for a per-test topic, from the end at creation for a shared one.
 */
export class TopicHandle {
  readonly #received: ReceivedMessage[] = [];
  #consumer: LitePullConsumer | undefined;
  #assigned = false;
  #ready: Promise<void>;
  #closed = false;

  constructor(readonly name: string, private readonly transport: () => Transport, private readonly group: string, fromEnd: boolean) {
    this.#ready = this.#init(fromEnd);
  }

  toString(): string {
    return this.name;
  }

  /** Resolves once the reader is set up: for a shared topic, its end is recorded (await it before the page publishes). */
  async ready(): Promise<this> {
    await this.#ready;
    return this;
  }

  /** The messages read so far, after waiting up to `timeout` for at least `atLeast` and reading what is there now. */
  async messages(opts: WaitOptions & { atLeast?: number } = {}): Promise<ReceivedMessage[]> {
    const { atLeast = 0, timeout = DEFAULT_TIMEOUT_MS } = opts;
    await this.waitFor((all) => all.length >= atLeast, timeout);
    await this.#settle();
    return [...this.#received];
  }

  /** Reads until `done(received)` holds or `timeout` ms passed; returns everything read. */
  async waitFor(done: (all: readonly ReceivedMessage[]) => boolean, timeout = DEFAULT_TIMEOUT_MS): Promise<ReceivedMessage[]> {
    await this.#ready;
    const deadline = performance.now() + timeout;
    while (!done(this.#received) && !this.#closed) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.#read(Math.min(left, 100));
    }
    return [...this.#received];
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#ready.catch(() => {});
    await this.#consumer?.shutdown().catch(() => {});
  }

  async #init(fromEnd: boolean): Promise<void> {
    const c = (this.#consumer = new LitePullConsumer({
      transport: this.transport(),
      consumerGroup: this.group,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      autoCommit: false,
      pollTimeoutMillis: 100,
      brokerSuspendMaxTimeMillis: 1000,
    }));
    await c.start();
    if (fromEnd && (await this.#assign())) {
      for (const mq of c.assignment()) await c.seekToEnd(mq);
    }
  }

  /** Assigns every queue of the topic once it exists; false while it does not. */
  async #assign(): Promise<boolean> {
    if (this.#assigned) return true;
    let queues;
    try {
      queues = await this.#consumer!.fetchMessageQueues(this.name);
    } catch {
      return false; // no route yet: nobody has published to it
    }
    if (!queues.length) return false;
    this.#consumer!.assign(queues);
    this.#assigned = true;
    return true;
  }

  async #read(ms: number): Promise<number> {
    if (!(await this.#assign())) {
      await new Promise((r) => setTimeout(r, Math.min(ms, 100)));
      return 0;
    }
    const batch = await this.#consumer!.poll(ms);
    for (const m of batch) this.#received.push(received(m));
    return batch.length;
  }

  /** Reads whatever is there now (until a short poll brings nothing). */
  async #settle(): Promise<void> {
    if (!(await this.#assign())) return;
    while (!this.#closed && (await this.#read(50)) > 0);
  }
}

/** What a test gets: topics by name, isolated from other tests. */
export class Rmq {
  readonly #topics = new Map<string, TopicHandle>();
  readonly #id: string;
  #n = 0;

  constructor(
    readonly target: RmqTarget,
    private readonly opts: { groupPrefix?: string } = {},
  ) {
    const [a] = crypto.getRandomValues(new Uint32Array(1));
    this.#id = `${(a! % 0x1000000).toString(36)}${(++instances).toString(36)}`;
  }

  /** Gateway URL and token (for pages), when reading through a gateway. */
  get gateway(): { url: string; token: string } | undefined {
    return 'gatewayUrl' in this.target ? { url: this.target.gatewayUrl, token: this.target.token } : undefined;
  }

  /**
   * The topic `base` for this test: by default a name of its own (`base-<id>`, pass `.name` to the
   * page), read from its start; with `{ shared: true }` the topic as named, read from its end as of
   * now (what this test's page publishes, not what earlier tests did).
   */
  topic(base: string, opts: { shared?: boolean } = {}): TopicHandle {
    const key = `${opts.shared ? 'shared' : 'own'}:${base}`;
    let h = this.#topics.get(key);
    if (!h) {
      const name = opts.shared ? base : `${base}-${this.#id}`;
      const group = `${this.opts.groupPrefix ?? 'rmq-test'}-${this.#id}-${++this.#n}`;
      h = new TopicHandle(name, () => this.#transport(), group, opts.shared === true);
      this.#topics.set(key, h);
    }
    return h;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#topics.values()].map((t) => t.close()));
    this.#topics.clear();
  }

  #transport(): Transport {
    const t = this.target;
    return 'gatewayUrl' in t ? new WebSocketTransport({ url: t.gatewayUrl, token: t.token }) : new TcpTransport({ namesrvAddr: t.namesrvAddr });
  }
}

/** A matcher's verdict, in the shape expect.extend wants. */
export interface Verdict { pass: boolean; message: () => string }

/**
 * Whether `topic` received a message matching `p` within `timeout`. `negated` (expect(...).not):
 * what is there after reading for `timeout` is judged once.
 */
export async function receivedVerdict(topic: TopicHandle, p: MessagePredicate, opts: WaitOptions = {}, negated = false): Promise<Verdict> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
  const all = negated ? await topic.messages({ timeout: 0 }) : await topic.waitFor((list) => list.some((m) => matches(m, p)), timeout);
  const pass = all.some((m) => matches(m, p));
  return {
    pass,
    message: () => pass
      ? `expected topic "${topic.name}" not to have received ${describeMatcher(p)}, but it did; ${describeReceived(all)}`
      : `expected topic "${topic.name}" to have received ${describeMatcher(p)} within ${timeout} ms; ${describeReceived(all)}`,
  };
}

/** Whether exactly `n` messages matching `p` arrived: waits up to `timeout` for the n-th, then reads what is there. */
export async function receivedTimesVerdict(topic: TopicHandle, n: number, p?: MessagePredicate, opts: WaitOptions = {}): Promise<Verdict> {
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
  const count = (list: readonly ReceivedMessage[]) => list.filter((m) => matches(m, p)).length;
  await topic.waitFor((list) => count(list) >= n, timeout);
  const all = await topic.messages({ timeout: 0 });
  const got = count(all);
  return {
    pass: got === n,
    message: () => `expected topic "${topic.name}" to have received ${describeMatcher(p)} ${n} time${n === 1 ? '' : 's'}, got ${got} within ${timeout} ms; ${describeReceived(all)}`,
  };
}

/** For runners without expect.extend (node:test): throws an AssertionError-like Error with the failure message. */
export async function assertReceived(topic: TopicHandle, p: MessagePredicate, opts?: WaitOptions): Promise<void> {
  const v = await receivedVerdict(topic, p, opts);
  if (!v.pass) throw Object.assign(new Error(v.message()), { name: 'AssertionError' });
}

export async function assertReceivedTimes(topic: TopicHandle, n: number, p?: MessagePredicate, opts?: WaitOptions): Promise<void> {
  const v = await receivedTimesVerdict(topic, n, p, opts);
  if (!v.pass) throw Object.assign(new Error(v.message()), { name: 'AssertionError' });
}
