// An incoming HTTP request as the event the edge apps (Workers, Deno) publish. Web-standard only.

export interface RequestEvent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: string;
}

export const MAX_BODY_BYTES = 256 * 1024;

/**
 * The request as an event, with only the listed headers (never cookies or authorization).
 * Throws a 413 Response when the body is over MAX_BODY_BYTES.
 */
export async function toEvent(request: Request, headerNames: readonly string[]): Promise<RequestEvent> {
  const headers: Record<string, string> = {};
  for (const name of headerNames) {
    const v = request.headers.get(name);
    if (v != null) headers[name] = v;
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) {
    throw Response.json({ error: 'PayloadTooLarge', message: `body over ${MAX_BODY_BYTES} bytes` }, { status: 413 });
  }
  return { method: request.method, url: request.url, headers, body: new TextDecoder().decode(bytes), receivedAt: new Date().toISOString() };
}

/** A failed publish as JSON: the error's name and message, status 502 (the upstream failed). */
export function errorResponse(err: unknown): Response {
  const e = err as Error;
  return Response.json({ error: e?.name ?? 'Error', message: e?.message ?? String(err) }, { status: 502 });
}
