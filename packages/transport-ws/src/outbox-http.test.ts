// The unload flush's request bodies: the gateway's JSON message form, and packing within the
// browsers' keepalive budget (UTF-8 bytes, one topic per request, stop at the first that does not fit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { beaconBody, bearerBody, packRequests } from './outbox-http.js';
import type { QueuedMessage } from './outbox-options.js';

let seq = 0;
const queued = (topic: string, body: string | Uint8Array, extra: Partial<QueuedMessage> = {}): QueuedMessage =>
  ({ seq: ++seq, id: `ID${seq}`, topic, body, queuedAt: 0, size: 0, ...extra });
const bytes = (s: string) => new TextEncoder().encode(s).length;

test('messages as the gateway reads them (http.ts jsonMessage): text as is, bytes as base64, the id as "id", empty fields left out', () => {
  const bin = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
  const text = queued('T', 'héllo', { tags: 'A', keys: ['k1', 'k2'], properties: { p: '1' }, delayLevel: 3 });
  const binary = queued('T', bin);
  const [req] = packRequests([text, binary], 1 << 20, 10, bearerBody);
  const { messages } = JSON.parse(req!.body) as { messages: Record<string, unknown>[] };
  assert.deepEqual(messages[0], { body: 'héllo', id: text.id, tags: 'A', keys: ['k1', 'k2'], properties: { p: '1' }, delayLevel: 3 });
  assert.deepEqual(Object.keys(messages[1]!).sort(), ['body', 'encoding', 'id']);
  assert.equal(messages[1]!.encoding, 'base64');
  assert.deepEqual(new Uint8Array(Buffer.from(messages[1]!.body as string, 'base64')), bin);
});

test('requests: one topic each, at most maxPerRequest messages, in order, bodies that parse as the contract says', () => {
  const msgs = [queued('A', 'a1'), queued('B', 'b1'), queued('A', 'a2'), queued('A', 'a3'), queued('B', 'b2')];
  const reqs = packRequests(msgs, 64 * 1024, 2, beaconBody('tok'));
  assert.deepEqual(reqs.map((r) => [r.topic, r.messages.map((m) => m.body)]), [['A', ['a1', 'a2']], ['B', ['b1', 'b2']], ['A', ['a3']]]);
  for (const r of reqs) {
    const parsed = JSON.parse(r.body) as { token: string; topic: string; messages: { id: string; body: string }[] };
    assert.equal(parsed.token, 'tok');
    assert.equal(parsed.topic, r.topic);
    assert.deepEqual(parsed.messages.map((m) => m.id), r.messages.map((m) => m.id));
  }
  assert.deepEqual(JSON.parse(packRequests([queued('A', 'x')], 1000, 10, bearerBody)[0]!.body), { messages: [{ id: `ID${seq}`, body: 'x' }] });
});

test('all bodies together stay within the budget in UTF-8 bytes; packing stops at the first message that does not fit', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ topic: fc.constantFrom('A', 'B', 'C'), body: fc.string({ unit: 'grapheme', maxLength: 300 }) }), { maxLength: 60 }),
    fc.integer({ min: 0, max: 8000 }),
    (items, budget) => {
      const msgs = items.map((i) => queued(i.topic, i.body));
      const reqs = packRequests(msgs, budget, 5, beaconBody('t'));
      const total = reqs.reduce((n, r) => n + bytes(r.body), 0);
      assert.ok(total <= budget, `${total} > ${budget}`);
      // What was packed is a prefix of the queue, in order.
      const packed = new Set(reqs.flatMap((r) => r.messages.map((m) => m.seq)));
      const prefix = msgs.slice(0, packed.size);
      assert.ok(prefix.every((m) => packed.has(m.seq)));
      for (const r of reqs) assert.ok(r.messages.length <= 5 && r.messages.every((m) => m.topic === r.topic));
    },
  ), { numRuns: 300 });
});
