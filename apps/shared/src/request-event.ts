// An incoming HTTP request as the event the edge apps (Workers, Deno) publish. Web-standard only.
import type { Message } from '../../../packages/transport-ws/src/browser.js';

export interface RequestEvent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: string;
}

export const MAX_BODY_BYTES = 256 * 1024;

/**
 * The request as an event, with only the listed headers (never cookies or authorization), or a
 * 413 Response to answer with when the body is over MAX_BODY_BYTES.
 */
export async function toEvent(request: Request, headerNames: readonly string[]): Promise<RequestEvent | Response> {
  const headers: Record<string, string> = {};
  for (const name of headerNames) {
    const v = request.headers.get(name);
    if (v != null) headers[name] = v;
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) {
    return Response.json({ error: 'PayloadTooLarge', message: `body over ${MAX_BODY_BYTES} bytes` }, { status: 413 });
  }
  return { method: request.method, url: request.url, headers, body: new TextDecoder().decode(bytes), receivedAt: new Date().toISOString() };
}

/** The message an event is published as: tagged with the method, keyed by x-request-id. */
export function eventMessage(topic: string, request: Request, event: RequestEvent): Message {
  return { topic, tags: event.method, keys: request.headers.get('x-request-id') ?? undefined, body: JSON.stringify(event) };
}

/** A failed publish as JSON: the error's name and message, status 502 (the upstream failed). */
export function errorResponse(err: unknown): Response {
  const e = err as Error;
  return Response.json({ error: e?.name ?? 'Error', message: e?.message ?? String(err) }, { status: 502 });
}
