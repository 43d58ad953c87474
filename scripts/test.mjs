// `npm test` / `pnpm test [substring…]`: type-check, then every test file (*.test.ts beside the code,
// e2e/*.test.ts) with Node's test runner. Node 20's `--test dir` finds no .ts files, so the files are
// listed here explicitly; finding none is an error, never a pass.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureChromium, ensureDependencies, root } from './ensure.mjs';

const filter = process.argv.slice(2);
ensureDependencies();

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = ['packages', 'apps', 'e2e', 'bench'].flatMap((r) => walk(join(root, r), [])).sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found' + (filter.length ? ` matching ${filter.join(' ')}` : ''));
  process.exit(1);
}
if (files.some((f) => f.startsWith('e2e/'))) ensureChromium();

const step = (name, args) => {
  console.error(`\n== ${name}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!filter.length) {
  step('type-check', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
  step('build', ['scripts/build.mjs']);
}
step(`${files.length} test files`, [
  '--conditions=source', '--import', 'tsx', '--test', '--test-reporter=spec',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files,
]);
