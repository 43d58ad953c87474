// The seam between core and the runtimes: opaque byte frames to a named target.
// Transports know nothing of topics, opaques or retries (ARCHITECTURE.md).

/** Target name for "the name server". Which one is the transport's business (failover etc.). */
export const NAMESRV_TARGET = 'namesrv';

/** What core hands a transport when it opens a connection. */
export interface ConnectionHandlers {
  /** One complete remoting frame, without the 4-byte TCP length prefix. */
  onFrame(frame: Uint8Array): void;
  /** The connection is gone; `error` says why (undefined = closed by us). Called once. */
  onClose(error?: Error): void;
}

export interface TransportConnection {
  readonly target: string;
  /**
   * Bytes this connection puts in front of each frame (its own header: a length prefix, an
   * envelope). Core then encodes every frame with that much space before it, so the header goes
   * in place instead of copying the frame.
   */
  readonly headroom?: number;
  /**
   * Writes one frame (no length prefix). `headroom`: how many bytes directly before `frame` in its
   * buffer the transport may overwrite (0 or absent: none). `timeoutMs`: for a request that expects
   * a response, the milliseconds the caller will still wait for it (absent: no deadline — oneway
   * requests, responses). A transport may pass it on so that a relay stops holding resources for
   * the request once nobody waits (the WebSocket gateway does); others ignore it (TCP). Throws
   * RemotingConnectError when the connection is not open.
   */
  send(frame: Uint8Array, headroom?: number, timeoutMs?: number): void;
  /** Closes this connection; onClose is called with no error. */
  close(): void;
}

/**
 * A byte-frame transport. `target` is NAMESRV_TARGET or a broker address exactly as it
 * appears in route data ("host:port" for TCP, an alias for the WebSocket gateway).
 */
export interface Transport {
  /** Opens (or joins) a connection to a target. Rejects with a RemotingError subclass. */
  connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection>;
  /** Closes every connection. */
  close(): Promise<void>;
}
