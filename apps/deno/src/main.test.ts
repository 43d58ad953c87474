// The Deno app (built bundle) in the real `deno` binary against the real gateway CLI + embedded
// broker on loopback; every published request is looked up in the broker's store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readAll } from '@rocketmq-edge/broker/testing';
import { GatewayProcess, ROOT, denoExe, freePort, namesrvOf, tempDir } from '../../../e2e/support.js';

const TOPIC = 'edge-requests';

describe('Deno.serve app in deno', { timeout: 90_000 }, () => {
  let gateway: GatewayProcess;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let deno: ChildProcess;
  let url: string;
  const stderr: string[] = [];

  before(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    data = await tempDir();
    gateway = await GatewayProcess.start({ port: await freePort(), dataDir: data.path });
    deno = spawn(denoExe(), ['run', '--allow-net=127.0.0.1',
      '--allow-env=RMQ_WS_URL,RMQ_TOKEN,RMQ_TOPIC,RMQ_PRODUCER_GROUP,PORT,HOSTNAME',
      join(ROOT, 'apps/deno/dist/main.js')], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1',
        RMQ_WS_URL: gateway.ready.wsUrl, RMQ_TOKEN: gateway.ready.token ?? '', RMQ_TOPIC: TOPIC, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: deno.stderr! }).on('line', (l) => stderr.push(l));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deno app not ready:\n${stderr.join('\n')}`)), 30_000);
      createInterface({ input: deno.stdout! }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string };
          if (msg.event === 'ready' && msg.url) { clearTimeout(timer); resolve(msg.url); }
        } catch { /* not ours */ }
      });
      deno.once('exit', (code) => { clearTimeout(timer); reject(new Error(`deno exited ${code}:\n${stderr.join('\n')}`)); });
    });
  });

  after(async () => {
    if (deno && deno.exitCode === null) {
      const exited = new Promise((r) => deno.once('exit', r));
      deno.kill('SIGTERM');
      const timer = setTimeout(() => deno.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await gateway?.stop();
    await data?.remove();
  });

  test('publishes each request and answers with the SendResult', async () => {
    const results = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${url}events/${i}`, {
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
      assert.equal(event.url, `${url}events/${i}`);
      assert.equal(event.body, `hello ${i}`);
      assert.equal(event.headers['x-request-id'], `deno-${i}`);
    }
    // One producer for the process: one WebSocket, connected once.
    const connected = stderr.filter((l) => l.includes('"type":"connected"'));
    assert.equal(connected.length, 1, stderr.join('\n'));
  });

  test('SIGTERM shuts the server and the producer down, exit code 0', async () => {
    const exited = new Promise<number | null>((r) => deno.once('exit', (code) => r(code)));
    deno.kill('SIGTERM');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r('timeout'), 5000); })]);
    clearTimeout(timer);
    assert.equal(code, 0, stderr.join('\n'));
    assert.ok(stderr.some((l) => l.includes('"type":"closed"')), 'the transport was closed');
  });
});
