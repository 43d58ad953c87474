// rocketmq-edge as a contender of the shared peers harness (shared/bench/peers/README.md):
// the prebuilt browser library file dist/browser/rocketmq-edge.js (core + WebSocketTransport, what
// the demo, worker and Deno apps import; with --auto-batch 1 that file plus autoBatch) over the `ws` package as the
// global WebSocket (what the other peers do on Node 20), publishing acknowledged SYNC sends.
//
//   node bench/peers-contender.mjs --url ws://127.0.0.1:PORT/rmq --window 256 --count 200000 --size 1024
//        [--token T]   default: fetched from the gateway's /demo-config.json (development mode)
//        [--topic T]   default: bench
//        [--auto-batch 1]  automatic batching on (`new Producer({ transport, autoBatch })`); default off.
//                      Through the harness: --contender-args "--auto-batch 1" (a second run gives the row with it off).
// The gateway it expects: node packages/gateway/bin/rocketmq-edge.mjs --port PORT --data DIR --no-demo \
//        --rate 100000000 --burst 100000000 --max-in-flight 65536 --log-level warn
// Side by side with the peers, from a copy of shared/bench/peers (the harness writes results there):
//   cp -r ../shared/bench/peers /tmp/peers && cd /tmp/peers && ./run.sh \
//     --contender rmq=$PWD_OF_REPO/bench/peers-contender.mjs \
//     --contender-server "node $PWD_OF_REPO/packages/gateway/bin/rocketmq-edge.mjs --port {PORT} --data {TMP}/rmq --no-demo --rate 100000000 --burst 100000000 --max-in-flight 65536 --log-level warn" \
//     --contender-url "ws://127.0.0.1:{PORT}/rmq" --contender-bundle $PWD_OF_REPO/bench/peers-bundle-entry.mjs
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runContender } from '../../shared/bench/peers/lib/contender.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(ROOT, 'packages/gateway/package.json'));
const rootRequire = createRequire(join(ROOT, 'package.json'));

/**
 * The library file dist/browser/rocketmq-edge.js, (re)built from the sources first in a child
 * process: current, and esbuild never loads into this process, whose memory the harness measures.
 */
async function loadBundle(autoBatch) {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (!autoBatch) return import(pathToFileURL(join(ROOT, 'dist/browser/rocketmq-edge.js')).href);
  // The same file plus autoBatch, which rocketmq-edge.js leaves out (bench/peers-autobatch-bundle.mjs).
  const file = join(ROOT, 'dist/bench/rocketmq-edge-autobatch.js');
  execFileSync(process.execPath, [join(ROOT, 'bench/peers-autobatch-bundle.mjs'), file], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  return import(pathToFileURL(file).href);
}

function pkgVersion() {
  try { return `@rocketmq-edge/transport-ws@${rootRequire('./packages/transport-ws/package.json').version}`; } catch { return 'rocketmq-edge'; }
}

await runContender({
  name: 'rocketmq-edge',
  version: pkgVersion(),
  async connect(opts) {
    globalThis.WebSocket ??= require('ws'); // Node 20: no global WebSocket; the bundle uses the global one
    const batching = opts.autoBatch === '1' || opts.autoBatch === true;
    const { Producer, WebSocketTransport, autoBatch } = await loadBundle(batching);
    let token = opts.token;
    if (!token) {
      const cfgUrl = new URL('/demo-config.json', opts.url.replace(/^ws/, 'http'));
      token = (await (await fetch(cfgUrl)).json()).token;
    }
    const transport = new WebSocketTransport({ url: opts.url, token });
    const producer = new Producer({ transport, producerGroup: 'peers_bench', sendMsgTimeout: 10_000, autoBatch: batching && autoBatch });
    await producer.start();
    const topic = opts.topic ?? 'bench';
    await producer.send({ topic, body: new Uint8Array(opts.size) }); // route + topic auto-creation
    return {
      publish: (payload) => producer.send({ topic, body: payload }),
      close: async () => { await producer.shutdown(); await transport.close(); },
      info: {
        send_mode: `SYNC send(), acked by the broker (ASYNC_FLUSH)${batching ? ', autoBatch on' : ''}`,
        auto_batch: batching,
        path: 'browser bundle → ws → gateway → embedded broker',
      },
    };
  },
});
