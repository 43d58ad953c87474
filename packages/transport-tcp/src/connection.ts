// One TCP socket carrying remoting frames: adds the 4-byte length prefix on send, splits the
// byte stream into frames on receive, queues writes while the socket is congested, reports the
// end of the connection exactly once.
import type { Socket } from 'node:net';
import {
  CodecError,
  FrameDecoder,
  RemotingConnectError,
  RemotingTooMuchRequestError,
  writeBatcher,
  type ConnectionHandlers,
  type TransportConnection,
} from '@rocketmq-edge/core/internal';

export interface TcpConnectionOptions {
  /** Largest frame accepted in either direction (without the length prefix). */
  maxFrameSize: number;
  /** Cap on bytes waiting to be written (our queue plus the socket's buffer). */
  maxQueuedBytes: number;
  /** How long close() waits for the peer to finish the TCP close before destroying the socket. */
  closeGraceMs: number;
}

/** Frames up to this size are copied behind their prefix into one buffer; larger ones go out as two writes. */
const COALESCE_LIMIT = 64 * 1024;

export class TcpConnection implements TransportConnection {
  /** Resolves once the socket is fully closed (after onClose). */
  readonly closed: Promise<void>;
  private readonly decoder: FrameDecoder;
  private state: 'open' | 'closed' = 'open';
  private socketError: Error | undefined;
  /** Frames (with prefixes) held back while the socket is over its high-water mark. */
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private blocked = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Frames of one tick leave in few writev calls (see writeBatcher); then back-pressure is known. */
  private readonly beforeWrite: () => void;

  constructor(
    /** What the caller asked for: NAMESRV_TARGET or "host:port". */
    readonly target: string,
    /** The "host:port" actually dialled (differs from target for the name server). */
    readonly addr: string,
    private readonly socket: Socket,
    private readonly handlers: ConnectionHandlers,
    private readonly opts: TcpConnectionOptions,
    onGone: () => void,
  ) {
    this.decoder = new FrameDecoder(opts.maxFrameSize);
    this.beforeWrite = writeBatcher(socket, process.nextTick, undefined, () => {
      // Not all handed to the kernel: hold further frames in our queue until 'drain'.
      if (socket.writableNeedDrain && this.state === 'open') this.blocked = true;
    });
    let resolveClosed!: () => void;
    this.closed = new Promise<void>((r) => (resolveClosed = r));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.flush());
    socket.on('error', (err) => {
      this.socketError ??= err;
    });
    // The peer's FIN: Node ends our side too (allowHalfOpen false); report it now, not at 'close'.
    socket.on('end', () => this.finish(new RemotingConnectError(this.addr, 'the peer closed the connection')));
    socket.on('close', () => {
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.queue = [];
      this.queuedBytes = 0;
      onGone();
      const err = this.socketError;
      this.finish(new RemotingConnectError(this.addr, err ? err.message : 'the peer closed the connection', { cause: err }));
      resolveClosed();
    });
  }

  /** True until close(), a peer close, a socket error or a codec error. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Bytes accepted by send() but not yet handed to the kernel. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** The 4-byte length prefix (see TransportConnection.headroom). */
  readonly headroom = 4;

  send(frame: Uint8Array, headroom = 0): void {
    if (this.state !== 'open') {
      throw new RemotingConnectError(this.addr, 'the connection is closed (connect again for a new one)');
    }
    if (frame.length > this.opts.maxFrameSize) {
      throw new CodecError('OVERSIZE', `frame of ${frame.length} bytes exceeds the ${this.opts.maxFrameSize}-byte limit`);
    }
    const buffered = this.bufferedBytes;
    if (buffered > 0 && buffered + 4 + frame.length > this.opts.maxQueuedBytes) {
      throw new RemotingTooMuchRequestError(
        this.addr,
        `${buffered} bytes are already waiting to be written to ${this.addr} (limit ${this.opts.maxQueuedBytes}); ` +
          'the peer or the network is slower than the send rate: wait for responses before sending more',
      );
    }
    let chunks: Uint8Array[];
    if (headroom >= 4) {
      // The length prefix goes into the room core left before the frame: one buffer, no copy.
      const whole = new Uint8Array(frame.buffer, frame.byteOffset - 4, frame.length + 4);
      new DataView(whole.buffer, whole.byteOffset).setUint32(0, frame.length);
      chunks = [whole];
    } else {
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, frame.length);
      if (frame.length <= COALESCE_LIMIT) {
        const one = new Uint8Array(4 + frame.length);
        one.set(prefix);
        one.set(frame, 4);
        chunks = [one];
      } else {
        chunks = [prefix, frame];
      }
    }
    if (this.blocked) {
      for (const c of chunks) {
        this.queue.push(c);
        this.queuedBytes += c.length;
      }
      return;
    }
    this.write(chunks);
  }

  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    // Hand over what is queued, then half-close; the peer answers with its own FIN.
    if (this.queue.length) {
      const q = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      for (const c of q) this.socket.write(c);
    }
    this.socket.end();
    this.graceTimer = setTimeout(() => this.socket.destroy(), this.opts.closeGraceMs);
    this.graceTimer.unref?.();
    this.handlers.onClose();
  }

  /** Closes at once and reports `error` through onClose. */
  fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.queue = [];
    this.queuedBytes = 0;
    this.socket.destroy();
    this.handlers.onClose(error);
  }

  private finish(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.handlers.onClose(error);
  }

  private write(chunks: Uint8Array[]): void {
    // While corked, write()'s "false" only says the tick's batch passed the high-water mark;
    // whether the kernel keeps up is known after uncork (maxQueuedBytes bounds the batch meanwhile).
    for (const c of chunks) {
      this.beforeWrite();
      this.socket.write(c);
    }
  }


  private flush(): void {
    this.blocked = false;
    if (this.state !== 'open' || this.queue.length === 0) return;
    const q = this.queue;
    let i = 0;
    this.socket.cork();
    while (i < q.length) {
      const c = q[i++]!;
      this.queuedBytes -= c.length;
      if (!this.socket.write(c)) {
        this.blocked = true;
        break;
      }
    }
    this.socket.uncork();
    this.queue = i === q.length ? [] : q.slice(i);
  }

  private onData(chunk: Buffer): void {
    if (this.state !== 'open') return;
    let frames: Uint8Array[];
    try {
      // A plain Uint8Array view, so the frames (views into it) are Uint8Arrays, not Buffers.
      frames = this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.fail(e instanceof Error ? e : new CodecError('BAD_LENGTH', String(e)));
      return;
    }
    for (const frame of frames) {
      if (this.state !== 'open') return;
      try {
        this.handlers.onFrame(frame);
      } catch (e) {
        // A failing handler is a bug upstream; end this connection loudly rather than crash the host.
        this.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
    }
    // Good frames before a bad length were delivered above; now the stream is done.
    if (this.decoder.error && this.state === 'open') this.fail(this.decoder.error);
  }
}
