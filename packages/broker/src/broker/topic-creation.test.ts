// Auto-created topics: writing topics.json and registering with the name server cost O(topics)
// each, so a burst of new topics shares a few of them instead of one per topic; a topic lost
// with an unwritten topics.json comes back from the commit log.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createRequest, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { startEmbedded, startNameServer, startBroker } from '../index.js';
import type { LogLevel } from '../logger.js';
import { readAll } from '../testing.js';
import { RawConn, sleep, tempDir } from '../test-support.js';

const send = (topic: string, queueId = 0): RemotingCommand =>
  createRequest(310, { a: 'pg', b: topic, c: 'TBW102', d: '4', e: String(queueId), f: '0', g: '1700000000000', h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'false', n: 'broker-a' }, { body: new TextEncoder().encode(topic) });

const savedTopics = (dir: string): Record<string, { readQueueNums: number }> =>
  (JSON.parse(readFileSync(path.join(dir, 'config', 'topics.json'), 'utf8')) as { topics: Record<string, { readQueueNums: number }> }).topics;

describe('topic auto-creation', () => {
  it('a burst of 300 new topics is saved and registered a few times, not once per topic; every topic ends up saved and routed', async (t) => {
    const dir = await tempDir(t);
    const lines: string[] = [];
    const e = await startEmbedded({ dataDir: dir, logger: (_l: LogLevel, m: string) => lines.push(m) });
    t.after(() => e.close());
    const c = await RawConn.connect(e.broker.addr);
    t.after(() => c.close());
    const saves = () => lines.filter((l) => l.startsWith('topics: saved')).length;
    const registrations = () => lines.filter((l) => l.startsWith('namesrv: registered broker-a')).length;
    await sleep(50);
    const [saves0, registrations0] = [saves(), registrations()];

    const N = 300;
    const opaques = Array.from({ length: N }, (_, i) => c.send(send(`Burst-${i}`)));
    for (const o of opaques) assert.equal((await c.waitFor((f) => f.opaque === o)).code, 0);
    // Wait until the last topic is routed: its registration has happened.
    const ns = await RawConn.connect(e.namesrvAddr);
    t.after(() => ns.close());
    for (let i = 0; i < 200 && (await ns.call(createRequest(105, { topic: `Burst-${N - 1}` }))).code !== 0; i++) await sleep(10);
    await e.broker.close();

    const newSaves = saves() - saves0;
    const newRegistrations = registrations() - registrations0;
    assert.ok(newSaves >= 1 && newSaves <= 20, `${newSaves} writes of topics.json for ${N} new topics`);
    assert.ok(newRegistrations >= 1 && newRegistrations <= 20, `${newRegistrations} registrations for ${N} new topics`);
    const saved = savedTopics(dir);
    for (let i = 0; i < N; i++) assert.equal(saved[`Burst-${i}`]?.readQueueNums, 4, `Burst-${i} saved`);
  });

  it('a topic missing from topics.json (created after its last write, then a crash) is re-created from the commit log at start', async (t) => {
    const dir = await tempDir(t);
    const ns = await startNameServer();
    t.after(() => ns.close());
    let b = await startBroker({ dataDir: dir, namesrvAddr: ns.addr });
    let c = await RawConn.connect(b.addr);
    assert.equal((await c.call(send('Lost', 2))).code, 0);
    assert.equal((await c.call(send('%RETRY%lost-group', 0))).code, 0);
    c.close();
    await b.close();
    // The state a crash leaves when topics.json was last written before these topics existed.
    const file = path.join(dir, 'config', 'topics.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as { topics: Record<string, unknown> };
    delete json.topics.Lost;
    delete json.topics['%RETRY%lost-group'];
    writeFileSync(file, JSON.stringify(json));

    const warnings: string[] = [];
    b = await startBroker({ dataDir: dir, namesrvAddr: ns.addr, logger: (l, m) => l === 'warn' && warnings.push(m) });
    t.after(() => b.close());
    assert.ok(warnings.some((w) => /topic Lost holds messages but was not in topics.json/.test(w)), warnings.join('\n'));
    const got = await readAll({ namesrvAddr: ns.addr, topic: 'Lost' });
    assert.deepEqual(got.map((m) => [m.queueId, new TextDecoder().decode(m.body)]), [[2, 'Lost']]);
    c = await RawConn.connect(b.addr);
    t.after(() => c.close());
    // 1 + the highest queue id stored; a retry topic gets its one queue
    assert.match((await c.call(send('Lost', 3))).remark ?? '', /queueId\[3\] is illegal, topic Lost has 3 queues/);
    await b.flush();
    await b.close();
    assert.equal(savedTopics(dir)['%RETRY%lost-group']?.readQueueNums, 1);
    assert.equal(savedTopics(dir).Lost?.readQueueNums, 3);
  });
});
