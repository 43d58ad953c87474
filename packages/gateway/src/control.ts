// Text messages are control messages (JSON objects, see the wire contract in transport-ws's
// envelope module); this parses and checks one, so the session only acts on well-formed ones.
import type { ControlMessage } from '@rocketmq-edge/transport-ws/envelope';

/** A token or a ping never needs more; anything larger is a protocol violation. */
export const MAX_CONTROL_BYTES = 16 * 1024;

/** The message, or why it is a protocol violation. */
export function parseControl(buf: Buffer): ControlMessage | string {
  if (buf.length > MAX_CONTROL_BYTES) return `control message of ${buf.length} bytes (limit ${MAX_CONTROL_BYTES})`;
  let msg: unknown;
  try {
    msg = JSON.parse(buf.toString('utf8'));
  } catch {
    return 'text messages are control messages (JSON); data goes in binary messages';
  }
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return 'control message is not a JSON object';
  const m = msg as Record<string, unknown>;
  switch (m.type) {
    case 'ping':
    case 'pong':
      return { type: m.type, id: typeof m.id === 'number' && Number.isFinite(m.id) ? m.id : 0 };
    case 'hello':
      // A client that reads FRAMES messages says so (the session decides what that changes).
      return { type: 'hello', version: typeof m.version === 'number' ? m.version : 0 };
    case 'auth':
      // An empty token is a client saying it has none: the session refuses it with 4401.
      if (typeof m.token !== 'string') return 'auth message without a token';
      return { type: 'auth', token: m.token };
    default:
      return `unknown control message type ${JSON.stringify(String(m.type)).slice(0, 40)}`;
  }
}
