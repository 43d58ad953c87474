// Request bodies of HTTP publishes, bounded: a Content-Length over the limit is refused before a
// byte is read, a chunked body as soon as its count passes the limit. What a refused client goes
// on sending is read and dropped for a short while (so that it can read its answer: closing with
// data unread resets the connection), then the connection is closed.
import type { IncomingMessage } from 'node:http';
import { ResponseCode } from '@rocketmq-edge/core/internal';
import { HttpError } from './http-error.js';

/** How long a refused request may go on sending before its connection is closed. */
const LINGER_MS = 1000;

const tooLarge = (limit: number, what: string) =>
  new HttpError(413, ResponseCode.MESSAGE_ILLEGAL, `${what}; at most ${limit} bytes per request (send large messages one per request)`, 'oversize');

/** The client closed its connection before its request was whole: there is nobody to answer. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

/** The body, at most `limit` bytes; HttpError 413 past it, ClientGoneError when the client goes away. */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit, `the body is ${declared} bytes`));
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    return Promise.reject(new HttpError(415, ResponseCode.MESSAGE_ILLEGAL, `content-encoding ${encoding} is not accepted: send the body as is`, 'malformed'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge(limit, `the body is over ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onAborted = () => done(new ClientGoneError('the client went away before sending its whole request'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onAborted);
  });
}

/**
 * After an answer given before the whole request was read: drops the rest as it arrives, and
 * closes the connection if the request has not ended within LINGER_MS.
 */
export function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  req.on('error', () => {});
  req.resume();
  const timer = setTimeout(() => { if (!req.complete) req.socket.destroy(); }, LINGER_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.socket.once('close', () => clearTimeout(timer));
}
