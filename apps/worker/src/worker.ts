// Cloudflare Workers (module worker): publishes each incoming HTTP request to RocketMQ through
// the rocketmq-edge gateway and answers with the SendResult as JSON.
//
// Two paths. With RMQ_HTTP_URL: one `fetch` to the gateway's HTTP API per request (HttpProducer),
// nothing to open or close. With RMQ_WS_URL: a Producer over a WebSocket; a Workers WebSocket
// lives only as long as the request that opened it, so the producer and its transport are created
// per request and shut down (after the response, via waitUntil) with it. The socket is opened the
// Workers way (fetch + Upgrade + accept), see fetch-socket.ts.
// scripts/build.mjs turns the browser.js import below into `./rocketmq-edge.js`, the one browser
// bundle; the small HTTP client is bundled into worker.js.
import { Producer, WebSocketTransport } from '../../../packages/transport-ws/src/browser.js';
import { HttpProducer } from '../../../packages/transport-ws/src/http.js';
import { errorResponse, eventMessage, toEvent } from '../../shared/src/request-event.js';
import { fetchUpgradeWebSocket } from './fetch-socket.js';

export interface Env {
  /** Gateway base URL for the HTTP path, e.g. "https://gw.example.com"; takes precedence over RMQ_WS_URL. */
  RMQ_HTTP_URL?: string;
  /** Gateway endpoint for the WebSocket path, e.g. "wss://gw.example.com/rmq". */
  RMQ_WS_URL?: string;
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
    const message = eventMessage(env.RMQ_TOPIC ?? 'edge-requests', request, event);
    if (env.RMQ_HTTP_URL) {
      try {
        return Response.json(await new HttpProducer({ url: env.RMQ_HTTP_URL, token: env.RMQ_TOKEN, timeoutMs: 5000 }).send(message));
      } catch (err) {
        return errorResponse(err);
      }
    }
    const transport = new WebSocketTransport({
      url: env.RMQ_WS_URL ?? '',
      token: env.RMQ_TOKEN,
      webSocketFactory: fetchUpgradeWebSocket,
      // One request, one short-lived socket: a couple of quick retries, then report the failure.
      reconnect: { maxAttempts: 2, initialDelayMs: 100 },
      heartbeatIntervalMs: 0,
    });
    const producer = new Producer({ transport, producerGroup: env.RMQ_PRODUCER_GROUP ?? 'edge-worker', sendMsgTimeout: 5000 });
    try {
      await producer.start();
      const result = await producer.send(message);
      return Response.json(result);
    } catch (err) {
      return errorResponse(err);
    } finally {
      // Unregister and close the socket after the response, still inside this request's lifetime.
      ctx.waitUntil(producer.shutdown().catch(() => {}));
    }
  },
};
