import { capture } from '../../../../test/vectors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError } from '../errors.js';
import { compressZlib, decompressZlib } from './compression.js';


test('inflates the Java producer\'s compressed body (02-extra-json/0026) to the 10 011-byte original', async () => {
  const req = capture('02-extra-json/0026-broker-SEND_MESSAGE_V2-310-SUCCESS.json').request;
  const compressed = Uint8Array.from(Buffer.from(req.bodyHex, 'hex'));
  assert.deepEqual([...compressed.subarray(0, 2)], [0x78, 0x5e]);
  const body = await decompressZlib(compressed);
  assert.equal(body.length, 10011);
  const text = new TextDecoder().decode(body);
  assert.ok(text.startsWith(req.bodyUncompressedPrefix));
  assert.ok(text.startsWith('Large RocketMQ body line 0\nLarge RocketMQ body line 1\n'));
});

test('compresses to the zlib format (RFC 1950) and inflates back', async () => {
  const body = new TextEncoder().encode('Large RocketMQ body line\n'.repeat(400));
  const z = await compressZlib(body);
  assert.equal(z[0]! & 0x0f, 8); // CM = deflate
  assert.equal(((z[0]! << 8) | z[1]!) % 31, 0); // zlib header check bits
  assert.ok(z.length < body.length / 10);
  assert.deepEqual(await decompressZlib(z), body);
  assert.deepEqual(await decompressZlib(await compressZlib(new Uint8Array(0))), new Uint8Array(0));
});

test('corrupt or truncated data rejects with CodecError; a size limit stops zip bombs', async () => {
  const z = await compressZlib(new Uint8Array(100_000));
  await assert.rejects(decompressZlib(new Uint8Array([1, 2, 3, 4])), (e) => e instanceof CodecError && e.reason === 'BAD_BODY');
  await assert.rejects(decompressZlib(z.subarray(0, z.length - 6)), (e) => e instanceof CodecError && e.reason === 'BAD_BODY');
  await assert.rejects(decompressZlib(z, 1000), (e) => e instanceof CodecError && e.reason === 'OVERSIZE');
});
