// A Transport that signs every request it carries (AclClientRPCHook for a whole client): wrap
// TcpTransport (or any transport) with it and a Producer, consumer or RemotingClient over it talks
// to an ACL-enabled cluster. WebCrypto signs asynchronously, so each connection writes its frames
// from a queue, in the order they were handed over: a signed request never overtakes an earlier one.
import { RemotingConnectError } from '../errors.js';
import { decodeCommand, encodeCommand } from '../remoting/codec.js';
import { isResponse } from '../remoting/command.js';
import type { ConnectionHandlers, Transport, TransportConnection } from '../transport.js';
import { signRequest, type AclCredentials } from './sign.js';

export class AclTransport implements Transport {
  readonly #inner: Transport;
  readonly #creds: AclCredentials;

  constructor(inner: Transport, credentials: AclCredentials) {
    if (!credentials?.accessKey || !credentials.secretKey) throw new TypeError('AclTransport needs credentials with accessKey and secretKey');
    this.#inner = inner;
    this.#creds = credentials;
  }

  async connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection> {
    // onClose reaches the caller once: with the error when a frame could not be signed or written.
    let closed = false;
    const once: ConnectionHandlers = {
      onFrame: (f) => handlers.onFrame(f),
      onClose: (e) => {
        if (closed) return;
        closed = true;
        handlers.onClose(e);
      },
    };
    const conn = await this.#inner.connect(target, once, signal);
    const creds = this.#creds;
    /** The frame (or signing of it) written last: the next one waits for it. */
    let tail: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (e: unknown): void => {
      // A frame that cannot go out leaves a hole in the stream: end the connection, its requests fail at once.
      if (failed) return;
      failed = true;
      once.onClose(e instanceof Error ? e : new RemotingConnectError(target, String(e)));
      conn.close();
    };
    return {
      target: conn.target,
      // No headroom: every frame is encoded anew here, with the room the inner connection wants.
      send(frame, _headroom, timeoutMs) {
        if (failed) throw new RemotingConnectError(target, 'connection closed');
        const cmd = decodeCommand(frame);
        const room = conn.headroom ?? 0;
        // Responses (to broker-initiated requests) are not signed, but keep their place in the queue.
        const signed = isResponse(cmd) ? Promise.resolve(cmd) : signRequest(cmd, creds);
        tail = tail.then(() => signed).then(
          (c) => {
            if (!failed) conn.send(encodeCommand(c, room), room, timeoutMs);
          },
          fail,
        ).catch(fail);
      },
      close: () => conn.close(),
    };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
