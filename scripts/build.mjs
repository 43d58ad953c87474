// Builds the browser bundle and the apps that import it.
//
//   dist/browser/rocketmq-edge.js   ONE minified ESM bundle of packages/transport-ws/src/browser.ts
//                                   (core's public API + WebSocketTransport), for every web runtime.
//   apps/demo/dist/                 index.html, style.css, app.js, rocketmq-edge.js (the gateway serves it at /)
//   apps/worker/dist/               worker.js + rocketmq-edge.js (a Cloudflare module worker)
//   apps/deno/dist/                 main.js + rocketmq-edge.js (a Deno.serve app)
//
// The apps import core through `packages/transport-ws/src/browser.js` in their TypeScript (so tsc
// checks them against the real types); here that import becomes `./rocketmq-edge.js`, a copy of the
// same bundle byte for byte, so no runtime gets its own fork of core.
//
// `node scripts/build.mjs` or `import { build } from './scripts/build.mjs'; await build()`.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const r = (...p) => join(root, ...p);

export const BUNDLE_ENTRY = r('packages/transport-ws/src/browser.ts');
export const BUNDLE_FILE = r('dist/browser/rocketmq-edge.js');
export const DEMO_DIST = r('apps/demo/dist');
export const WORKER_DIST = r('apps/worker/dist');
export const DENO_DIST = r('apps/deno/dist');

/** esbuild options shared by the browser bundle and bench/size.mjs. */
export const bundleOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
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

/**
 * Builds everything. Resolves with the written files (relative to the repo root) and the time taken.
 * Throws with esbuild's messages when a source does not compile.
 */
export async function build({ log = () => {} } = {}) {
  const t0 = performance.now();
  await mkdir(dirname(BUNDLE_FILE), { recursive: true });
  const bundle = await esbuild.build({
    ...bundleOptions,
    entryPoints: [BUNDLE_ENTRY],
    outfile: BUNDLE_FILE,
    sourcemap: 'linked',
    metafile: true,
  });
  const written = Object.keys(bundle.metafile.outputs);

  await Promise.all(apps.map(async (app) => {
    const dir = dirname(app.out);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
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
      metafile: true,
    });
    written.push(...Object.keys(res.metafile.outputs));
    const copies = [[BUNDLE_FILE, 'rocketmq-edge.js'], [`${BUNDLE_FILE}.map`, 'rocketmq-edge.js.map'],
      ...app.copy.map(([from, to]) => [r(from), to])];
    for (const [from, to] of copies) {
      await copyFile(from, join(dir, to));
      written.push(relative(root, join(dir, to)));
    }
  }));

  const ms = Math.round(performance.now() - t0);
  log(`built ${written.length} files in ${ms} ms`);
  return { files: written, ms };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { files, ms } = await build();
    for (const f of files.filter((f) => !f.endsWith('.map'))) console.log(f);
    console.log(`built in ${ms} ms`);
  } catch (err) {
    // esbuild already formats its errors; print them once, without a stack.
    if (err?.errors) console.error(esbuild.formatMessagesSync(err.errors, { kind: 'error' }).join(''));
    else console.error(err);
    process.exit(1);
  }
}
