// What the outbox e2e tests share: the test page (e2e/outbox-page.ts over the two prebuilt browser
// files) written to a folder the gateway serves as its demo dir, a second origin serving the same
// folder, Playwright route fulfilment of it (pages that load while offline), tokens, and the
// broker's store read back per message id.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readAll } from '@rocketmq-edge/broker/testing';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, hs256, sleep } from './support.js';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** index.html runs the outbox page; away.html is a page without the outbox (where a test navigates to). */
export async function writeOutboxSite(dir: string): Promise<void> {
  const { build } = await import(join(ROOT, 'scripts/build.mjs')) as { build(): Promise<unknown> };
  await build();
  for (const f of ['rocketmq-edge.js', 'rocketmq-edge-outbox.js']) await copyFile(join(ROOT, 'dist/browser', f), join(dir, f));
  await esbuild.build({
    entryPoints: [join(ROOT, 'e2e/outbox-page.ts')],
    outfile: join(dir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [{
      name: 'prebuilt-files',
      setup(b) {
        b.onResolve({ filter: /transport-ws\/src\/browser\.js$/ }, () => ({ path: './rocketmq-edge.js', external: true }));
        b.onResolve({ filter: /transport-ws\/src\/outbox\.js$/ }, () => ({ path: './rocketmq-edge-outbox.js', external: true }));
      },
    }],
  });
  await writeFile(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>outbox</title><script type="module" src="./app.js"></script>\n');
  await writeFile(join(dir, 'away.html'), '<!doctype html><meta charset="utf-8"><title>away</title><p>no outbox here</p>\n');
}

/** The site on another origin (http://localhost:<port>), for the cross-origin (beacon) form. */
export async function serveSite(dir: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '') || 'index.html';
    if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
    readFile(join(dir, name)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { origin: `http://localhost:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Serves the site to `page` under `origin` from the test itself: loads while the browser is offline. */
export async function routeSite(page: Page, origin: string, dir: string): Promise<void> {
  await page.route(`${origin}/*.{html,js}*`, async (route) => {
    const name = new URL(route.request().url()).pathname.replace(/^\/+/, '');
    await route.fulfill({ status: 200, contentType: TYPES[extname(name)], body: await readFile(join(dir, name)) });
  });
}

export const SECRET = 'outbox-e2e-secret-0123456789-0123456789';
/** A token for `topics`, valid for an hour. */
export const tokenFor = (sub: string, topics: string[]): string =>
  hs256(SECRET, { sub, topics, exp: Math.floor(Date.now() / 1000) + 3600 });

/** The page URL with its settings in the query string. */
export function pageUrl(origin: string, settings: Record<string, string | number>): string {
  return `${origin}/index.html?${new URLSearchParams(Object.entries(settings).map(([k, v]) => [k, String(v)]))}`;
}

/** How many copies of each message id (UNIQ_KEY) the broker holds for `topic`. */
export async function storedCopies(namesrvAddr: string, topic: string): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  for (const m of await readAll({ namesrvAddr, topic })) copies.set(m.msgId, (copies.get(m.msgId) ?? 0) + 1);
  return copies;
}

/** Of `ids`: how many are stored, how many are missing, and the extra copies (duplicates) among them. */
export function tally(ids: string[], copies: Map<string, number>): { stored: number; missing: string[]; duplicates: number } {
  const missing = ids.filter((id) => !copies.has(id));
  const duplicates = ids.reduce((n, id) => n + Math.max(0, (copies.get(id) ?? 0) - 1), 0);
  return { stored: ids.length - missing.length, missing, duplicates };
}

/**
 * Waits until every one of `ids` is stored under `topic` (or `timeoutMs` passed), then a moment
 * more so a late copy would be counted too; the tally of that last read.
 */
export async function settled(namesrvAddr: string, topic: string, ids: string[], timeoutMs = 20_000): Promise<ReturnType<typeof tally>> {
  const t0 = Date.now();
  while (tally(ids, await storedCopies(namesrvAddr, topic)).missing.length && Date.now() - t0 < timeoutMs) await sleep(250);
  await sleep(1000);
  return tally(ids, await storedCopies(namesrvAddr, topic));
}

/**
 * Chromium as a process of the test's own, on a profile folder, driven over CDP: the test can kill
 * it outright (SIGKILL, the whole process group) and start another on the same profile.
 */
export class ChromiumProcess {
  private constructor(readonly child: ChildProcess, readonly browser: Browser) {}

  static async start(profile: string): Promise<ChromiumProcess> {
    const child = spawn(CHROMIUM, [...CHROMIUM_ARGS, '--headless=new', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Chromium printed no DevTools endpoint')), 30_000);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`Chromium exited with ${code}`)));
    });
    return new ChromiumProcess(child, await chromium.connectOverCDP(endpoint));
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    process.kill(-this.child.pid!, 'SIGKILL');
    await exited;
  }
}
