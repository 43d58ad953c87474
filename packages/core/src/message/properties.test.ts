import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProperties, encodeProperties } from './properties.js';

test('encodes name\\u0001value pairs joined by \\u0002 with no trailing separator', () => {
  assert.equal(encodeProperties({}), '');
  assert.equal(encodeProperties({ WAIT: 'true' }), 'WAIT\u0001true');
  assert.equal(encodeProperties({ UNIQ_KEY: 'U', WAIT: 'true', TAGS: 'TagA' }), 'UNIQ_KEY\u0001U\u0002WAIT\u0001true\u0002TAGS\u0001TagA');
});

test('decodes in string order and round-trips a captured property string', () => {
  const s = 'customProp\u0001customValue\u0002KEYS\u0001BIG-KEY\u0002UNIQ_KEY\u0001FD000000000000000000000000000002650C30946E0976E56DA50004\u0002WAIT\u0001true\u0002TAGS\u0001TagC';
  const p = decodeProperties(s);
  assert.deepEqual(Object.keys(p), ['customProp', 'KEYS', 'UNIQ_KEY', 'WAIT', 'TAGS']);
  assert.equal(encodeProperties(p), s);
});

test('ignores short segments and separators at position 0 or last, like Java', () => {
  assert.deepEqual(decodeProperties(''), {});
  assert.deepEqual(decodeProperties('a\u0001'), {});
  assert.deepEqual(decodeProperties('\u0001ab\u0002ab\u0001\u0002abc\u0002a\u0001b'), { a: 'b' });
  assert.deepEqual(decodeProperties('\u0002\u0002k\u0001v\u0002'), { k: 'v' });
  assert.deepEqual(decodeProperties('k\u0001v\u0001w'), { k: 'v\u0001w' }); // only the first \u0001 splits
});

test('a repeated name keeps its last value (stored batch records carry WAIT twice)', () => {
  const p = decodeProperties('WAIT\u0001false\u0002TAGS\u0001T\u0002CLUSTER\u0001DefaultCluster\u0002WAIT\u0001true');
  assert.deepEqual(p, { WAIT: 'true', TAGS: 'T', CLUSTER: 'DefaultCluster' });
});

test('a "__proto__" name is kept as an ordinary entry', () => {
  const p = decodeProperties('__proto__\u0001x\u0002a\u0001b');
  assert.equal(Object.getPrototypeOf(p), Object.prototype);
  assert.deepEqual(Object.keys(p), ['__proto__', 'a']);
  assert.equal(encodeProperties(p), '__proto__\u0001x\u0002a\u0001b');
});
