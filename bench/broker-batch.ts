// One SEND_BATCH_MESSAGE of the largest body the broker accepts (4 MiB) made of empty 22-byte
// records, against an in-process embedded broker: how many records it stores, how long the answer
// takes and the longest event-loop stall meanwhile. One JSON line on stdout:
//   {"case":"batch-4MiB-empty-records","records_sent":190650,"code":13,"stored":0,"answer_ms":…,"max_stall_ms":…}
// Run: npm run build && node --import tsx bench/broker-batch.ts
//   (or node --conditions=source --import tsx bench/broker-batch.ts to run the sources).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startEmbedded } from '@rocketmq-edge/broker';
import { RemotingClient, createRequest } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';

const MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
const RECORD = 22;

const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-batch-'));
const embedded = await startEmbedded({ dataDir: dir });
const transport = new TcpTransport();
const client = new RemotingClient(transport);
try {
  const addr = embedded.broker.addr;
  const header = (topic: string) => ({ a: 'pg', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'true', n: 'broker-a' });
  const topic = 'BenchBatch';
  // Create the topic first, so the measured request is only the batch.
  await client.invoke(addr, createRequest(310, { ...header(topic), m: 'false' }, { body: new Uint8Array(1) }), 10_000);

  const records = Math.floor(MAX_MESSAGE_SIZE / RECORD);
  const body = new Uint8Array(records * RECORD);
  const v = new DataView(body.buffer);
  for (let p = 0; p < body.length; p += RECORD) v.setInt32(p, RECORD); // empty body, empty properties

  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  const r = await client.invoke(addr, createRequest(320, header(topic), { body }), 60_000);
  const answerMs = performance.now() - t0;
  h.disable();
  const max = await client.invoke(addr, createRequest(30, { topic, queueId: '0' }), 10_000);
  const stored = Number(max.extFields?.offset ?? 0) - 1; // minus the message that created the topic
  process.stderr.write(`remark: ${r.remark ?? ''}\n`);
  console.log(JSON.stringify({
    case: 'batch-4MiB-empty-records',
    records_sent: records,
    code: r.code,
    stored,
    answer_ms: Math.round(answerMs),
    max_stall_ms: Math.round(h.max / 1e6),
  }));
} finally {
  await client.close();
  await transport.close();
  await embedded.close();
  await rm(dir, { recursive: true, force: true });
}
