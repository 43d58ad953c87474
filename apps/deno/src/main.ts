// Deno app: `Deno.serve` publishes each incoming HTTP request to RocketMQ through the gateway.
// Unlike a Worker, a Deno process keeps one producer (one WebSocket) for all requests; with
// RMQ_HTTP_URL instead, each request is one fetch to the gateway's HTTP API (nothing kept open).
//
//   RMQ_WS_URL=ws://127.0.0.1:8080/rmq RMQ_TOKEN=… RMQ_TOPIC=edge-requests PORT=8000 \
//     deno run --allow-net=127.0.0.1 --allow-env apps/deno/dist/main.js
//   RMQ_HTTP_URL=http://127.0.0.1:8080 RMQ_TOKEN=… …   (the HTTP path)
//
// Prints {"event":"ready","url":…} on stdout when listening; SIGTERM/SIGINT shut down gracefully.
// scripts/build.mjs turns the import below into `./rocketmq-edge.js`, the one browser bundle.
import { Producer, WebSocketTransport, type Message } from '../../../packages/transport-ws/src/browser.js';
import { HttpProducer } from '../../../packages/transport-ws/src/http.js';
import { createHandler } from './handler.js';

// The few Deno APIs used here (the repo type-checks without Deno's lib).
declare const Deno: {
  env: { get(key: string): string | undefined };
  serve(
    opts: { hostname?: string; port?: number; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code?: number): never;
};

const env = (key: string, fallback?: string): string => {
  const v = Deno.env.get(key) ?? fallback;
  if (v === undefined) throw new Error(`set ${key} (e.g. ${key}=ws://127.0.0.1:8080/rmq)`);
  return v;
};

const httpUrl = Deno.env.get('RMQ_HTTP_URL');
let send: (message: Message) => Promise<unknown>;
let producer: Producer | undefined;
if (httpUrl) {
  const http = new HttpProducer({ url: httpUrl, token: Deno.env.get('RMQ_TOKEN'), timeoutMs: 5000 });
  send = (m) => http.send(m);
} else {
  const transport = new WebSocketTransport({ url: env('RMQ_WS_URL'), token: Deno.env.get('RMQ_TOKEN') });
  transport.on('state', (s) => console.error(JSON.stringify({ event: 'transport', ...s })));
  const p = (producer = new Producer({ transport, producerGroup: env('RMQ_PRODUCER_GROUP', 'edge-deno'), sendMsgTimeout: 5000 }));
  await p.start();
  send = (m) => p.send(m);
}

const server = Deno.serve({
  hostname: env('HOSTNAME', '127.0.0.1'),
  port: Number(env('PORT', '8000')),
  onListen: ({ hostname, port }) => console.log(JSON.stringify({ event: 'ready', url: `http://${hostname}:${port}/` })),
}, createHandler({ send, topic: env('RMQ_TOPIC', 'edge-requests') }));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.shutdown();
  await producer?.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener('SIGTERM', stop);
Deno.addSignalListener('SIGINT', stop);
