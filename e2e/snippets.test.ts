// The README's snippets ("Publishing from each runtime") run as written, one per runtime, against a
// real gateway; only the URL, token and import paths are pointed at the test set-up. Each published
// message is looked up in the broker's store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';
import { readAll } from '@rocketmq-edge/broker/testing';
import {
  CHROMIUM, CHROMIUM_ARGS, GatewayProcess, ROOT, denoExe, freePort, namesrvOf, tempDir, until,
} from './support.js';

const BUNDLE = join(ROOT, 'dist/browser/rocketmq-edge.js');

/** In the README's "Publishing from each runtime" section: `#### Title` → the first code block under it. */
async function snippets(): Promise<Map<string, string>> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Publishing from each runtime');
  assert.ok(start >= 0, 'README section "Publishing from each runtime"');
  const end = readme.indexOf('\n## ', start + 1);
  const md = readme.slice(start, end < 0 ? undefined : end);
  const out = new Map<string, string>();
  for (const m of md.matchAll(/^#### (.+)\n[\s\S]*?^```\w*\n([\s\S]*?)^```/gm)) out.set(m[1]!.trim(), m[2]!);
  return out;
}

describe('README snippets', { timeout: 120_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let code: Map<string, string>;
  let token: string;
  const stored = async (topic: string, msgId: string) =>
    (await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic })).find((m) => m.msgId === msgId);

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    [data, work, code] = await Promise.all([tempDir(), tempDir('rmq-edge-snippet-'), snippets()]);
    gateway = await GatewayProcess.start({ port: await freePort(), dataDir: data.path });
    token = gateway.ready.token!;
    assert.deepEqual([...code.keys()], ['Browser', 'Cloudflare Workers', 'Deno', 'Node (≥ 20)', 'Node straight to RocketMQ over TCP (no gateway)',
      'Any runtime over HTTP (one request per publish)']);
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([data?.remove(), work?.remove(), rm(join(ROOT, 'e2e/.tmp'), { recursive: true, force: true })]);
  });

  test('browser', async () => {
    const html = code.get('Browser')!.replace('ws://127.0.0.1:8080/rmq', gateway.ready.wsUrl).replace('<dev token>', token);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      // The user's own page on its own (loopback) origin, beside its copy of the bundle.
      const bundle = await readFile(BUNDLE);
      const site = createServer((req, res) => {
        if (req.url === '/rocketmq-edge.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
        else res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><body style="height:400px">${html}</body>`);
      });
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
      after(() => new Promise((r) => site.close(r)));
      await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      await page.waitForLoadState('networkidle'); // the module (and its click listener) is in
      await page.mouse.click(120, 80);
      const line = await until(() => logs.find((l) => l.startsWith('stored') || l.startsWith('not stored')), 10_000, 'send result');
      const [, status, msgId] = line.split(' ');
      assert.equal(status, 'SEND_OK', logs.join('\n'));
      const m = await stored('demo-events', msgId!);
      assert.ok(m, 'stored');
      assert.equal(m.properties.TAGS, 'click');
      assert.deepEqual(JSON.parse(new TextDecoder().decode(m.body)), { x: 120, y: 80 });
    } finally {
      await browser.close();
    }
  });

  test('Cloudflare Workers (workerd)', async () => {
    const worker = code.get('Cloudflare Workers')!.replace("'@rocketmq-edge/transport-ws/browser'", "'./rocketmq-edge.js'");
    const mf = new Miniflare({
      compatibilityDate: '2026-04-20',
      modulesRoot: work.path,
      modules: [
        { type: 'ESModule', path: join(work.path, 'worker.js'), contents: worker },
        { type: 'ESModule', path: join(work.path, 'rocketmq-edge.js'), contents: await readFile(BUNDLE, 'utf8') },
      ],
      bindings: { RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: token },
    });
    try {
      const res = await mf.dispatchFetch('https://example.com/signup', { method: 'POST', body: 'name=ada' });
      const result = await res.json() as { sendStatus: string; msgId: string };
      assert.equal(res.status, 200, JSON.stringify(result));
      const m = await stored('edge-requests', result.msgId);
      assert.ok(m, 'stored');
      assert.deepEqual(JSON.parse(new TextDecoder().decode(m.body)), { method: 'POST', url: 'https://example.com/signup', body: 'name=ada' });
    } finally {
      await mf.dispose();
    }
  });

  test('Deno', async () => {
    await writeFile(join(work.path, 'server.ts'), code.get('Deno')!);
    await copyFile(BUNDLE, join(work.path, 'rocketmq-edge.js'));
    const port = await freePort();
    const deno = spawn(denoExe(), ['run', '--allow-net=127.0.0.1', '--allow-env=RMQ_WS_URL,RMQ_TOKEN,PORT', 'server.ts'], {
      cwd: work.path,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: token, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    createInterface({ input: deno.stdout! }).on('line', (l) => out.push(l));
    createInterface({ input: deno.stderr! }).on('line', (l) => out.push(l));
    const exited = new Promise((r) => deno.once('exit', r));
    try {
      await until(() => out.some((l) => l.includes('Listening on')) || deno.exitCode !== null, 30_000, 'deno listening');
      assert.equal(deno.exitCode, null, out.join('\n'));
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'PUT', body: 'from deno' });
      const result = await res.json() as { msgId: string };
      assert.equal(res.status, 200, JSON.stringify(result));
      const m = await stored('edge-requests', result.msgId);
      assert.ok(m, 'stored');
      assert.equal(m.properties.TAGS, 'PUT');
      assert.equal(new TextDecoder().decode(m.body), 'from deno');
    } finally {
      deno.kill('SIGKILL');
      await exited;
    }
  });

  test('Node, on the built packages (packages/*/dist, what the exports maps give a user)', async () => {
    // Inside e2e/ so that '@rocketmq-edge/*' resolve through e2e/node_modules; no "source" condition,
    // so they resolve to dist/ (npm test builds first). tsx only strips the snippet's own types.
    const dir = join(ROOT, 'e2e/.tmp');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'node-snippet.ts'), code.get('Node (≥ 20)')!);
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'node-snippet.ts')], {
      cwd: ROOT, env: { ...process.env, RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: token }, timeout: 30_000, encoding: 'utf8',
    });
    const [status, msgId, queueId, offset] = stdout.trim().split(/\s+/);
    assert.equal(status, 'SEND_OK', stdout);
    const m = await stored('orders', msgId!);
    assert.ok(m, 'stored');
    assert.equal(m.queueId, Number(queueId));
    assert.equal(m.queueOffset, Number(offset));
    assert.equal(m.properties.KEYS, 'order-42');
  });

  test('Node over TCP, no gateway, on the built packages', async () => {
    const dir = join(ROOT, 'e2e/.tmp');
    await mkdir(dir, { recursive: true });
    const snippet = code.get('Node straight to RocketMQ over TCP (no gateway)')!.replace('127.0.0.1:9876', namesrvOf(gateway.ready));
    await writeFile(join(dir, 'tcp-snippet.ts'), snippet);
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'tcp-snippet.ts')], {
      cwd: ROOT, timeout: 30_000, encoding: 'utf8',
    });
    const [status, msgId] = stdout.trim().split(/\s+/);
    assert.equal(status, 'SEND_OK', stdout);
    const m = await stored('orders', msgId!);
    assert.ok(m, 'stored');
    assert.equal(new TextDecoder().decode(m.body), 'hello');
    assert.equal(m.properties.TAGS, 'tcp');
  });

  test('any runtime over HTTP (HttpProducer, on the built packages), twice with one msgId: stored once', async () => {
    const dir = join(ROOT, 'e2e/.tmp');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'http-snippet.ts'), code.get('Any runtime over HTTP (one request per publish)')!);
    const run = () => execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'http-snippet.ts')], {
      cwd: ROOT, env: { ...process.env, RMQ_HTTP_URL: gateway.ready.url, RMQ_TOKEN: token }, timeout: 30_000, encoding: 'utf8',
    }).trim().split(/\s+/);
    const [status, msgId, brokerName, queueId, offset, duplicate] = run();
    assert.deepEqual([status, msgId, brokerName, duplicate], ['SEND_OK', 'order-43-created', 'broker-a@0', 'false']);
    assert.equal(run()[5], 'true', 'the second run is answered from the idempotency window');
    const all = (await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: 'orders' })).filter((m) => m.msgId === msgId);
    assert.equal(all.length, 1, 'stored once');
    assert.equal(all[0]!.queueId, Number(queueId));
    assert.equal(all[0]!.queueOffset, Number(offset));
    assert.equal(all[0]!.properties.KEYS, 'order-43');
  });
});
