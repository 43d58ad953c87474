// Builds the packages for Node, the browser bundle and the apps that import it.
//
//   packages/*/dist/                each package's src/ compiled file by file to ESM JavaScript (what its
//                                   exports map's "default" condition and the rocketmq-edge command run);
//                                   with --declarations also its .d.ts + declaration maps ("types")
//   dist/browser/rocketmq-edge.js   ONE minified ESM bundle of packages/transport-ws/src/browser.ts
//                                   (core's public API + WebSocketTransport), for every web runtime.
//   dist/browser/rocketmq-edge-outbox.js  the durable browser outbox (packages/transport-ws/src/outbox.ts),
//                                   a file of its own so pages that only publish do not load it.
//   apps/demo/dist/                 index.html, style.css, app.js, rocketmq-edge.js (the gateway serves it at /)
//   apps/worker/dist/               worker.js + rocketmq-edge.js (a Cloudflare module worker)
//   apps/deno/dist/                 main.js + rocketmq-edge.js (a Deno.serve app)
//
// The apps import core through `packages/transport-ws/src/browser.js` in their TypeScript (so tsc
// checks them against the real types); here that import becomes `./rocketmq-edge.js`, a copy of the
// same bundle byte for byte, so no runtime gets its own fork of core.
//
// `node scripts/build.mjs [--declarations]` or `import { build } from './scripts/build.mjs'; await build()`.
import * as esbuild from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const r = (...p) => join(root, ...p);

export const BUNDLE_ENTRY = r('packages/transport-ws/src/browser.ts');
export const BUNDLE_FILE = r('dist/browser/rocketmq-edge.js');
export const OUTBOX_ENTRY = r('packages/transport-ws/src/outbox.ts');
export const OUTBOX_FILE = r('dist/browser/rocketmq-edge-outbox.js');
export const DEMO_DIST = r('apps/demo/dist');
export const WORKER_DIST = r('apps/worker/dist');
export const DENO_DIST = r('apps/deno/dist');

/**
 * esbuild options shared by the browser bundle and bench/size.mjs.
 * `mangleProps`: properties whose name ends in `_` are internal by convention (never on the wire,
 * in JSON or in the public API) and get short names in the bundle.
 */
export const bundleOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  mangleProps: /_$/,
  conditions: ['source', 'browser'],
  legalComments: 'none',
  logLevel: 'silent',
  absWorkingDir: root,
};

/** Turns every import of transport-ws's browser entry into an external `./rocketmq-edge.js`. */
const useBundle = {
  name: 'use-rocketmq-edge-bundle',
  setup(b) {
    b.onResolve({ filter: /transport-ws\/src\/browser(\.[jt]s)?$/ }, () => ({
      path: './rocketmq-edge.js',
      external: true,
    }));
  },
};

/** Apps: TypeScript entry → one ESM file beside a copy of the bundle. */
const apps = [
  { entry: r('apps/demo/src/app.ts'), out: join(DEMO_DIST, 'app.js'), platform: 'browser',
    copy: [['apps/demo/src/index.html', 'index.html'], ['apps/demo/src/style.css', 'style.css']] },
  { entry: r('apps/worker/src/worker.ts'), out: join(WORKER_DIST, 'worker.js'), platform: 'neutral', copy: [] },
  { entry: r('apps/deno/src/main.ts'), out: join(DENO_DIST, 'main.js'), platform: 'neutral', copy: [] },
];

/** The published packages (packages/* not marked private): each has a build in dist/. */
const PACKAGES = readdirSync(r('packages')).filter((name) => {
  const file = r('packages', name, 'package.json');
  return existsSync(file) && !JSON.parse(readFileSync(file, 'utf8')).private;
});

/** Tests and their helpers stay in the repository: not compiled to dist/, not packed. */
const isTestFile = (f) => /\.test\.ts$|(^|[\\/])test-support\.ts$/.test(f);

/**
 * Compiles packages/<name>/src to dist/ file by file (no bundling, so module URLs keep their
 * relative layout: the broker's thread entry, the gateway's demo dir) and copies plain .mjs/.js.
 * Tests stay out. esbuild without keepNames: tsx's development transform wraps every closure in
 * a naming helper, which the hot paths of a production gateway should not pay for.
 */
