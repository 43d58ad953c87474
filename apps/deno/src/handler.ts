// The HTTP handler of the Deno app: publishes each request to RocketMQ and answers with the
// SendResult as JSON. Web-standard Request/Response only, so it is unit-testable anywhere.
import type { Producer } from '../../../packages/transport-ws/src/browser.js';

/** Headers copied into the event (never cookies or authorization). */
export const EVENT_HEADERS = ['content-type', 'content-length', 'user-agent', 'referer', 'x-request-id', 'x-forwarded-for'];
const MAX_BODY_BYTES = 256 * 1024;

export interface RequestEvent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: string;
}

export interface HandlerOptions {
  producer: Producer;
  topic: string;
}

export function createHandler({ producer, topic }: HandlerOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.length > MAX_BODY_BYTES) {
      return Response.json({ error: 'PayloadTooLarge', message: `body over ${MAX_BODY_BYTES} bytes` }, { status: 413 });
    }
    const headers: Record<string, string> = {};
    for (const name of EVENT_HEADERS) {
      const v = request.headers.get(name);
      if (v != null) headers[name] = v;
    }
    const event: RequestEvent = {
      method: request.method,
      url: request.url,
      headers,
      body: new TextDecoder().decode(bytes),
      receivedAt: new Date().toISOString(),
    };
    try {
      const result = await producer.send({
        topic,
        tags: request.method,
        keys: request.headers.get('x-request-id') ?? undefined,
        body: JSON.stringify(event),
      });
      return Response.json(result);
    } catch (err) {
      const e = err as Error;
      return Response.json({ error: e?.name ?? 'Error', message: e?.message ?? String(err) }, { status: 502 });
    }
  };
}
