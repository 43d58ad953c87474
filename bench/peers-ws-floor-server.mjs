// The raw WebSocket floor for bench/ws.ts (same protocol as shared/bench/peers/servers/ws-ack-server.mjs):
// answers every binary message with a 16-byte ack echoing its 4-byte id. 127.0.0.1 only.
//   node bench/peers-ws-floor-server.mjs [--port N]     prints "READY <port>"
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/gateway/package.json', import.meta.url));
const { WebSocketServer } = require('ws');
const i = process.argv.indexOf('--port');
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 16 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary || data.length < 4) return;
    const ack = Buffer.alloc(16);
    data.copy(ack, 0, 0, 4);
    ack.writeUInt32LE(data.length, 4);
    ws.send(ack);
  });
  ws.on('error', () => {});
});
wss.on('listening', () => process.stdout.write(`READY ${wss.address().port}\n`));
const stop = () => { wss.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
