// The page under test in this package's own specs: a shop whose button publishes an order with the
// browser bundle, served from loopback (Chromium's local network access checks refuse a page.route
// origin the loopback gateway), told the gateway and topic in its URL.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { Page } from '@playwright/test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let bundle: Promise<Uint8Array> | undefined;

/** What an app that publishes bundles, built as the browser bundle is. */
function build(): Promise<Uint8Array> {
  return (bundle ??= (async () => {
    const { bundleOptions } = (await import(join(ROOT, 'scripts/build.mjs'))) as { bundleOptions: esbuild.BuildOptions };
    const out = await esbuild.build({
      ...bundleOptions,
      stdin: { contents: "export { Producer, WebSocketTransport } from '@rocketmq-edge/transport-ws/browser';", resolveDir: join(ROOT, 'e2e'), loader: 'js' },
      outfile: 'rmq.js',
      write: false,
    });
    return out.outputFiles![0]!.contents;
  })());
}

const HTML = `<!doctype html><button id="order">Place order</button><p id="status"></p>
<script type="module">
import { Producer, WebSocketTransport } from '/rmq.js';
const q = new URLSearchParams(location.search);
const producer = new Producer({ transport: new WebSocketTransport({ url: q.get('gw'), token: q.get('token') }) });
await producer.start();
let n = 0;
document.querySelector('#order').onclick = async () => {
  const id = 42 + n++;
  try {
    const r = await producer.send({ topic: q.get('topic'), tags: 'created', keys: 'order-' + id, body: JSON.stringify({ id, total: 9.5 }) });
    document.querySelector('#status').textContent = 'sent ' + r.msgId;
  } catch (e) {
    document.querySelector('#status').textContent = 'failed: ' + e.message;
  }
};
window.ready = true;
</script>`;

let site: Promise<string> | undefined;

/** The shop on a loopback HTTP server (one per worker; it does not keep the worker alive). */
function serve(): Promise<string> {
  return (site ??= build().then((js) => new Promise<string>((resolve) => {
    const server = createServer((req, res) => {
      if (req.url === '/rmq.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(HTML);
    });
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    server.unref();
  })));
}

/** Opens the shop page publishing to `topic` through `gateway`. */
export async function openShop(page: Page, gateway: { url: string; token: string }, topic: string): Promise<void> {
  const q = new URLSearchParams({ gw: gateway.url, token: gateway.token, topic });
  await page.goto(`${await serve()}/?${q}`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}

/** Clicks "Place order" and waits until the page says the broker acknowledged it. */
export async function placeOrder(page: Page): Promise<void> {
  await page.locator('#status').evaluate((el) => { el.textContent = ''; });
  await page.click('#order');
  const status = page.locator('#status');
  await status.filter({ hasText: /^(sent|failed)/ }).waitFor();
  const text = await status.textContent();
  if (!text?.startsWith('sent ')) throw new Error(`the page could not publish: ${text}`);
}
