// Cloudflare Workers (module worker): publishes each incoming HTTP request to RocketMQ through
// the rocketmq-edge gateway and answers with the SendResult as JSON.
//
// A Workers WebSocket lives only as long as the request that opened it, so the producer and its
// transport are created per request and shut down (after the response, via waitUntil) with it.
// The socket is opened the Workers way (fetch + Upgrade + accept), see fetch-socket.ts.
// scripts/build.mjs turns the import below into `./rocketmq-edge.js`, the one browser bundle.
import { Producer, WebSocketTransport } from '../../../packages/transport-ws/src/browser.js';
import { errorResponse, eventMessage, toEvent } from '../../shared/src/request-event.js';
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

export default {
  async fetch(request: Request, env: Env, ctx: Ctx): Promise<Response> {
    const event = await toEvent(request, EVENT_HEADERS);
    if (event instanceof Response) return event;
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
      const result = await producer.send(eventMessage(env.RMQ_TOPIC ?? 'edge-requests', request, event));
      return Response.json(result);
    } catch (err) {
      return errorResponse(err);
    } finally {
      // Unregister and close the socket after the response, still inside this request's lifetime.
      ctx.waitUntil(producer.shutdown().catch(() => {}));
    }
  },
};
