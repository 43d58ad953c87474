// Opens N idle authenticated WebSocket connections to a rocketmq-edge gateway (for the
// gateway-idle-5000 case of bench/ws.ts), prints "READY <n>" once every one got its hello,
// then holds them until SIGTERM / stdin closes.
//   node bench/peers-idle-clients.mjs --url ws://127.0.0.1:PORT/rmq --token T --count 5000
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/gateway/package.json', import.meta.url));
const WebSocket = require('ws');
const arg = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : d; };
const url = arg('--url');
const token = arg('--token');
const count = Number(arg('--count', '5000'));
const batch = 250;
const sockets = [];
let ready = 0;
let failed = 0;

function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['rocketmq-edge.v1', `bearer.${token}`], { perMessageDeflate: false });
    sockets.push(ws);
    let done = false;
    const finish = (ok) => { if (!done) { done = true; ok ? ready++ : failed++; resolve(); } };
    ws.on('message', (d, bin) => { if (!bin && String(d).includes('"hello"')) finish(true); });
    ws.on('error', () => finish(false));
    ws.on('close', () => finish(false));
  });
}

for (let i = 0; i < count; i += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - i) }, open));
}
process.stdout.write(`READY ${ready} ${failed}\n`);
const stop = () => { for (const s of sockets) s.terminate(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
