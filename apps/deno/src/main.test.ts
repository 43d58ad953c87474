// The Deno app (built bundle) in the real `deno` binary against the real gateway CLI + embedded
// broker on loopback, on both paths (WebSocket: RMQ_WS_URL; HTTP: RMQ_HTTP_URL); every published
// request is looked up in the broker's store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readAll } from '@rocketmq-edge/broker/testing';
import { GatewayProcess, ROOT, denoExe, freePort, namesrvOf, tempDir } from '../../../e2e/support.js';

const TOPIC = 'edge-requests';

interface DenoApp { deno: ChildProcess; url: string; stderr: string[]; stop(): Promise<void> }

/** Runs apps/deno/dist/main.js with `env` and waits for its ready line. */
async function startApp(env: Record<string, string>): Promise<DenoApp> {
  const stderr: string[] = [];
  const deno = spawn(denoExe(), ['run', '--allow-net=127.0.0.1',
    '--allow-env=RMQ_WS_URL,RMQ_HTTP_URL,RMQ_TOKEN,RMQ_TOPIC,RMQ_PRODUCER_GROUP,PORT,HOSTNAME',
    join(ROOT, 'apps/deno/dist/main.js')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', RMQ_TOPIC: TOPIC, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: deno.stderr! }).on('line', (l) => stderr.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deno app not ready:\n${stderr.join('\n')}`)), 30_000);
    createInterface({ input: deno.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; url?: string };
        if (msg.event === 'ready' && msg.url) { clearTimeout(timer); resolve(msg.url); }
      } catch { /* not ours */ }
    });
    deno.once('exit', (code) => { clearTimeout(timer); reject(new Error(`deno exited ${code}:\n${stderr.join('\n')}`)); });
  });
  const stop = async () => {
    if (deno.exitCode !== null || deno.signalCode !== null) return;
    const exited = new Promise((r) => deno.once('exit', r));
    deno.kill('SIGTERM');
    const timer = setTimeout(() => deno.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { deno, url, stderr, stop };
}

describe('Deno.serve app in deno', { timeout: 120_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let ws: DenoApp;
  let http: DenoApp;

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    data = await tempDir();
    gateway = await GatewayProcess.start({ port: await freePort(), dataDir: data.path });
    const token = gateway.ready.token ?? '';
    [ws, http] = await Promise.all([
      startApp({ RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: token }),
      startApp({ RMQ_HTTP_URL: gateway.ready.url, RMQ_TOKEN: token }),
    ]);
  });

  after(async () => {
    await Promise.all([ws?.stop(), http?.stop()]);
    await gateway?.stop();
    await data?.remove();
  });

  test('publishes each request and answers with the SendResult', async () => {
    const results = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${ws.url}events/${i}`, {
        method: 'POST', headers: { 'content-type': 'text/plain', 'x-request-id': `deno-${i}` }, body: `hello ${i}`,
      });
      const json = await res.json() as { sendStatus: string; msgId: string; queueOffset: number; messageQueue: { queueId: number } };
      assert.equal(res.status, 200, JSON.stringify(json));
      assert.equal(json.sendStatus, 'SEND_OK');
      results.push(json);
    }
    const stored = new Map((await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: TOPIC })).map((m) => [m.msgId, m]));
    for (const [i, r] of results.entries()) {
      const m = stored.get(r.msgId);
      assert.ok(m, `${r.msgId} stored`);
      assert.equal(m.queueId, r.messageQueue.queueId);
      assert.equal(m.queueOffset, r.queueOffset);
      const event = JSON.parse(new TextDecoder().decode(m.body));
      assert.equal(event.method, 'POST');
      assert.equal(event.url, `${ws.url}events/${i}`);
      assert.equal(event.body, `hello ${i}`);
      assert.equal(event.headers['x-request-id'], `deno-${i}`);
    }
    // One producer for the process: one WebSocket, connected once.
    const connected = ws.stderr.filter((l) => l.includes('"type":"connected"'));
    assert.equal(connected.length, 1, ws.stderr.join('\n'));
  });

  test('HTTP path (RMQ_HTTP_URL): each request is one fetch to the gateway, stored as sent; no WebSocket', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
      const res = await fetch(`${http.url}http/${i}`, { method: 'POST', headers: { 'x-request-id': `dh-${i}` }, body: `over http ${i}` });
      const json = await res.json() as { sendStatus: string; msgId: string; brokerName: string; queueId: number; queueOffset: number };
      assert.equal(res.status, 200, JSON.stringify(json));
      assert.equal(json.brokerName, 'broker-a@0');
      return json;
    }));
    const stored = new Map((await readAll({ namesrvAddr: namesrvOf(gateway.ready), topic: TOPIC })).map((m) => [m.msgId, m]));
    for (const [i, r] of results.entries()) {
      const m = stored.get(r.msgId);
      assert.ok(m, `${r.msgId} stored`);
      assert.equal(m.queueOffset, r.queueOffset);
      assert.equal(m.properties.KEYS, `dh-${i}`);
      assert.equal(JSON.parse(new TextDecoder().decode(m.body)).body, `over http ${i}`);
    }
    assert.ok(!http.stderr.some((l) => l.includes('"event":"transport"')), 'no WebSocket transport on the HTTP path');
  });

  test('SIGTERM shuts the server and the producer down, exit code 0', async () => {
    for (const app of [ws, http]) {
      const exited = new Promise<number | null>((r) => app.deno.once('exit', (code) => r(code)));
      app.deno.kill('SIGTERM');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r('timeout'), 5000); })]);
      clearTimeout(timer);
      assert.equal(code, 0, app.stderr.join('\n'));
    }
    assert.ok(ws.stderr.some((l) => l.includes('"type":"closed"')), 'the transport was closed');
  });
});