async function buildPackages(out) {
  await Promise.all(PACKAGES.map(async (name) => {
    const src = r('packages', name, 'src');
    const files = (await readdir(src, { recursive: true })).map((f) => join(src, f));
    const ts = files.filter((f) => f.endsWith('.ts') && !isTestFile(f) && !f.endsWith('.d.ts'));
    const res = await esbuild.build({
      entryPoints: ts,
      outdir: r('packages', name, 'dist'),
      outbase: src,
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'silent',
      absWorkingDir: root,
      write: false,
    });
    for (const f of res.outputFiles) out.set(f.path, f.contents);
    for (const f of files.filter((f) => /\.m?js$/.test(f))) out.set(r('packages', name, 'dist', relative(src, f)), await readFile(f));
  }));
}

/**
 * The packages' declarations: `tsc -b` over each package's tsconfig.build.json, which lists the
 * siblings it imports as references (so their types come from their own dist/*.d.ts). Incremental:
 * unchanged packages are skipped. Not part of the default build: it takes seconds, and the workspace
 * type-checks against the sources (the "source" condition) anyway; packing and publishing need it.
 */
export async function buildDeclarations() {
  const configs = PACKAGES.map((name) => {
    const config = r('packages', name, 'tsconfig.build.json');
    if (!existsSync(config)) throw new Error(`packages/${name}/tsconfig.build.json is missing: its "types" need dist/*.d.ts (copy another package's)`);
    return config;
  });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await new Promise((resolve, reject) => {
    execFile(process.execPath, [tsc, '-b', ...configs], { cwd: root, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`declarations did not compile (tsc -b):\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/**
 * Writes a file atomically (temp file + rename), so a gateway serving the demo or a test reading
 * an app while another process rebuilds never sees half a file. Unchanged files are left alone.
 */
async function put(path, contents) {
  try {
    if (Buffer.compare(await readFile(path), contents) === 0) return;
  } catch { /* new file */ }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
}

/**
 * Builds everything. Resolves with the written files (relative to the repo root) and the time taken.
 * Throws with esbuild's messages when a source does not compile.
 */
export async function build({ log = () => {}, declarations = false } = {}) {
  const t0 = performance.now();
  const out = new Map(); // absolute path -> contents
  await Promise.all([buildPackages(out), declarations && buildDeclarations()]);
  const bundles = await Promise.all([[BUNDLE_ENTRY, BUNDLE_FILE], [OUTBOX_ENTRY, OUTBOX_FILE]].map(([entry, outfile]) => esbuild.build({
    ...bundleOptions,
    entryPoints: [entry],
    outfile,
    sourcemap: 'linked',
    write: false,
  })));
  for (const f of bundles.flatMap((b) => b.outputFiles)) out.set(f.path, f.contents);
  const bundleJs = out.get(BUNDLE_FILE);
  const bundleMap = out.get(`${BUNDLE_FILE}.map`);

  await Promise.all(apps.map(async (app) => {
    const dir = dirname(app.out);
    const res = await esbuild.build({
      entryPoints: [app.entry],
      outfile: app.out,
      bundle: true,
      format: 'esm',
      platform: app.platform,
      target: 'es2022',
      minify: false,
      sourcemap: 'linked',
      logLevel: 'silent',
      absWorkingDir: root,
      plugins: [useBundle],
      write: false,
    });
    for (const f of res.outputFiles) out.set(f.path, f.contents);
    out.set(join(dir, 'rocketmq-edge.js'), bundleJs);
    out.set(join(dir, 'rocketmq-edge.js.map'), bundleMap);
    for (const [from, to] of app.copy) out.set(join(dir, to), await readFile(r(from)));
  }));

  await Promise.all([...out].map(([path, contents]) => put(path, contents)));
  const files = [...out.keys()].map((f) => relative(root, f).replaceAll('\\', '/'));
  const ms = Math.round(performance.now() - t0);
  log(`built ${files.length} files in ${ms} ms`);
  return { files, ms };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { files, ms } = await build({ declarations: process.argv.includes('--declarations') });
    if (!process.argv.includes('--quiet')) {
      for (const f of files.filter((f) => !f.endsWith('.map'))) console.log(f);
      console.log(`built in ${ms} ms`);
    }
  } catch (err) {
    // esbuild already formats its errors; print them once, without a stack.
    if (err?.errors) console.error(esbuild.formatMessagesSync(err.errors, { kind: 'error' }).join(''));
    else console.error(err);
    process.exit(1);
  }
}
