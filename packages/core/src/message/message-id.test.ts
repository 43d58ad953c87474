import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MQClientError } from '../errors.js';
import { formatIp, parseHostPort, parseIp } from './address.js';
import { crc32 } from './crc32.js';
import { createOffsetMsgId, decodeOffsetMsgId } from './message-id.js';

test('offset ids of the captures decode to store host, port and commit-log offset', () => {
  assert.deepEqual(decodeOffsetMsgId('7F00000100002A9F0000000000000000'), { host: '127.0.0.1', port: 10911, offset: 0 });
  assert.deepEqual(decodeOffsetMsgId('7F00000100002A9F00000000000000D6'), { host: '127.0.0.1', port: 10911, offset: 214 });
  const batch = '7F00000100002A9F000000000000094E,7F00000100002A9F0000000000000A48,7F00000100002A9F0000000000000B42';
  assert.deepEqual(batch.split(',').map((id) => decodeOffsetMsgId(id).offset), [2382, 2632, 2882]);
});

test('creates uppercase ids, 32 characters for IPv4 and 56 for IPv6, and decodes them back', () => {
  assert.equal(createOffsetMsgId('127.0.0.1', 10911, 0), '7F00000100002A9F0000000000000000');
  assert.equal(createOffsetMsgId('127.0.0.1', 10911, 214), '7F00000100002A9F00000000000000D6');
  const v6 = createOffsetMsgId('fd00::2', 10911, 2 ** 50 + 3);
  assert.equal(v6.length, 56);
  assert.deepEqual(decodeOffsetMsgId(v6), { host: 'fd00::2', port: 10911, offset: 2 ** 50 + 3 });
  assert.throws(() => createOffsetMsgId('localhost', 1, 0), MQClientError);
  for (const bad of ['', '7F00000100002A9F000000000000000', '7F00000100002A9F000000000000000Z']) assert.throws(() => decodeOffsetMsgId(bad), MQClientError);
});

test('IP text forms', () => {
  assert.deepEqual([...parseIp('10.1.2.3')!], [10, 1, 2, 3]);
  assert.equal(parseIp('256.0.0.1'), undefined);
  assert.equal(formatIp(parseIp('0:0:0:0:0:0:0:1')!), '::1');
  assert.equal(formatIp(parseIp('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  assert.equal(formatIp(parseIp('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1');
  assert.equal(formatIp(parseIp('::ffff:1.2.3.4')!), '::ffff:102:304');
  assert.equal(formatIp(parseIp('[fe80::1%eth0]')!), 'fe80::1');
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '12345::', 'x']) assert.equal(parseIp(bad), undefined, bad);
  assert.deepEqual(parseHostPort('::1:80'), { ip: parseIp('::1'), port: 80 });
  assert.equal(parseHostPort('1.2.3.4'), undefined);
});

test('crc32 is IEEE CRC-32 (java.util.zip.CRC32), unmasked', () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  assert.equal(crc32(utf8('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(utf8('Hello RocketMQ 0')) & 0x7fffffff, 613185359);
  assert.equal(crc32(utf8('Batch message 0')), 0xbe448a64);
});
