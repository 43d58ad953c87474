import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoalescedTask } from './coalesced-task.js';
import { sleep } from './test-support.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('CoalescedTask', () => {
  it('runs once for any number of requests made before the run starts', async () => {
    let runs = 0;
    const task = new CoalescedTask(() => {
      runs++;
    });
    for (let i = 0; i < 1000; i++) task.request();
    await task.next();
    assert.equal(runs, 1);
    await task.close();
  });

  it('next() resolves after a run that started after it, and rejects when that run fails; a failed run is retried without a new request', async () => {
    let fail = true;
    let runs = 0;
    const errors: unknown[] = [];
    const task = new CoalescedTask(() => {
      runs++;
      if (fail) throw new Error('disk full');
    }, { retryMs: 20, onError: (e) => errors.push(e) });
    await assert.rejects(task.next(), /disk full/);
    assert.equal(errors.length, 1);
    fail = false;
    for (let i = 0; i < 100 && runs < 2; i++) await sleep(10);
    assert.equal(runs, 2, 'retried on its own');
    await task.next();
    assert.equal(runs, 3);
    await task.close();
  });

  it('an expensive run is followed by a pause of costFactor × its duration: requests on every turn run far less often', async () => {
    let runs = 0;
    const task = new CoalescedTask(() => {
      runs++;
      const until = performance.now() + 10;
      while (performance.now() < until) { /* a run that costs 10 ms of CPU */ }
    }, { costFactor: 10 });
    const end = performance.now() + 300;
    let requests = 0;
    while (performance.now() < end) {
      task.request();
      requests++;
      await turn();
    }
    await task.close();
    // 300 ms at one run per (10 ms + 100 ms pause) at most, plus the one close() flushes.
    assert.ok(runs >= 2 && runs <= 5, `${runs} runs for ${requests} requests`);
    assert.ok(requests > 10 * runs);
  });

  it('flush() runs a requested run at once, skipping the pause', async () => {
    let runs = 0;
    const task = new CoalescedTask(() => {
      runs++;
      const until = performance.now() + 20;
      while (performance.now() < until) { /* 20 ms: the next run would wait 200 ms */ }
    });
    await task.next();
    task.request();
    await task.flush();
    assert.equal(runs, 2, 'the requested run is done when flush() resolves');
    await task.close();
    task.request();
    await task.flush();
    assert.equal(runs, 2, 'a closed task runs no more');
  });
});
