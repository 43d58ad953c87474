// Development mode through the rocketmq-edge command: only when asked for (--dev) or when no
// authentication is configured at all, and its token is never signed with the operator's secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeJwt, jwtVerify } from 'jose';
import { ResponseCode } from '@rocketmq-edge/core/internal';
import { REPO_ROOT, httpGet, rawClient, sendV2, spawnGatewayCli, startFakeCluster, waitFor } from './test-support.js';

const SECRET = 'the-operators-secret-0123456789-0123456789';
const enc = new TextEncoder();

async function tempData(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-dev-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const portOf = (url: string) => Number(new URL(url).port);
/** The banner (stderr) follows the ready line (stdout). */
const banner = async (output: () => string) => { await waitFor(() => /dev mode\s*:.*\n/.test(output()), 10_000, 'banner'); return output(); };

test('--jwt-secret without --dev (embedded broker): no dev mode, no /demo-config.json, no token in the ready line', async (t) => {
  const dir = await tempData(t);
  const { ready, readyLine, output } = await spawnGatewayCli(t, ['--jwt-secret', SECRET, '--data', dir, '--no-demo', '--embedded-broker', 'inline']);
  assert.equal(ready.token, null);
  assert.equal(ready.dev, false);
  assert.doesNotMatch(readyLine, /eyJ/, 'no JWT anywhere in the ready line');
  assert.match(await banner(output), /dev mode\s*: off/);
  assert.doesNotMatch(output(), /eyJ/, 'nor in the banner');
  const cfg = await httpGet(portOf(ready.url), '/demo-config.json', { Host: `127.0.0.1:${portOf(ready.url)}` });
  assert.equal(cfg.status, 404);
  assert.doesNotMatch(cfg.body, /token/);
  // the operator's own tokens work
  const op = await new SignJWT({ topics: ['demo-*'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(enc.encode(SECRET));
  const c = rawClient(ready.wsUrl, ['rocketmq-edge.v1', `bearer.${op}`]);
  assert.equal(await c.opened, true);
  c.ws.close();
  // and must expire, without --jwt-allow-no-expiry
  const forever = await new SignJWT({ topics: ['demo-*'] }).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(SECRET));
  const refused = rawClient(ready.wsUrl, ['rocketmq-edge.v1', `bearer.${forever}`]);
  assert.equal(await refused.opened, false);
  const closed = await refused.closed;
  assert.equal(closed.code, 4401);
  assert.match(closed.reason, /no "exp" claim/);
});

test('--dev with --jwt-secret: the dev token is signed with the development secret beside the data, not the operator\'s; both work', async (t) => {
  const { namesrv } = await startFakeCluster(t);
  const dir = await tempData(t);
  const { ready, output } = await spawnGatewayCli(t, ['--namesrv', namesrv.addr, '--jwt-secret', SECRET, '--dev', '--data', dir, '--no-demo', '--jwt-allow-no-expiry']);
  assert.equal(ready.dev, true);
  assert.match(String(ready.devReason), /--dev/);
  assert.match(await banner(output), /dev mode\s*: on \(--dev\)/);
  const token = ready.token!;
  assert.equal(token.split('.').length, 3);
  await assert.rejects(jwtVerify(token, enc.encode(SECRET)), 'not verifiable with the operator\'s secret');
  const devSecret = (await readFile(join(dir, 'gateway-dev-secret'), 'utf8')).trim();
  assert.notEqual(devSecret, SECRET);
  const { payload } = await jwtVerify(token, enc.encode(devSecret));
  assert.deepEqual(payload.topics, ['*']);
  assert.ok(typeof decodeJwt(token).exp === 'number', 'the dev token expires');
  // /demo-config.json hands it out on loopback names only
  const port = portOf(ready.url);
  const cfg = await httpGet(port, '/demo-config.json', { Host: `127.0.0.1:${port}` });
  assert.equal(cfg.status, 200);
  assert.equal((JSON.parse(cfg.body) as { token: string }).token, token);
  assert.notEqual((await httpGet(port, '/demo-config.json', { Host: `evil.example:${port}` })).status, 200);
  // the dev token and the operator's tokens are both accepted, and both send
  // (--jwt-allow-no-expiry is the operator's choice for the operator's tokens only)
  const op = await new SignJWT({ topics: ['demo-*'] }).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(SECRET));
  const devForever = await new SignJWT({ topics: ['*'] }).setProtectedHeader({ alg: 'HS256' }).sign(enc.encode(devSecret));
  assert.equal((await rawClient(ready.wsUrl, ['rocketmq-edge.v1', `bearer.${devForever}`]).closed).code, 4401);
  for (const tok of [token, op]) {
    const c = rawClient(ready.wsUrl, ['rocketmq-edge.v1', `bearer.${tok}`]);
    assert.equal(await c.opened, true);
    assert.equal((await c.request('broker-a@0', sendV2('demo-events'))).code, ResponseCode.SUCCESS);
    c.ws.close();
  }
});

test('no authentication at all turns dev mode on and says why; --no-dev then refuses to start', async (t) => {
  const { namesrv } = await startFakeCluster(t);
  const dir = await tempData(t);
  const { ready, output } = await spawnGatewayCli(t, ['--namesrv', namesrv.addr, '--data', dir, '--no-demo']);
  assert.equal(ready.dev, true);
  assert.match(String(ready.devReason), /no authentication configured/);
  assert.match(await banner(output), /dev mode\s*: on \(no authentication configured/);
  assert.equal(ready.token!.split('.').length, 3);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'packages/gateway/bin/rocketmq-edge.mjs'), '--namesrv', namesrv.addr, '--data', dir, '--no-dev', '--port', '0'],
    { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no authentication configured/);
});

test('devModeReason: on with --dev or with no authentication at all; operator credentials alone never turn it on', async () => {
  const { devModeReason } = await import('./cli.js');
  assert.equal(devModeReason(true, true), '--dev');
  assert.equal(devModeReason(true, false), '--dev');
  assert.match(devModeReason(undefined, false)!, /^no authentication configured/);
  assert.equal(devModeReason(undefined, true), undefined, 'e.g. --jwt-secret alone');
  assert.equal(devModeReason(false, true), undefined);
  assert.equal(devModeReason(false, false), undefined, '--no-dev without auth: main() refuses to start');
});
