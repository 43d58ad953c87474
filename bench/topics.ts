// Topic auto-creation: SEND_MESSAGE_V2 to BENCH_TOPICS (20,000) new topics, 32 sends in flight,
// against an in-process embedded name server + broker. Every send creates its topic (persisted
// to config/topics.json, registered with the name server). Linear cost shows as a flat
// ms_per_1k; a cost per topic that grows with the table shows as a rising one. One JSON line:
//   {"case":"auto-create-topics","topics":20000,"total_ms":…,"ms_per_1k":[…],"last_over_first":…}
// Then it checks that the name server routes and topics.json (after close) hold every topic.
// Run: npm run build && node --import tsx bench/topics.ts
//   (or node --conditions=source --import tsx bench/topics.ts to run the sources).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '@rocketmq-edge/broker';
import { RemotingClient, createRequest } from '@rocketmq-edge/core/internal';
import { TcpTransport } from '@rocketmq-edge/transport-tcp';

const TOPICS = Number(process.env.BENCH_TOPICS ?? 20_000);
const WINDOW = 32;
const CHUNKS = 10;

const dir = await mkdtemp(join(tmpdir(), 'rmq-edge-bench-topics-'));
const embedded = await startEmbedded({ dataDir: dir });
const transport = new TcpTransport();
const client = new RemotingClient(transport);
const body = new TextEncoder().encode('x');
try {
  const addr = embedded.broker.addr;
  const send = (i: number) =>
    client.invoke(addr, createRequest(310, {
      a: 'pg', b: `BenchTopic-${i}`, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: 'WAIT\u0001true', j: '0', k: 'false', m: 'false', n: 'broker-a',
    }, { body }), 30_000).then((r) => {
      if (r.code !== 0) throw new Error(`send to BenchTopic-${i}: code ${r.code} ${r.remark ?? ''}`);
    });

  const chunk = Math.ceil(TOPICS / CHUNKS);
  const msPer1k: number[] = [];
  const t0 = performance.now();
  let next = 0;
  let chunkStart = t0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (next < TOPICS && next - done < WINDOW) {
        send(next++).then(() => {
          done++;
          if (done % chunk === 0 || done === TOPICS) {
            const now = performance.now();
            msPer1k.push(Math.round(((now - chunkStart) / chunk) * 1000));
            chunkStart = now;
          }
          if (done === TOPICS) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const totalMs = performance.now() - t0;

  // Everything created must be published (registration) and persisted (topics.json after close).
  const last = `BenchTopic-${TOPICS - 1}`;
  let routed = false;
  for (let i = 0; i < 100 && !routed; i++) {
    routed = (await client.invoke(embedded.namesrvAddr, createRequest(105, { topic: last }), 10_000)).code === 0;
    if (!routed) await new Promise((r) => setTimeout(r, 50));
  }
  await client.close();
  await embedded.close();
  const saved = JSON.parse(readFileSync(join(dir, 'config', 'topics.json'), 'utf8')) as { topics: Record<string, unknown> };
  const persisted = Object.keys(saved.topics).filter((t) => t.startsWith('BenchTopic-')).length;
  console.log(JSON.stringify({
    case: 'auto-create-topics',
    topics: TOPICS,
    total_ms: Math.round(totalMs),
    ms_per_1k: msPer1k,
    last_over_first: Math.round((msPer1k[msPer1k.length - 1]! / msPer1k[0]!) * 100) / 100,
    last_topic_routed: routed,
    persisted,
  }));
} finally {
  await client.close();
  await transport.close();
  await embedded.close();
  await rm(dir, { recursive: true, force: true });
}
