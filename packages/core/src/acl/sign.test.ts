import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { RemotingClient } from '../remoting/client.js';
import { encodeCommand } from '../remoting/codec.js';
import { createRequest, createResponse, isResponse, type RemotingCommand } from '../remoting/command.js';
import { MemoryTransport } from '../testing/memory-transport.js';
import { AclTransport, aclContent, signRequest } from './index.js';

const utf8 = new TextEncoder();

describe('ACL signing (AclClientRPCHook)', () => {
  it('signs the sorted extField values and the body: a worked example', async () => {
    // Keys sort AccessKey, SecurityToken, a, b, c → content "rocketmq2TOKENpgTopicTestTBW102" + body;
    // HMAC-SHA1 with "12345678", Base64 (computed independently with Python's hmac module).
    const cmd = createRequest(310, { b: 'TopicTest', a: 'pg', c: 'TBW102', Signature: 'stale' }, { body: utf8.encode('Hello RocketMQ') });
    await signRequest(cmd, { accessKey: 'rocketmq2', secretKey: '12345678', securityToken: 'TOKEN' });
    assert.equal(new TextDecoder().decode(aclContent(cmd.extFields!, cmd.body)), 'rocketmq2TOKENpgTopicTestTBW102Hello RocketMQ');
    assert.equal(cmd.extFields!.Signature, 'EgziJqVqirHzX+zGETrvsRHDFKM=');
    assert.equal(cmd.extFields!.AccessKey, 'rocketmq2');
    assert.equal(cmd.extFields!.SecurityToken, 'TOKEN');
  });

  it('agrees with node:crypto for UTF-8 values, no extFields and no body', async () => {
    for (const [ext, body] of [[{ topic: 'tópico', z: 'ü', A: '1' }, utf8.encode('bódy')], [undefined, undefined]] as const) {
      const cmd = createRequest(34, ext ? { ...ext } : undefined, body ? { body } : {});
      await signRequest(cmd, { accessKey: 'ak', secretKey: 'sëcret-key' });
      const { Signature, ...rest } = cmd.extFields!;
      const keys = Object.keys(rest).sort();
      const h = createHmac('sha1', 'sëcret-key').update(keys.map((k) => rest[k]).join(''), 'utf8');
      if (body) h.update(body);
      assert.equal(Signature, h.digest('base64'));
    }
  });

  it('AclTransport signs every request in the order it was handed over, and leaves responses unsigned', async () => {
    const seen: string[] = [];
    const answers: RemotingCommand[] = [];
    const mem = new MemoryTransport({
      broker: (cmd) => {
        if (isResponse(cmd)) return void answers.push(cmd);
        seen.push(`${cmd.extFields?.n}:${cmd.extFields?.Signature ? 'signed' : 'unsigned'}`);
        return createResponse(cmd, 0);
      },
    });
    const client = new RemotingClient(new AclTransport(mem, { accessKey: 'ak', secretKey: 'secret12' }));
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => client.invoke('broker', createRequest(10, { n: String(i) }, { body: new Uint8Array(i * 100) }), 2000)));
    assert.equal(replies.length, 50);
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => `${i}:signed`));
    for (const r of mem.requests) {
      const { Signature, ...rest } = r.cmd.extFields!;
      const keys = Object.keys(rest).sort();
      const h = createHmac('sha1', 'secret12').update(keys.map((k) => rest[k]).join(''));
      if (r.cmd.body?.length) h.update(r.cmd.body);
      assert.equal(Signature, h.digest('base64'));
    }
    // A response to a broker-initiated request goes out as it is.
    client.onRequest((_t, req) => createResponse(req, 0, undefined, { ok: 'yes' }));
    mem.inject('broker', encodeCommand({ ...createRequest(326, { x: '1' }), opaque: 77 }));
    for (let i = 0; i < 100 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual([answers[0]?.opaque, answers[0]?.extFields], [77, { ok: 'yes' }]);
    await client.close();
  });

  it('refuses credentials without a secret', () => {
    assert.throws(() => new AclTransport(new MemoryTransport(), { accessKey: 'ak', secretKey: '' }), /accessKey and secretKey/);
  });
});
