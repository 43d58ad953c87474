import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeBatcher } from './write-batcher.js';

test('writeBatcher: corks at the first write of a tick, flushes every N writes, uncorks when the deferred call runs', () => {
  const log: string[] = [];
  const socket = { cork: () => log.push('cork'), uncork: () => log.push('uncork') };
  let deferred: (() => void) | undefined;
  const before = writeBatcher(socket, (fn) => (deferred = fn), 3, () => log.push('after'));
  for (let i = 0; i < 7; i++) {
    before();
    log.push('w');
  }
  assert.deepEqual(log, ['cork', 'w', 'w', 'w', 'uncork', 'cork', 'w', 'w', 'w', 'uncork', 'cork', 'w']);
  log.length = 0;
  deferred!();
  assert.deepEqual(log, ['uncork', 'after']);
  log.length = 0;
  before(); // the next tick starts over
  assert.deepEqual(log, ['cork']);
});
