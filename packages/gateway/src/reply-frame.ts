// An upstream response, already decoded once (relay.ts), re-emitted for its client inside a
// WebSocket envelope with only its opaque changed: copied once, never re-encoded. Responses come
// from the name server and brokers, which the gateway trusts; what it checks are requests.
import { HEADER_V1, targetBytes } from '@rocketmq-edge/transport-ws/envelope';

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/**
 * The envelope for `target` around `frame` with the opaque `from` (what the decode found) replaced
 * by `to`; undefined when the opaque cannot be placed unambiguously (the caller re-encodes).
 * Binary headers hold the opaque at a fixed offset; in a JSON header the `"opaque":<from>` member
 * must occur exactly once (a key spelled like that cannot occur inside a JSON string, whose
 * quotes are escaped).
 */
export function envelopeWithOpaque(target: string, frame: Uint8Array, from: number, to: number): Buffer | undefined {
  const t = targetBytes(target);
  const src = asBuffer(frame);
  const head = 2 + t.length;
  if (src[0] === 1) {
    if (src.length < 17 || src.readInt32BE(9) !== from) return undefined;
    const out = Buffer.allocUnsafe(head + src.length);
    writeEnvelopeHead(out, t);
    src.copy(out, head);
    out.writeInt32BE(to, head + 9);
    return out;
  }
  const headerEnd = 4 + src.readUIntBE(1, 3);
  const key = `"opaque":${from}`;
  const at = src.indexOf(key, 4, 'latin1');
  const after = at + key.length;
  if (at < 0 || after >= headerEnd || (src[after] !== 0x2c && src[after] !== 0x7d) || src.indexOf(key, after, 'latin1') >= 0) return undefined;
  const digits = String(to);
  const delta = digits.length - (key.length - 9);
  const out = Buffer.allocUnsafe(head + src.length + delta);
  writeEnvelopeHead(out, t);
  out.writeUInt32BE(headerEnd - 4 + delta, head); // serialize type 0 in the high byte
  let o = head + 4;
  o += src.copy(out, o, 4, at + 9);
  o += out.write(digits, o, 'latin1');
  src.copy(out, o, after);
  return out;
}

function writeEnvelopeHead(out: Buffer, t: Uint8Array): void {
  out[0] = HEADER_V1;
  out[1] = t.length;
  out.set(t, 2);
}
