import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQClientError } from '../errors.js';
import { configureUniqId, createUniqId, parseUniqId } from './uniq-id.js';

const CAPTURED = 'FD00000000000000000000000000000264DC30946E0976E55E400000'; // 01-producer-json/0006
const BORN = 1795485943360; // its bornTimestamp, 2026-11-24T02:05:43.360Z

test('parses a captured 56-character (IPv6 host) id', () => {
  const id = parseUniqId(CAPTURED, { now: Date.UTC(2026, 10, 25), utc: true });
  assert.deepEqual([...id.ip], [0xfd, ...new Array(14).fill(0), 2]);
  assert.equal(id.pid, 0x64dc);
  assert.equal(id.counter, 0);
  assert.equal(id.monthOffsetMs, 1994743360);
  assert.equal(new Date(id.timeMs).toISOString(), '2026-11-24T02:05:43.360Z');
  assert.equal(id.timeMs, BORN);
});

test('a time that would lie in the future is read as the previous month', () => {
  const id = parseUniqId(CAPTURED, { now: Date.UTC(2026, 11, 3), utc: true }); // 3 Dec: day 24 not reached yet
  assert.equal(new Date(id.timeMs).toISOString(), '2026-11-24T02:05:43.360Z');
});

test('the counters of consecutive captured ids follow each other', () => {
  const ids = ['FD000000000000000000000000000002650C30946E0976E56D890001', 'FD000000000000000000000000000002650C30946E0976E56D890002'];
  assert.deepEqual(ids.map((i) => parseUniqId(i).counter), [1, 2]);
});

test('creates 32-character uppercase ids: ip, pid, process int, ms since month start, counter', () => {
  configureUniqId({ ip: '127.0.0.1', pid: 0x11f2c, processInt: 0x18b4aac2 });
  const now = new Date(2026, 10, 24, 2, 5, 43, 360).getTime(); // local time, like Java
  const a = createUniqId(now);
  const b = createUniqId(now + 5);
  assert.match(a, /^7F0000011F2C18B4AAC2[0-9A-F]{12}$/);
  const pa = parseUniqId(a, { now: now + 10 });
  const pb = parseUniqId(b, { now: now + 10 });
  assert.equal(pa.pid, 0x1f2c);
  assert.equal(pa.monthOffsetMs, now - new Date(2026, 10, 1).getTime());
  assert.equal(pa.timeMs, now);
  assert.equal(pb.timeMs, now + 5);
  assert.equal(pb.counter, (pa.counter + 1) & 0xffff);
});

test('the counter wraps at 16 bits', () => {
  configureUniqId({ ip: '10.0.0.1' });
  const first = parseUniqId(createUniqId()).counter;
  let last = first;
  for (let i = 0; i < 0x10000; i++) last = parseUniqId(createUniqId()).counter;
  assert.equal(last, first);
});

test('a clock slightly before the month start writes 0; a new month restarts the offset', () => {
  configureUniqId({ ip: '10.0.0.1' });
  const monthStart = new Date(2026, 10, 1).getTime();
  createUniqId(monthStart + 1000);
  assert.equal(parseUniqId(createUniqId(monthStart - 500), { now: monthStart + 2000 }).monthOffsetMs, 0);
  const next = new Date(2026, 11, 1).getTime();
  assert.equal(parseUniqId(createUniqId(next + 42), { now: next + 100 }).monthOffsetMs, 42);
});

test('IPv6 and random host parts', () => {
  configureUniqId({ ip: 'fd00::2', pid: 25820, processInt: 0x30946e09 });
  assert.match(createUniqId(), /^FD00000000000000000000000000000264DC30946E09[0-9A-F]{12}$/);
  configureUniqId();
  const ids = [createUniqId(), createUniqId()];
  assert.equal(ids[0]!.slice(0, 20), ids[1]!.slice(0, 20));
  assert.match(ids[0]!, /^[0-9A-F]{32}$/);
});

test('rejects ids that are neither 32 nor 56 hex characters', () => {
  for (const bad of ['', 'ABC', CAPTURED.slice(2), CAPTURED.replace('F', 'G')]) {
    assert.throws(() => parseUniqId(bad), MQClientError);
  }
  assert.throws(() => configureUniqId({ ip: 'not-an-ip' }), MQClientError);
});
