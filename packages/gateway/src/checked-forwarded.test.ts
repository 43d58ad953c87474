// What the gateway checks is what the broker stores: hand-made frames that try to name a second
// topic (extra fields, duplicate keys, escaped keys, binary headers, oneway, batch) through a real
// gateway to the real embedded broker, and a property over arbitrary header mutations.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import fc from 'fast-check';
import { NAMESRV_TARGET } from '@rocketmq-edge/core';
import { RequestCode, ResponseCode, decodeCommand, encodeBatchBody, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startEmbedded } from '@rocketmq-edge/broker';
import { readAll } from '@rocketmq-edge/broker/testing';
import { decodeEnvelope, encodeEnvelope } from '@rocketmq-edge/transport-ws/envelope';
import { startGateway } from './index.js';
import { frame, jsonFrame, waitFor } from './test-support.js';

const TOKEN = 'checked-forwarded-token';
const utf8 = new TextEncoder();

async function fixture(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-checked-'));
  const emb = await startEmbedded({ dataDir: dir });
  const gw = await startGateway({
    namesrvAddr: emb.namesrvAddr,
    auth: { staticTokens: { [TOKEN]: { sub: 'orders-app', topics: ['orders-*'] } } },
    logLevel: 'silent',
    rate: { perSecond: 100_000, burst: 100_000 },
  });
  const ws = new WebSocket(gw.url, ['rocketmq-edge.v1', `bearer.${TOKEN}`]);
  const waiting = new Map<number, (c: RemotingCommand) => void>();
  let hello = false;
  ws.on('message', (d, binary) => {
    if (!binary) { hello ||= JSON.parse(String(d)).type === 'hello'; return; }
    const cmd = decodeCommand(decodeEnvelope(d as Buffer).frame);
    waiting.get(cmd.opaque)?.(cmd);
  });
  await waitFor(() => hello, 5000, 'hello');
  t.after(async () => {
    ws.close();
    await gw.close();
    await emb.close();
    await rm(dir, { recursive: true, force: true });
  });
  let opaque = 1;
  /** Sends a hand-made frame; resolves with the response, or undefined for oneway after a short wait. */
  const send = (target: string, frame: (opaque: number) => Uint8Array, oneway = false): Promise<RemotingCommand | undefined> => {
    const op = opaque++;
    return new Promise((resolve, reject) => {
      if (oneway) setTimeout(() => resolve(undefined), 50);
      else {
        const timer = setTimeout(() => reject(new Error('no response')), 5000);
        waiting.set(op, (c) => { clearTimeout(timer); resolve(c); });
      }
      ws.send(encodeEnvelope(target, frame(op)));
    });
  };
  // The producer's first step: the default topic's route, which makes the gateway issue the broker's alias.
  const route = await send(NAMESRV_TARGET, (op) => jsonFrame(RequestCode.GET_ROUTEINFO_BY_TOPIC, [['topic', 'TBW102']], op, new Uint8Array(0)));
  assert.equal(route?.code, ResponseCode.SUCCESS, route?.remark);
  const stored = async (topic: string) => (await readAll({ namesrvAddr: emb.namesrvAddr, topic })).length;
  return { send, stored, brokerAlias: 'broker-a@0' };
}

const V2: [string, string][] = [['a', 'g'], ['b', 'orders-1'], ['c', 'TBW102'], ['d', '4'], ['e', '0'], ['f', '0'], ['g', '1'], ['h', '0'], ['j', '0'], ['k', 'false'], ['m', 'false']];

/** A ROCKETMQ binary-header frame with the fields as listed (duplicates and all). */
function binaryFrame(code: number, fields: [string, string][], opaque: number, body: Uint8Array = utf8.encode('hello'), flag = 0): Uint8Array {
  const parts = fields.map(([k, v]) => [utf8.encode(k), utf8.encode(v)] as const);
  const extLen = parts.reduce((n, [k, v]) => n + 6 + k.length + v.length, 0);
  const h = new Uint8Array(21 + extLen);
  const v = new DataView(h.buffer);
  v.setInt16(0, code);
  h[2] = 0; // JAVA
  v.setInt16(3, 409);
  v.setInt32(5, opaque);
  v.setInt32(9, flag);
  v.setInt32(13, 0); // remark length
  v.setInt32(17, extLen);
  let p = 21;
  for (const [k, val] of parts) {
    v.setInt16(p, k.length); h.set(k, p + 2); p += 2 + k.length;
    v.setInt32(p, val.length); h.set(val, p + 4); p += 4 + val.length;
  }
  return frame(1, h, body);
}


const with_ = (extra: [string, string][]) => [...V2, ...extra];
const OTHER_TOPICS = ['payments', 'TBW102', '%RETRY%g', '%DLQ%g', 'SCHEDULE_TOPIC_XXXX', 'CHECKPOINT_TOPIC', 'TRANS_CHECK_MAX_TIME_TOPIC'];

