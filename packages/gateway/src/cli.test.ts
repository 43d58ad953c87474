// The rocketmq-edge command as a real process: ready line, dev token, demo config, SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@rocketmq-edge/core/internal';
import { WebSocketTransport } from '@rocketmq-edge/transport-ws';
import { REPO_ROOT } from './test-support.js';

const BIN = join(REPO_ROOT, 'packages/gateway/bin/rocketmq-edge.mjs');

test('--help', () => {
  const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--namesrv/);
  assert.match(r.stdout, /ROCKETMQ_EDGE_PORT/);
});

test('no flags: embedded broker + gateway; ready JSON line; dev token works; token survives a restart with --embedded-broker thread; SIGTERM exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const start = async (...extra: string[]) => {
    const child = spawn(process.execPath, [BIN, '--port', '0', '--data', dir, '--no-demo', '--log-level', 'warn', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROCKETMQ_EDGE_RATE: '5000' },
    });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const ready = await new Promise<{ event: string; url: string; wsUrl: string; token: string; embeddedBroker: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready:\n${out}\n${err}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'));
        if (line) { clearTimeout(timer); resolve(JSON.parse(line)); }
      });
      child.once('exit', () => { clearTimeout(timer); reject(new Error(`exited:\n${out}\n${err}`)); });
    });
    return { child, ready };
  };
  const { child, ready } = await start();
  assert.equal(ready.event, 'ready');
  assert.equal(ready.embeddedBroker, availableParallelism() >= 3 ? 'thread' : 'inline', 'auto by default');
  assert.match(ready.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/rmq$/);
  assert.equal(ready.token.split('.').length, 3, 'a JWT');
  const cfg = await (await fetch(new URL('/demo-config.json', ready.url))).json() as { wsUrl: string; token: string; topic: string };
  assert.deepEqual(cfg, { wsUrl: ready.wsUrl, token: ready.token, topic: 'demo-events' });
  const send = async (wsUrl: string, token: string) => {
    const transport = new WebSocketTransport({ url: wsUrl, token });
    const producer = new Producer({ transport, producerGroup: 'cli-test' });
    try {
      await producer.start();
      return await producer.send({ topic: 'demo-events', body: 'hello from the cli test' });
    } finally {
      await producer.shutdown();
      await transport.close();
    }
  };
  assert.equal((await send(ready.wsUrl, ready.token)).sendStatus, 'SEND_OK');
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0);
  // same data dir → same dev secret → the old token still works
  const second = await start('--embedded-broker', 'thread');
  assert.equal(second.ready.embeddedBroker, 'thread');
  assert.equal((await send(second.ready.wsUrl, ready.token)).sendStatus, 'SEND_OK');
  second.child.kill('SIGTERM');
  await new Promise((r) => second.child.once('exit', r));
});

