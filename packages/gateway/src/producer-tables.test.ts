// The per-connection tables behind producer callbacks (callbacks.ts) hold at most their bound,
// whatever a client sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BROKERS_PER_SESSION, MAX_CLIENT_IDS_PER_SESSION, MAX_PRODUCER_GROUPS_PER_SESSION, ProducerRegistration } from './producer-registry.js';
import { MAX_PENDING_REQUESTS, MAX_REQUEST_TTL_MS, ReplyRouting } from './reply-routing.js';
import { MAX_TRANSACTION_TICKETS, TransactionTickets } from './transaction-tickets.js';

const end = (commitLogOffset: number, commitOrRollback = '8') =>
  ({ commitLogOffset: String(commitLogOffset), tranStateTableOffset: '1', producerGroup: 'pg', msgId: `m${commitLogOffset}`, commitOrRollback });

test('transaction tickets: at most MAX_TRANSACTION_TICKETS, the oldest forgotten first; a ticket is for its broker, group and msgId', () => {
  const t = new TransactionTickets();
  for (let i = 0; i <= MAX_TRANSACTION_TICKETS; i++) t.add('b:1', String(i), '1', 'pg', [`m${i}`]);
  assert.equal(t.size, MAX_TRANSACTION_TICKETS);
  assert.equal(t.use('b:1', end(0)), false, 'the oldest is gone');
  assert.equal(t.use('b:2', end(1)), false, 'another broker');
  assert.equal(t.use('b:1', { ...end(1), producerGroup: 'pg2' }), false, 'another group');
  assert.equal(t.use('b:1', { ...end(1), msgId: 'm2' }), false, 'another message');
  assert.equal(t.use('b:1', end(1, '0')), true, 'UNKNOW keeps the ticket');
  assert.equal(t.use('b:1', end(1)), true);
  assert.equal(t.use('b:1', end(1)), false, 'a commit uses it up');
});

test('requests awaiting replies: at most MAX_PENDING_REQUESTS (expired ones make room), each reply taken once, TTL capped', () => {
  const r = new ReplyRouting<string>();
  for (let i = 0; i < MAX_PENDING_REQUESTS; i++) assert.ok(r.expect(`c${i}`, '1000', 0));
  assert.equal(r.expect('one-more', '1000', 0), false);
  assert.equal(r.pendingRequests, MAX_PENDING_REQUESTS);
  assert.ok(r.expect('later', '1000', 1001), 'expired requests make room');
  assert.equal(r.takeReply('later', 1500), true);
  assert.equal(r.takeReply('later', 1500), false, 'one reply per request');
  r.expect('forever', '99999999999', 0);
  assert.equal(r.takeReply('forever', MAX_REQUEST_TTL_MS + 1), false, 'the TTL is capped');
});

test('producer registration: client ids, groups and brokers per connection are bounded; nothing is recorded past a bound', () => {
  const p = new ProducerRegistration();
  for (let i = 0; i < MAX_CLIENT_IDS_PER_SESSION; i++) assert.equal(p.record(`c${i}`, ['pg'], 'b:1', 'a@0'), undefined);
  assert.match(p.record('c-extra', ['pg'], 'b:1', 'a@0')!, /at most 8 client ids/);
  assert.equal(p.hasClient('c-extra'), false);
  const groups = Array.from({ length: MAX_PRODUCER_GROUPS_PER_SESSION }, (_, i) => `g${i}`);
  assert.match(p.record('c0', groups, 'b:1', 'a@0')!, /at most 64 producer groups/, 'pg is one already');
  assert.equal(p.hasGroup('g0'), false);
  for (let i = 0; i < MAX_BROKERS_PER_SESSION - 1; i++) assert.equal(p.record('c0', ['pg'], `b:${i + 2}`, 'x@0'), undefined);
  assert.match(p.record('c0', ['pg'], 'b:9999', 'x@0')!, /at most 256 brokers/);
  p.unregister('c0', 'pg');
  assert.equal(p.hasGroup('pg'), true, 'other client ids still have it');
});
