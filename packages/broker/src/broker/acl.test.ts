// ACL verification of the embedded broker, attacked the way a client without (the right) credentials would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Producer } from '@rocketmq-edge/core';
import { AclTransport, signRequest } from '@rocketmq-edge/core/acl';
import { RemotingClient, createRequest, type RemotingCommand } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';
import { startEmbedded } from '../index.js';
import { readAll } from '../testing.js';
import { RawConn, tempDir } from '../test-support.js';

const utf8 = new TextEncoder();
const account = { accessKey: 'rocketmq2', secretKey: '12345678' };
const refused = (what: string, line: number) =>
  `org.apache.rocketmq.acl.common.AclException: ${what}, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:${line})`;

function send(topic: string, body: string): RemotingCommand {
  return createRequest(310, {
    a: 'pg', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: `UNIQ_KEY\u0001U-${body}\u0002WAIT\u0001true`, j: '0', k: 'false', m: 'false',
  }, { body: utf8.encode(body) });
}

describe('broker: ACL', () => {
  it('takes sends from a Producer over TcpTransport + AclTransport; refuses missing, unknown and wrong credentials with 4.9.8 remarks', async (t) => {
    const dir = await tempDir(t);
    const e = await startEmbedded({ dataDir: dir, aclAccounts: [account, { accessKey: 'other', secretKey: 'other-secret' }] });
    t.after(() => e.close());

    const producer = new Producer({ transport: new AclTransport(new TcpTransport({ namesrvAddr: e.namesrvAddr }), account), producerGroup: 'acl_pg', retryTimesWhenSendFailed: 0 });
    await producer.start();
    t.after(() => producer.shutdown());
    const ok = await producer.send({ topic: 'AclTopic', body: 'signed-1' });
    assert.equal(ok.sendStatus, 'SEND_OK');

    const attacker = await RawConn.connect(e.broker.addr);
    t.after(() => attacker.close());
    const unsigned = await attacker.call(send('AclTopic', 'unsigned'));
    assert.deepEqual([unsigned.code, unsigned.remark], [1, refused('No accessKey is configured', 664)]);
    const unknown = send('AclTopic', 'unknown');
    await signRequest(unknown, { accessKey: 'nobody', secretKey: '12345678' });
    const r1 = await attacker.call(unknown);
    assert.deepEqual([r1.code, r1.remark], [1, refused('No acl config for nobody', 668)]);
    const wrong = send('AclTopic', 'wrong-secret');
    await signRequest(wrong, { accessKey: 'rocketmq2', secretKey: 'not-the-secret' });
    const r2 = await attacker.call(wrong);
    assert.deepEqual([r2.code, r2.remark], [1, refused('Check signature failed for accessKey=rocketmq2', 684)]);
    // Signed, then altered on the way (another topic): the signature no longer matches.
    const altered = send('AclTopic', 'altered');
    await signRequest(altered, account);
    altered.extFields!.b = 'OtherTopic';
    const r3 = await attacker.call(altered);
    assert.equal(r3.remark, refused('Check signature failed for accessKey=rocketmq2', 684));
    // An unsigned oneway request is dropped without an answer; unsigned heartbeats register nothing.
    attacker.send({ ...send('AclTopic', 'oneway'), flag: 2 });
    const hb = await attacker.call(createRequest(34, undefined, { body: utf8.encode('{"clientID":"x@1","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[]}') }));
    assert.equal(hb.code, 1);

    // The good client was never affected.
    const ok2 = await producer.send({ topic: 'AclTopic', body: 'signed-2' });
    assert.equal(ok2.sendStatus, 'SEND_OK');
    const stored = await (async () => {
      // readAll pulls unsigned: read with a signed client instead.
      const transport = new AclTransport(new TcpTransport({}), account);
      const c = new RemotingClient(transport);
      try {
        const r = await c.invoke(e.broker.addr, createRequest(11, {
          consumerGroup: 'cg', topic: 'AclTopic', queueId: String(ok.messageQueue.queueId), queueOffset: '0', maxMsgNums: '32', sysFlag: '0',
          commitOffset: '0', suspendTimeoutMillis: '0', subVersion: '0', expressionType: 'TAG',
        }), 5000);
        return r.code;
      } finally {
        await c.close();
        await transport.close();
      }
    })();
    assert.equal(stored, 0, 'a signed pull is served');
    await assert.rejects(readAll({ namesrvAddr: e.namesrvAddr, topic: 'AclTopic' }), /code 1 org\.apache\.rocketmq\.acl/, 'an unsigned pull is refused');
  });
});