test('a bad --embedded-broker value is refused with what to pass', () => {
  const r = spawnSync(process.execPath, [BIN, '--port', '0', '--embedded-broker', 'fork', '--no-demo'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--embedded-broker must be auto, thread or inline, got fork/);
});

test('--embedded-broker: auto picks a thread with 3+ cores, inline below; explicit values win; anything else is refused', async () => {
  const { embeddedBrokerMode } = await import('./cli.js');
  assert.equal(embeddedBrokerMode(undefined, 2), 'inline');
  assert.equal(embeddedBrokerMode('auto', 3), 'thread');
  assert.equal(embeddedBrokerMode(undefined, 16), 'thread');
  assert.equal(embeddedBrokerMode('INLINE', 16), 'inline');
  assert.equal(embeddedBrokerMode('thread', 1), 'thread');
  assert.throws(() => embeddedBrokerMode('fork', 4), /--embedded-broker must be auto, thread or inline, got fork/);
});

test('unknown flags and config keys are refused in one line with the nearest name, exit code 2; nothing starts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-cli-usage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, '--data', dir, ...args], { encoding: 'utf8', timeout: 20_000 });
  const refused = (r: ReturnType<typeof run>, message: RegExp) => {
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${r.stderr}`);
    assert.equal(r.stdout, '', 'no ready line');
  };
  refused(run('--prot', '9000'), /^rocketmq-edge: unknown option --prot \(did you mean --port\?\)/);
  refused(run('--bogus', 'x'), /^rocketmq-edge: unknown option --bogus \(see --help\)/);
  refused(run('--port'), /--port needs a value/);
  refused(run('stray'), /unexpected argument stray/);
  const config = join(dir, 'gateway.json');
  await writeFile(config, JSON.stringify({ namesrvv: '10.0.0.1:9876' }));
  refused(run('--config', config), new RegExp(`unknown key in ${config}: namesrvv \\(did you mean namesrv\\?\\)`));
  await writeFile(config, '{"port": 80,');
  refused(run('--config', config), new RegExp(`config file ${config} is not valid JSON`));
  refused(run('--config', join(dir, 'missing.json')), /config file .*missing\.json: not found/);
  refused(run('--port', '70000'), /--port must be a port number 0\.\.65535 \(0 = any free port\), got 70000/);
  refused(run('--namesrv', '10.0.0.1;10.0.0.2:9876', '--static-token', 't=x'), /--namesrv entry "10\.0\.0\.1" is not host:port/);
});

test('a port in use is one line naming the port and what to do, exit code 1; the banner names no demo page under --no-demo', async (t) => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.after(() => taken.close());
  const port = (taken.address() as AddressInfo).port;
  const common = ['--namesrv', '127.0.0.1:1', '--static-token', 't=orders-*', '--no-demo', '--log-level', 'warn'];
  const busy = spawnSync(process.execPath, [BIN, '--port', String(port), ...common], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(busy.status, 1, busy.stderr);
  assert.equal(busy.stderr.trim(), `rocketmq-edge: port ${port} on 127.0.0.1 is in use: stop what listens there, or pass another --port (0 = any free port)`);
  const child = spawn(process.execPath, [BIN, '--port', '0', ...common], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner: ${err}`)), 20_000);
    child.stderr.on('data', () => { if (err.includes('health')) { clearTimeout(timer); resolve(); } });
  });
  assert.match(err, /WebSocket : ws:\/\//);
  assert.doesNotMatch(err, /demo page/);
});

test('HTTP publish flags: --http-max-body-bytes and --http-rate bound the API; --no-http-publish turns it off', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-cli-http-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const start = async (...extra: string[]) => {
    const child = spawn(process.execPath, [BIN, '--port', '0', '--data', dir, '--no-demo', '--log-level', 'warn', '--static-token', 'cli-http=http-*', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let out = '';
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready:\n${out}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'));
        if (line) { clearTimeout(timer); resolve(JSON.parse(line)); }
      });
      child.once('exit', () => { clearTimeout(timer); reject(new Error(`exited:\n${out}`)); });
    });
    const stop = async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); };
    return { url: ready.url, stop };
  };
  const post = (url: string, body: string) =>
    fetch(new URL('/v1/topics/http-cli/messages', url), { method: 'POST', headers: { authorization: 'Bearer cli-http' }, body });
  const gw = await start('--http-max-body-bytes', '2048', '--http-rate', '3', '--http-burst', '3');
  assert.equal((await post(gw.url, 'x'.repeat(2000))).status, 200);
  assert.equal((await post(gw.url, 'x'.repeat(2049))).status, 413);
  // at most 3 tokens at any moment: of 6 requests at once, some are refused
  const statuses = await Promise.all(Array.from({ length: 6 }, async () => (await post(gw.url, 'x')).status));
  assert.ok(statuses.includes(429), String(statuses));
  await gw.stop();
  const off = await start('--no-http-publish');
  assert.equal((await post(off.url, 'x')).status, 405);
  await off.stop();
});
