// Topic names a client asks for and the topic patterns a token grants: both are checked against
// RocketMQ's own rules before any matching, so that neither size nor spelling costs the gateway.
import { TOPIC_MAX_LENGTH, validateTopic } from '@rocketmq-edge/core/internal';

/** Most patterns one token may carry in its "topics" claim. */
export const MAX_TOPIC_PATTERNS = 100;
/** Longest pattern (a pattern may be longer than a topic: `?` and `*` stand for characters). */
export const TOPIC_PATTERN_MAX_LENGTH = 255;

const PATTERN_CHARS = /[^%|a-zA-Z0-9_*?-]/;

/** A name RocketMQ accepts as a topic: 1–127 characters of [%|a-zA-Z0-9_-]. Length first, so a huge string costs nothing. */
export function isValidTopic(topic: string): boolean {
  if (topic.length > TOPIC_MAX_LENGTH) return false;
  try {
    validateTopic(topic);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why this "topics" claim (or another pattern claim: "subscribe", "consumerGroups") cannot be
 * used, or undefined when it can. `allowEmpty`: an empty list grants nothing (a read-only token's
 * "topics"). Messages are short ASCII (they end up in close reasons).
 */
export function topicPatternsProblem(patterns: unknown, claim = 'topics', allowEmpty = false): string | undefined {
  if (!Array.isArray(patterns) || (patterns.length === 0 && !allowEmpty)) {
    return claim === 'topics'
      ? 'token has no "topics" claim (an array of topic patterns such as ["orders-*"])'
      : `token "${claim}" claim is not an array of patterns such as ["orders-*"]`;
  }
  if (patterns.length > MAX_TOPIC_PATTERNS) {
    return `token "${claim}" claim has ${patterns.length} patterns; at most ${MAX_TOPIC_PATTERNS}`;
  }
  for (let i = 0; i < patterns.length; i++) {
    const p: unknown = patterns[i];
    if (typeof p !== 'string' || p.length === 0) return `token "${claim}"[${i}] is not a non-empty string`;
    if (p.length > TOPIC_PATTERN_MAX_LENGTH) {
      return `token "${claim}"[${i}] is ${p.length} characters long; at most ${TOPIC_PATTERN_MAX_LENGTH}`;
    }
    const bad = PATTERN_CHARS.exec(p);
    if (!bad) continue;
    if (bad[0] === '.') {
      // The commonest mistake (Kafka/NATS habits): "." is not a topic character, so it never matches.
      // Shown cut to 16 characters so that the hint fits a WebSocket close reason.
      const cut = ascii(p.slice(0, 16));
      const more = p.length > 16 ? '...' : '';
      return `topic pattern "${cut}${more}" never matches: topics have no "."; use ${cut.replaceAll('.', '-')}${more} or ${cut.replaceAll('.', '_')}${more}`;
    }
    return `topic pattern "${ascii(p.length > 40 ? `${p.slice(0, 40)}...` : p)}" has ${ascii(JSON.stringify(bad[0]))} at ${bad.index}; allowed: letters, digits, %, |, _, - and the wildcards * ?`;
  }
  return undefined;
}

/**
 * Glob match, `*` any run of characters, `?` exactly one. Linear in practice and O(pattern × topic)
 * at worst: the equivalent regular expression backtracks exponentially on patterns like `*a*a*a*b`.
 */
export function globMatch(pattern: string, topic: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // position of the last `*` seen in the pattern
  let resume = 0; // where in the topic that `*` stopped consuming
  while (t < topic.length) {
    const c = pattern.charCodeAt(p); // NaN past the end
    if (c === 42 /* * */) {
      star = p++;
      resume = t;
    } else if (c === 63 /* ? */ || c === topic.charCodeAt(t)) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1; // let that `*` swallow one more character
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

/**
 * The remark for a topic a principal may not use. The topic is shown cut short (it may be megabytes
 * long) with its length; an invalid topic says why, so that the client fixes its spelling rather
 * than asking for another token.
 */
export function topicRefusalRemark(sub: string, patterns: readonly string[], topic: string, claim = 'topics'): string {
  const shown = topic.length > 64 ? `"${ascii(topic.slice(0, 64))}..." (${topic.length} characters)` : `"${ascii(topic)}"`;
  const verb = claim === 'topics' ? 'use topic' : claim === 'subscribe' ? 'read topic' : 'consume as group';
  const head = `token of "${ascii(sub.slice(0, 64))}" may not ${verb} ${shown}`;
  if (claim !== 'consumerGroups' && !isValidTopic(topic)) {
    return `${head}: not a RocketMQ topic (1 to ${TOPIC_MAX_LENGTH} characters of letters, digits, %, |, _ and -)`;
  }
  return `${head}: the token's "${claim}" claim [${patterns.join(', ')}] does not allow it; ask for a token whose claim covers it`;
}

/** Non-printable and non-ASCII characters as \uXXXX: remarks and close reasons stay short and readable. */
function ascii(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
