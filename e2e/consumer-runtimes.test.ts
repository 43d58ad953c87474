// Published through the gateway, consumed in each runtime: LitePullConsumer + WebSocketTransport
// through the real gateway CLI (--enable-consumer, dev token) in real workerd (miniflare; the
// consumer polls within one request) and in real Deno, and over TCP in Node. Every acknowledged
// message is received, bodies (a compressed one too), tags, keys and properties equal.
// Chromium: e2e/consumer.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { Miniflare } from 'miniflare';
import { Producer } from '@rocketmq-edge/core';
import { LitePullConsumer } from '@rocketmq-edge/core/consumer';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { GatewayProcess, ROOT, denoExe, freePort, namesrvOf, tempDir } from './support.js';

const TOPIC = 'e2e-runtimes';
interface Seen { msgId: string; body: string; tags?: string; keys?: string; n?: string }

// The consumer's part in every runtime: read `want` messages of the topic as a new group (at most
// 20 s), shut down, and return what came. A function's source, evaluated in the runtime.
const CONSUME = `async function consume(rmq, transport, topic, group, want) {
  const consumer = new rmq.LitePullConsumer({ transport, consumerGroup: group, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
  consumer.subscribe(topic);
  await consumer.start();
  const got = [];
  const deadline = Date.now() + 20000;
  while (got.length < want && Date.now() < deadline) {
    for (const m of await consumer.poll(500)) {
      got.push({ msgId: m.msgId, body: new TextDecoder().decode(m.body), tags: m.tags, keys: m.keys, n: m.properties.n });
    }
  }
  await consumer.shutdown();
  return got;
}`;

const byId = (a: Seen, b: Seen) => a.msgId.localeCompare(b.msgId);

describe('LitePullConsumer in workerd, Deno and Node', { timeout: 180_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bundle: string;
  const sent: Seen[] = [];

  before(async () => {
    data = await tempDir();
    dir = await tempDir('rmq-edge-runtimes-');
    gateway = await GatewayProcess.start({ port: await freePort(), dataDir: data.path, extraArgs: ['--enable-consumer'] });
    // What an app that consumes bundles, built as the browser bundle is (+ the Workers socket factory).
    const { bundleOptions } = (await import(join(ROOT, 'scripts/build.mjs'))) as { bundleOptions: esbuild.BuildOptions };
    const out = await esbuild.build({
      ...bundleOptions,
      stdin: {
        contents: "export { LitePullConsumer } from '@rocketmq-edge/core/consumer';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';\n" +
          "export { fetchUpgradeWebSocket } from '../apps/worker/src/fetch-socket.ts';",
        resolveDir: join(ROOT, 'e2e'),
        loader: 'js',
      },
      outfile: 'rmq.js',
      write: false,
    });
    bundle = out.outputFiles![0]!.text;
    await writeFile(join(dir.path, 'rmq.js'), bundle);

    const producer = new Producer({ transport: new WebSocketTransport({ url: gateway.ready.wsUrl, token: gateway.ready.token! }), producerGroup: 'e2e-runtimes-pg' });
    await producer.start();
    for (let i = 0; i < 10; i++) {
      const body = i === 4 ? `${'compressible '.repeat(500)}#${i}` : `m${i}`; // ≥ 4096 bytes: sent compressed
      const r = await producer.send({ topic: TOPIC, body, tags: `T${i % 3}`, keys: `k${i}`, properties: { n: String(i) } });
      sent.push({ msgId: r.msgId, body, tags: `T${i % 3}`, keys: `k${i}`, n: String(i) });
    }
    await producer.shutdown();
    sent.sort(byId);
  });

  after(async () => {
    await gateway?.stop();
    await data?.remove();
    await dir?.remove();
  });

  test('workerd: a worker polls within one request and answers with every message', async () => {
    const mf = new Miniflare({
      compatibilityDate: '2026-04-20',
      modulesRoot: dir.path,
      modules: [
        { type: 'ESModule', path: join(dir.path, 'worker.js'), contents: `import * as rmq from './rmq.js';\n${CONSUME}\nexport default {
  async fetch(request, env) {
    const transport = new rmq.WebSocketTransport({ url: env.URL, token: env.TOKEN, webSocketFactory: rmq.fetchUpgradeWebSocket, heartbeatIntervalMs: 0 });
    return Response.json(await consume(rmq, transport, env.TOPIC, 'e2e-workerd', Number(env.WANT)));
  },
};` },
        { type: 'ESModule', path: join(dir.path, 'rmq.js'), contents: bundle },
      ],
      bindings: { URL: gateway.ready.wsUrl, TOKEN: gateway.ready.token!, TOPIC, WANT: String(sent.length) },
    });
    try {
      const res = await mf.dispatchFetch('https://consumer.example/');
      const got = await res.json() as Seen[];
      assert.deepEqual(got.sort(byId), sent);
    } finally {
      await mf.dispose();
    }
  });

  test('Deno: the same consumer in the deno binary', async () => {
    const script = join(dir.path, 'consume.js');
    await writeFile(script, `import * as rmq from './rmq.js';\n${CONSUME}
const transport = new rmq.WebSocketTransport({ url: Deno.env.get('URL'), token: Deno.env.get('TOKEN') });
console.log(JSON.stringify(await consume(rmq, transport, '${TOPIC}', 'e2e-deno', ${sent.length})));\n`);
    const child = spawn(denoExe(), ['run', '--allow-net=127.0.0.1', '--allow-env=URL,TOKEN', script], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', URL: gateway.ready.wsUrl, TOKEN: gateway.ready.token! },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0, err);
    const got = JSON.parse(out.trim().split('\n').at(-1)!) as Seen[];
    assert.deepEqual(got.sort(byId), sent);
  });

  test('Node over TCP: the same messages straight from the broker', async () => {
    const consume = new Function('return ' + CONSUME)() as (rmq: unknown, t: unknown, topic: string, group: string, want: number) => Promise<Seen[]>;
    const got = await consume({ LitePullConsumer }, new TcpTransport({ namesrvAddr: namesrvOf(gateway.ready) }), TOPIC, 'e2e-node-tcp', sent.length);
    assert.deepEqual(got.sort(byId), sent);
  });
});
