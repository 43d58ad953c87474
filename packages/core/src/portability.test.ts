// core must run unchanged in browsers, Deno and Workers: no Node built-ins, no Buffer, no DOM-only
// globals, no dependency on a transport. This reads the sources the way a bundler would see them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const srcDir = new URL('.', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

const forbidden: [RegExp, string][] = [
  [/from\s+['"]node:/, 'a node: import'],
  [/\bBuffer\b/, 'Buffer'],
  [/\bprocess\./, 'process'],
  [/\b(window|document|navigator|localStorage)\./, 'a DOM-only global'],
  [/from\s+['"]@rocketmq-edge\/transport-/, 'a transport import'],
  [/\brequire\(/, 'require()'],
];

test('core sources use only web-standard APIs', () => {
  const files = sources(srcDir).filter((f) => !f.includes('/testing/'));
  assert.ok(files.length > 5, 'expected core sources to scan');
  const problems: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const [re, what] of forbidden) if (re.test(text)) problems.push(`${f.slice(srcDir.length)} uses ${what}`);
  }
  assert.deepEqual(problems, []);
});
