// The HTTP handler of the Deno app: publishes each request to RocketMQ and answers with the
// SendResult as JSON. Web-standard Request/Response only, so it is unit-testable anywhere.
import type { Message } from '../../../packages/transport-ws/src/browser.js';
import { errorResponse, eventMessage, toEvent } from '../../shared/src/request-event.js';

/** Headers copied into the event (never cookies or authorization). */
export const EVENT_HEADERS = ['content-type', 'content-length', 'user-agent', 'referer', 'x-request-id', 'x-forwarded-for'];

export interface HandlerOptions {
  /** Producer.send (WebSocket path) or HttpProducer.send (HTTP path). */
  send(message: Message): Promise<unknown>;
  topic: string;
}

export function createHandler({ send, topic }: HandlerOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const event = await toEvent(request, EVENT_HEADERS);
    if (event instanceof Response) return event;
    try {
      const result = await send(eventMessage(topic, request, event));
      return Response.json(result);
    } catch (err) {
      return errorResponse(err);
    }
  };
}
