// Test-only (Node): where the wire captures of a real RocketMQ 4.9.8 live. CI clones the repo with
// shared/ beside it; RMQ_VECTORS overrides. A missing folder fails the test loudly, never skips it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export const VECTORS_DIR: string = (() => {
  const candidates = [process.env.RMQ_VECTORS, new URL('../../shared/vectors', import.meta.url).pathname];
  const dir = candidates.find((d) => d && existsSync(d));
  if (!dir) throw new Error(`capture vectors not found (looked in ${candidates.filter(Boolean).join(', ')}): set RMQ_VECTORS`);
  return dir;
})();

/** One capture file, e.g. capture('01-producer-json/0006-broker-SEND_MESSAGE_V2-310-SUCCESS.json'). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const capture = (file: string): any => JSON.parse(readFileSync(`${VECTORS_DIR}/${file}`, 'utf8'));

/** Every capture file as "<scenario>/<file>", sorted. */
export const captureFiles = (): string[] =>
  readdirSync(VECTORS_DIR).filter((d) => /^\d\d-/.test(d)).sort()
    .flatMap((d) => readdirSync(`${VECTORS_DIR}/${d}`).filter((f) => f.endsWith('.json')).sort().map((f) => `${d}/${f}`));
