// The outbox's browser file: built beside the main bundle, web-standard only, with its public API;
// and the main bundle (what pages that only publish load) carries none of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './support.js';

test('dist/browser/rocketmq-edge-outbox.js: built, web-standard, exports the outbox; rocketmq-edge.js has none of it', async () => {
  const { build } = await import(join(ROOT, 'scripts/build.mjs')) as { build(): Promise<{ files: string[] }> };
  const { files } = await build();
  assert.ok(files.includes('dist/browser/rocketmq-edge-outbox.js'), files.join(', '));
  const outbox = await readFile(join(ROOT, 'dist/browser/rocketmq-edge-outbox.js'), 'utf8');
  assert.doesNotMatch(outbox, /\bnode:|\brequire\(|\bBuffer\b|\bprocess\.env/);
  const mod = await import(join(ROOT, 'dist/browser/rocketmq-edge-outbox.js')) as Record<string, unknown>;
  for (const name of ['openOutbox', 'Outbox', 'OutboxFullError', 'HttpPublishError']) assert.equal(typeof mod[name], 'function', name);
  const main = await readFile(join(ROOT, 'dist/browser/rocketmq-edge.js'), 'utf8');
  assert.doesNotMatch(main, /indexedDB|rocketmq-edge-outbox|sendBeacon/);
  // No copy of the producer or the transport in the outbox: the page passes its Producer in.
  for (const marker of ['out of time (sendMsgTimeout', 'maxQueuedFrames']) {
    assert.ok(main.includes(marker), marker);
    assert.ok(!outbox.includes(marker), marker);
  }
});
