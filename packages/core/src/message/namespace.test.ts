// NamespaceUtil's own test vectors (NamespaceUtilTest.java, 4.9.8) and the edge cases around them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withoutNamespace, wrapNamespace } from './namespace.js';

const NS = 'MQ_INST_XXX';

test('wrapNamespace: topic, group, %RETRY% and %DLQ% names; already wrapped and system names unchanged', () => {
  assert.equal(wrapNamespace(NS, 'TOPIC_XXX'), 'MQ_INST_XXX%TOPIC_XXX');
  assert.equal(wrapNamespace(NS, 'MQ_INST_XXX%TOPIC_XXX'), 'MQ_INST_XXX%TOPIC_XXX');
  assert.equal(wrapNamespace(NS, '%RETRY%GID_XXX'), '%RETRY%MQ_INST_XXX%GID_XXX');
  assert.equal(wrapNamespace(NS, '%RETRY%MQ_INST_XXX%GID_XXX'), '%RETRY%MQ_INST_XXX%GID_XXX');
  assert.equal(wrapNamespace(NS, '%DLQ%GID_XXX'), '%DLQ%MQ_INST_XXX%GID_XXX');
  assert.equal(wrapNamespace(NS, '%DLQ%MQ_INST_XXX%GID_XXX'), '%DLQ%MQ_INST_XXX%GID_XXX');
  for (const system of ['rmq_sys_topic', 'TBW102', 'RMQ_SYS_TRANS_HALF_TOPIC', 'SCHEDULE_TOPIC_XXXX', 'CID_RMQ_SYS_X']) assert.equal(wrapNamespace(NS, system), system);
  assert.equal(wrapNamespace(undefined, 'T'), 'T');
  assert.equal(wrapNamespace('', 'T'), 'T');
  assert.equal(wrapNamespace(NS, ''), '');
  // Another namespace's name is wrapped again (isAlreadyWithNamespace looks for this one only).
  assert.equal(wrapNamespace(NS, 'MQ_INST_XXX1%T'), 'MQ_INST_XXX%MQ_INST_XXX1%T');
});

test('withoutNamespace: this namespace removed, another one left', () => {
  assert.equal(withoutNamespace('MQ_INST_XXX%TOPIC_XXX', NS), 'TOPIC_XXX');
  assert.equal(withoutNamespace('MQ_INST_XXX%GID_XXX', NS), 'GID_XXX');
  assert.equal(withoutNamespace('%RETRY%MQ_INST_XXX%GID_XXX', NS), '%RETRY%GID_XXX');
  assert.equal(withoutNamespace('%DLQ%MQ_INST_XXX%GID_XXX', NS), '%DLQ%GID_XXX');
  assert.equal(withoutNamespace('%RETRY%MQ_INST_XXX%GID_XXX', 'MQ_INST_XXX1'), '%RETRY%MQ_INST_XXX%GID_XXX');
  assert.equal(withoutNamespace('TOPIC_XXX', NS), 'TOPIC_XXX');
  assert.equal(withoutNamespace('MQ_INST_XXX%T', undefined), 'MQ_INST_XXX%T');
  assert.equal(withoutNamespace('TBW102', NS), 'TBW102');
  for (const t of ['A', '%RETRY%g', 'x%y']) assert.equal(withoutNamespace(wrapNamespace(NS, t), NS), t);
});