test('a second topic cannot ride along: extra, duplicate and escaped keys, binary headers, oneway and batch', async (t) => {
  const { send, stored, brokerAlias } = await fixture(t);
  const refusedAs = async (p: Promise<RemotingCommand | undefined>, code: number, remark: RegExp) => {
    const r = await p;
    assert.equal(r?.code, code, r?.remark);
    assert.match(r?.remark ?? '', remark);
  };
  for (const other of OTHER_TOPICS) {
    await refusedAs(send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE_V2, with_([['topic', other]]), op)), 13, /header field "topic" is not part of request code 310/);
    await refusedAs(send(brokerAlias, (op) => binaryFrame(RequestCode.SEND_MESSAGE_V2, with_([['topic', other]]), op)), 13, /"topic" is not part/);
    // The same key spelled with a JSON escape is the same key once parsed.
    await refusedAs(send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE_V2, with_([['\\u0074opic', other]]), op, undefined, 0, true)), 13, /"topic" is not part/);
    // Duplicate b: JSON keeps the last, and that is what is checked.
    await refusedAs(send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE_V2, with_([['b', other]]), op)), 16, /system topic|retry or dead-letter|may not use topic/);
    await refusedAs(send(brokerAlias, (op) => binaryFrame(RequestCode.SEND_MESSAGE_V2, with_([['b', other]]), op)), 16, /system topic|retry or dead-letter|may not use topic/);
    // Oneway (no answer) and batch.
    await send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE_V2, with_([['topic', other]]), op, undefined, 2), true);
    await send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE_V2, with_([['b', other]]), op, undefined, 2), true);
    const batch = encodeBatchBody([{ topic: 'orders-1', body: utf8.encode('x'), flag: 0, properties: {} }]);
    await refusedAs(send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_BATCH_MESSAGE, with_([['topic', other]]), op, batch)), 13, /"topic" is not part/);
    // V1 (long names) cannot smuggle the letter either.
    const v1: [string, string][] = [['producerGroup', 'g'], ['topic', 'orders-1'], ['defaultTopic', 'TBW102'], ['defaultTopicQueueNums', '4'],
      ['queueId', '0'], ['sysFlag', '0'], ['bornTimestamp', '1'], ['flag', '0'], ['b', other]];
    await refusedAs(send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE, v1, op)), 13, /"b" is not part of request code 10/);
  }
  // A duplicate whose last value is the allowed topic is stored there, once, and nowhere else.
  const ok = await send(brokerAlias, (op) => jsonFrame(RequestCode.SEND_MESSAGE_V2, [...V2.filter(([k]) => k !== 'b'), ['b', 'payments'], ['b', 'orders-1']], op));
  assert.equal(ok?.code, ResponseCode.SUCCESS, ok?.remark);
  const okBinary = await send(brokerAlias, (op) => binaryFrame(RequestCode.SEND_MESSAGE_V2, [...V2.filter(([k]) => k !== 'b'), ['b', 'payments'], ['b', 'orders-1']], op));
  assert.equal(okBinary?.code, ResponseCode.SUCCESS, okBinary?.remark);
  assert.equal(await stored('orders-1'), 2);
  for (const other of OTHER_TOPICS.filter((x) => x !== 'TBW102' && !x.startsWith('%') && x !== 'SCHEDULE_TOPIC_XXXX')) assert.equal(await stored(other), 0, other);
  assert.equal(await stored('payments'), 0);
});

test('property: for arbitrary header mutations of an allowed send, what is stored is what the policy approved', async (t) => {
  const { send, stored, brokerAlias } = await fixture(t);
  const topics = ['orders-1', 'orders-2', 'payments', 'TBW102', '%RETRY%g', '%DLQ%g'];
  const key = fc.constantFrom('b', 'topic', 'B', 'bname', 'n', 'a', 'c', 'i', 'e', '\\u0062', 'b ', '');
  const value = fc.oneof(fc.constantFrom(...topics), fc.string({ maxLength: 8 }), fc.constantFrom('-1', '99999999999', 'true', '{"b":"payments"}'));
  let successes = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(key, value), { maxLength: 4 }),
      fc.boolean(),
      fc.constantFrom('orders-1', 'orders-2', 'payments'),
      async (extra, binary, base) => {
        const fields: [string, string][] = [...V2.map(([k, v]): [string, string] => (k === 'b' ? [k, base] : [k, v])), ...extra];
        const r = await send(brokerAlias, (op) => (binary
          ? binaryFrame(RequestCode.SEND_MESSAGE_V2, fields.map(([k, v]) => [k.replace('\\u0062', 'b'), v]), op)
          : jsonFrame(RequestCode.SEND_MESSAGE_V2, fields, op, undefined, 0, true)));
        if (r?.code === ResponseCode.SUCCESS) successes++;
        else assert.ok(r && [13, 16].includes(r.code), `refused with a clear code, got ${r?.code} ${r?.remark}`);
      },
    ),
    { numRuns: 150, seed: 20261203 },
  );
  assert.ok(successes > 0, 'some mutations are harmless and go through');
  const inOrders = (await stored('orders-1')) + (await stored('orders-2'));
  assert.equal(inOrders, successes, 'every acknowledged send is stored in an allowed topic');
  assert.equal(await stored('payments'), 0, 'nothing reached a topic the token may not use');
});
