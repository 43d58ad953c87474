// Shared by the demo page's e2e tests: what the broker stored, checked against what the page
// reported, and a page opened on the demo and connected.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { readAll } from '@rocketmq-edge/broker/testing';
import type {} from '../apps/demo/src/app.js'; // window.__demo typings
import type { ResultEntry } from '../apps/demo/src/app.js';
import { until } from './support.js';

export interface Stored { msgId: string; queueId: number; queueOffset: number; tags?: string; keys?: string; body: string }

/** Every message of `topic` in the broker's store, by msgId (a retried send may be stored twice). */
export async function stored(namesrvAddr: string, topic: string): Promise<Map<string, Stored[]>> {
  const msgs = await readAll({ namesrvAddr, topic });
  const byId = new Map<string, Stored[]>();
  for (const m of msgs) {
    const s = { msgId: m.msgId, queueId: m.queueId, queueOffset: m.queueOffset, tags: m.properties.TAGS,
      keys: m.properties.KEYS, body: new TextDecoder().decode(m.body) };
    byId.set(m.msgId, [...(byId.get(m.msgId) ?? []), s]);
  }
  return byId;
}

/** Every acknowledged result is stored, on the queue and offset its SendResult named. */
export function assertAllStored(acked: ResultEntry[], byId: Map<string, Stored[]>): void {
  const missing = acked.filter((r) => !byId.has(r.msgId!));
  assert.equal(missing.length, 0, `${missing.length} acknowledged sends not in the broker, e.g. ${JSON.stringify(missing.slice(0, 3))}`);
  for (const r of acked) {
    const copies = byId.get(r.msgId!)!;
    assert.ok(copies.some((s) => s.queueId === r.queue!.queueId && s.queueOffset === r.queueOffset),
      `msgId ${r.msgId}: SendResult says q${r.queue!.queueId}@${r.queueOffset}, stored at ${JSON.stringify(copies.map((c) => [c.queueId, c.queueOffset]))}`);
  }
}

type DemoState = 'connected' | 'reconnecting' | 'refused';

/** A new page on the demo at `url`, started and in connection state `state` (default connected). */
export async function openDemo(browser: Browser, url: string, opts: { width?: number; height?: number; state?: DemoState } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1360, height: opts.height ?? 900 } });
  page.on('pageerror', (err) => console.error('[page error]', err));
  await page.goto(url);
  await page.evaluate(() => window.__demo.ready);
  const want = opts.state ?? 'connected';
  await until(() => page.evaluate((t) => window.__demo.state().type === t, want), 15_000, want);
  return page;
}
