// A page that loads a library built from `source` (export lines) exactly as the browser bundle is
// built, as `window.rmq`: what an app importing those names ships.
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type * as esbuild from 'esbuild';
import { ROOT } from './support.js';

/** Serves the page at `/` and the library at `/rmq.js` on 127.0.0.1 (a free port); close it when done. */
export async function servePageLibrary(source: string): Promise<Server> {
  const { bundleOptions } = (await import(join(ROOT, 'scripts/build.mjs'))) as { bundleOptions: esbuild.BuildOptions };
  const { build } = await import('esbuild');
  const bundle = await build({
    ...bundleOptions,
    stdin: { contents: source, resolveDir: join(ROOT, 'e2e'), loader: 'js' },
    outfile: 'rmq.js',
    write: false,
  });
  const js = bundle.outputFiles![0]!.contents;
  const site = createServer((req, res) => {
    if (req.url === '/rmq.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module">import * as rmq from "/rmq.js"; window.rmq = rmq;</script>');
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  return site;
}
