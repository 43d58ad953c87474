// Bundle sizes: minified ESM (esbuild, the browser bundle's options) and gzip (level 9).
// One JSON line per bundle on stdout:
//   {"bundle":"core","min":N,"gzip":N}               `export { Producer } from '@rocketmq-edge/core'`
//   {"bundle":"core+transport-ws","min":N,"gzip":N}  what a browser app that publishes ships:
//       `export { Producer } from '@rocketmq-edge/core';
//        export { WebSocketTransport } from '@rocketmq-edge/transport-ws'`, tree-shaken.
//   {"bundle":"core+transport-ws+autoBatch","min":N,"gzip":N}  the same with automatic batching on
//       (`new Producer({ transport, autoBatch })`): what it adds. Not budgeted.
//   {"bundle":"consumer+transport-ws","min":N,"gzip":N}  what a browser app that consumes ships:
//       `export { LitePullConsumer } from '@rocketmq-edge/core/consumer';
//        export { WebSocketTransport } from '@rocketmq-edge/transport-ws'` (an entry of its own: the
//       producer bundles above do not grow with it; not budgeted).
//   {"bundle":"transaction+transport-ws","min":N,"gzip":N}  `export { TransactionProducer } from
//       '@rocketmq-edge/core/transaction'` + WebSocketTransport (an entry of its own; not budgeted).
//   {"bundle":"request+transport-ws","min":N,"gzip":N}  `export { RequestProducer, createReplyMessage } from
//       '@rocketmq-edge/core/request'` + WebSocketTransport (an entry of its own; not budgeted).
//   {"bundle":"acl","min":N,"gzip":N}  `export { AclTransport } from '@rocketmq-edge/core/acl'` (an entry
//       of its own, for ACL-enabled clusters; what it adds depends on what the app already ships).
//   {"bundle":"rocketmq-edge.js","min":N,"gzip":N}   the prebuilt library file
//       dist/browser/rocketmq-edge.js (packages/transport-ws/src/browser.ts, all of its exports),
//       which the demo, the worker and the Deno app import: what those apps really ship.
//   {"bundle":"rocketmq-edge-outbox.js","min":N,"gzip":N}  dist/browser/rocketmq-edge-outbox.js, the
//       durable outbox (packages/transport-ws/src/outbox.ts): what a page adds to use it. Outside the budget.
// The budget (12 KB gzip) applies to core+transport-ws and rocketmq-edge.js. The largest inputs of each bundle go to
// stderr, then the budget verdicts. `--check` exits 1 when either is over the budget; without it
// the verdicts are only reported.
import * as esbuild from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { BUNDLE_ENTRY, OUTBOX_ENTRY, bundleOptions } from '../scripts/build.mjs';

const BUDGET_GZIP = 12 * 1024;
const BUDGETED = new Set(['core+transport-ws', 'rocketmq-edge.js']);
// Bare imports resolve from bench/ (a workspace package depending on core and transport-ws),
// exactly as in an application.
const resolveDir = fileURLToPath(new URL('.', import.meta.url));
const app = (contents) => ({ stdin: { contents, resolveDir, loader: 'js', sourcefile: 'app.js' } });

const bundles = [
  { name: 'core', ...app("export { Producer } from '@rocketmq-edge/core';") },
  {
    name: 'core+transport-ws',
    ...app("export { Producer } from '@rocketmq-edge/core';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';"),
  },
  {
    name: 'core+transport-ws+autoBatch',
    ...app("export { Producer, autoBatch } from '@rocketmq-edge/core';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';"),
  },
  {
    name: 'consumer+transport-ws',
    ...app("export { LitePullConsumer } from '@rocketmq-edge/core/consumer';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';"),
  },
  {
    name: 'transaction+transport-ws',
    ...app("export { TransactionProducer } from '@rocketmq-edge/core/transaction';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';"),
  },
  {
    name: 'request+transport-ws',
    ...app("export { RequestProducer, createReplyMessage } from '@rocketmq-edge/core/request';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';"),
  },
  { name: 'acl', ...app("export { AclTransport } from '@rocketmq-edge/core/acl';") },
  // Same options as scripts/build.mjs uses for dist/browser/rocketmq-edge.js, so the figure is that
  // file's size without having to build it first.
  { name: 'rocketmq-edge.js', entryPoints: [BUNDLE_ENTRY] },
  { name: 'rocketmq-edge-outbox.js', entryPoints: [OUTBOX_ENTRY] },
];

const verdicts = [];
let over = false;
for (const { name, ...input } of bundles) {
  const res = await esbuild.build({ ...bundleOptions, ...input, write: false, metafile: true, outfile: 'out.js' });
  const code = res.outputFiles.find((f) => f.path.endsWith('.js')).contents;
  if (code.length < 1000) throw new Error(`${name}: ${code.length} bytes — the entry exports nothing (is Producer exported?)`);
  const gzip = gzipSync(code, { level: 9 }).length;
  console.log(JSON.stringify({ bundle: name, min: code.length, gzip }));

  const inputs = Object.entries(Object.values(res.metafile.outputs)[0].inputs)
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([file, v]) => [file.replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, ''), v.bytesInOutput])
    .sort((a, c) => c[1] - a[1])
    .slice(0, 8);
  console.error(`  ${name}: largest inputs (minified bytes): ${inputs.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  if (BUDGETED.has(name)) {
    const isOver = gzip > BUDGET_GZIP;
    over ||= isOver;
    verdicts.push(`  ${name}: ${gzip} bytes gzip is ${isOver ? `OVER the ${BUDGET_GZIP}-byte budget by ${gzip - BUDGET_GZIP}` : `within the ${BUDGET_GZIP}-byte budget (${BUDGET_GZIP - gzip} to spare)`}`);
  }
}
for (const v of verdicts) console.error(v);
if (over && process.argv.includes('--check')) process.exit(1);
