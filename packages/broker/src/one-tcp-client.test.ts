// ARCHITECTURE.md: one TCP remoting client in the repository (transport-tcp). The broker accepts
// connections (remoting-server.ts) but opens none of its own: registration with name servers and
// the testing helpers go through core's RemotingClient on transport-tcp's TcpTransport.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const SRC = fileURLToPath(new URL('.', import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    // Tests may open raw sockets on purpose (malformed frames, half-written requests).
    else if (/\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.test.ts') && e.name !== 'test-support.ts') out.push(p);
  }
  return out;
}

it('the broker opens outbound connections only through transport-tcp (no socket client of its own)', () => {
  const dialing = /\bnet\.connect\(|\bnet\.createConnection\(|\bnew\s+net\.Socket\(|import\s*\{[^}]*\b(connect|createConnection|Socket)\b[^}]*\}\s*from\s*'node:net'/;
  const offenders = sources(SRC).filter((f) => dialing.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f));
  assert.deepEqual(offenders, []);
  const registrar = readFileSync(join(SRC, 'broker/registrar.ts'), 'utf8');
  assert.match(registrar, /from '@rocketmq-edge\/transport-tcp'/);
});
