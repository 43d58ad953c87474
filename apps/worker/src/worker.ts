// Cloudflare Workers (module worker): publishes each incoming HTTP request to RocketMQ through
// the rocketmq-edge gateway and answers with the SendResult as JSON.
//
// A Workers WebSocket lives only as long as the request that opened it, so the producer and its
// transport are created per request and shut down (after the response, via waitUntil) with it.
// The socket is opened the Workers way (fetch + Upgrade + accept), see fetch-socket.ts.
// scripts/build.mjs turns the import below into `./rocketmq-edge.js`, the one browser bundle.
import { Producer, WebSocketTransport } from '../../../packages/transport-ws/src/browser.js';
import { fetchUpgradeWebSocket } from './fetch-socket.js';

export interface Env {
  /** Gateway endpoint, e.g. "wss://gw.example.com/rmq". */
  RMQ_WS_URL: string;
  /** Token for the gateway (a secret: `wrangler secret put RMQ_TOKEN`). */
  RMQ_TOKEN?: string;
  /** Topic the request events go to (default "edge-requests"). */
  RMQ_TOPIC?: string;
  RMQ_PRODUCER_GROUP?: string;
}

/** The part of the Workers ExecutionContext used here. */
interface Ctx { waitUntil(promise: Promise<unknown>): void }

/** Headers copied into the event (never cookies or authorization). */
export const EVENT_HEADERS = ['content-type', 'content-length', 'user-agent', 'referer', 'x-request-id',
  'cf-connecting-ip', 'cf-ipcountry', 'cf-ray'];
const MAX_BODY_BYTES = 256 * 1024;

export interface RequestEvent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: string;
}

/** The request as an event; throws a 413 Response when the body is too large. */
export async function toEvent(request: Request): Promise<RequestEvent> {
  const headers: Record<string, string> = {};
  for (const name of EVENT_HEADERS) {
    const v = request.headers.get(name);
    if (v != null) headers[name] = v;
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) {
    throw Response.json({ error: 'PayloadTooLarge', message: `body over ${MAX_BODY_BYTES} bytes` }, { status: 413 });
  }
  return {
    method: request.method,
    url: request.url,
    headers,
    body: new TextDecoder().decode(bytes),
    receivedAt: new Date().toISOString(),
  };
}

export default {
  async fetch(request: Request, env: Env, ctx: Ctx): Promise<Response> {
    let event: RequestEvent;
    try {
      event = await toEvent(request);
    } catch (res) {
      if (res instanceof Response) return res;
      throw res;
    }
    const transport = new WebSocketTransport({
      url: env.RMQ_WS_URL,
      token: env.RMQ_TOKEN,
      webSocketFactory: fetchUpgradeWebSocket,
      // One request, one short-lived socket: a couple of quick retries, then report the failure.
      reconnect: { maxAttempts: 2, initialDelayMs: 100 },
      heartbeatIntervalMs: 0,
    });
    const producer = new Producer({ transport, producerGroup: env.RMQ_PRODUCER_GROUP ?? 'edge-worker', sendMsgTimeout: 5000 });
    try {
      await producer.start();
      const result = await producer.send({
        topic: env.RMQ_TOPIC ?? 'edge-requests',
        tags: event.method,
        keys: request.headers.get('x-request-id') ?? undefined,
        body: JSON.stringify(event),
      });
      return Response.json(result);
    } catch (err) {
      const e = err as Error;
      return Response.json({ error: e?.name ?? 'Error', message: e?.message ?? String(err) }, { status: 502 });
    } finally {
      // Unregister and close the socket after the response, still inside this request's lifetime.
      ctx.waitUntil(producer.shutdown().catch(() => {}));
    }
  },
};
