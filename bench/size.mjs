// Bundle size of what a browser app ships: minified ESM (esbuild, same options as the browser
// bundle) and its gzip size (level 9). One JSON line per bundle on stdout:
//   {"bundle":"core","min":N,"gzip":N}               a Producer-only entry from @rocketmq-edge/core
//   {"bundle":"core+transport-ws","min":N,"gzip":N}  packages/transport-ws/src/browser.ts (all of it)
// The largest inputs of each bundle go to stderr. `--check` exits 1 when core+transport-ws is
// over the budget (12 KB gzip).
import * as esbuild from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BUNDLE_ENTRY, bundleOptions } from '../scripts/build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUDGET_GZIP = 12 * 1024;

const bundles = [
  {
    name: 'core',
    stdin: { contents: "export { Producer } from './src/index.ts';", resolveDir: join(root, 'packages/core'), loader: 'ts' },
  },
  { name: 'core+transport-ws', entryPoints: [BUNDLE_ENTRY] },
];

let over = false;
for (const b of bundles) {
  const res = await esbuild.build({
    ...bundleOptions,
    ...(b.stdin ? { stdin: b.stdin } : { entryPoints: b.entryPoints }),
    write: false,
    metafile: true,
    outfile: 'out.js',
  });
  const code = res.outputFiles.find((f) => f.path.endsWith('.js')).contents;
  if (code.length < 1000) throw new Error(`${b.name}: ${code.length} bytes — the entry exports nothing (is Producer exported?)`);
  const gzip = gzipSync(code, { level: 9 }).length;
  console.log(JSON.stringify({ bundle: b.name, min: code.length, gzip }));

  const inputs = Object.entries(Object.values(res.metafile.outputs)[0].inputs)
    .map(([file, v]) => [file.replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, ''), v.bytesInOutput])
    .sort((a, c) => c[1] - a[1])
    .slice(0, 8);
  console.error(`  ${b.name}: largest inputs (minified bytes): ${inputs.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  if (b.name === 'core+transport-ws' && gzip > BUDGET_GZIP) {
    over = true;
    console.error(`  ${b.name}: ${gzip} bytes gzip is over the ${BUDGET_GZIP} byte budget`);
  }
}
if (over && process.argv.includes('--check')) process.exit(1);
