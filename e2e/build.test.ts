// scripts/build.mjs: one browser bundle, byte-identical copies beside each app, web-standard only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './support.js';

test('build writes one bundle and the apps import that same file', async () => {
  // (How long it takes is printed by `npm run build`, not asserted: a timing in a test fails on a busy machine.)
  const { build } = await import(join(ROOT, 'scripts/build.mjs')) as { build(): Promise<{ files: string[] }> };
  const { files } = await build();
  for (const f of ['dist/browser/rocketmq-edge.js', 'apps/demo/dist/index.html', 'apps/demo/dist/app.js', 'apps/demo/dist/style.css',
    'apps/worker/dist/worker.js', 'apps/deno/dist/main.js']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);

  const bundle = await readFile(join(ROOT, 'dist/browser/rocketmq-edge.js'), 'utf8');
  for (const app of ['demo', 'worker', 'deno']) {
    assert.equal(await readFile(join(ROOT, `apps/${app}/dist/rocketmq-edge.js`), 'utf8'), bundle, `apps/${app} has a copy of the bundle`);
  }
  // The apps import the bundle, they do not inline their own core.
  for (const [app, file] of [['demo', 'app.js'], ['worker', 'worker.js'], ['deno', 'main.js']] as const) {
    const src = await readFile(join(ROOT, `apps/${app}/dist/${file}`), 'utf8');
    assert.match(src, /from "\.\/rocketmq-edge\.js"/, `${app} imports ./rocketmq-edge.js`);
    assert.doesNotMatch(src, /class Producer|class WebSocketTransport/, `${app} does not inline core`);
  }
  // Web-standard only: nothing Node-specific reaches the browser bundle.
  assert.doesNotMatch(bundle, /\bnode:|\brequire\(|\bBuffer\b|\bprocess\.env/);
  assert.match(bundle, /export\{/);

  const mod = await import(join(ROOT, 'dist/browser/rocketmq-edge.js')) as Record<string, unknown>;
  // The browser entry: Producer, WebSocketTransport and the error classes (plus types).
  for (const name of ['Producer', 'WebSocketTransport', 'RocketMQError', 'MQClientError', 'MQBrokerError', 'RemotingError',
    'RemotingConnectError', 'RemotingTimeoutError', 'RemotingTooMuchRequestError', 'CodecError', 'AbortError']) {
    assert.equal(typeof mod[name], 'function', name);
  }
});
