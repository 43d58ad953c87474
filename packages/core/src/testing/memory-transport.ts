// An in-memory Transport with scripted peers, for unit tests of the client and the retry loop.
// It encodes and decodes real frames, so the codec is exercised too.
import { RemotingConnectError } from '../errors.js';
import { decodeCommand, encodeCommand } from '../remoting/codec.js';
import { isOneway, type RemotingCommand } from '../remoting/command.js';
import type { ConnectionHandlers, Transport, TransportConnection } from '../transport.js';

/**
 * What a scripted peer does with one request: answer it, stay silent ('drop'), close the
 * connection ('close', or an Error = closed with that error). Nothing/undefined = no answer.
 */
export type MemoryReply = RemotingCommand | 'drop' | 'close' | Error | void;
export type MemoryHandler = (cmd: RemotingCommand, target: string) => MemoryReply | Promise<MemoryReply>;

export interface MemoryRecord { target: string; cmd: RemotingCommand; frame: Uint8Array }

export class MemoryTransport implements Transport {
  /** Every request received by a peer, in order. */
  readonly requests: MemoryRecord[] = [];
  /** Targets whose connect attempts fail (simulated connection refused). */
  readonly refused = new Set<string>();
  connects = 0;
  private readonly open = new Set<MemoryConnection>();

  constructor(readonly handlers: Map<string, MemoryHandler> | Record<string, MemoryHandler> = {}) {}

  handle(target: string, handler: MemoryHandler): this {
    if (this.handlers instanceof Map) this.handlers.set(target, handler);
    else this.handlers[target] = handler;
    return this;
  }

  private handlerOf(target: string): MemoryHandler | undefined {
    return this.handlers instanceof Map ? this.handlers.get(target) : this.handlers[target];
  }

  async connect(target: string, handlers: ConnectionHandlers, signal?: AbortSignal): Promise<TransportConnection> {
    this.connects++;
    await Promise.resolve();
    if (signal?.aborted) throw new RemotingConnectError(target, 'aborted');
    if (this.refused.has(target) || !this.handlerOf(target)) throw new RemotingConnectError(target, 'connection refused');
    const conn = new MemoryConnection(this, target, handlers);
    this.open.add(conn);
    return conn;
  }

  /** Open connections, optionally to one target. */
  connections(target?: string): MemoryConnection[] {
    return [...this.open].filter((c) => target === undefined || c.target === target);
  }

  /** Pushes raw bytes to the client as if a peer sent them. */
  inject(target: string, frame: Uint8Array): void {
    for (const c of this.connections(target)) c.handlers.onFrame(frame);
  }

  /** Closes the connections to a target from the peer's side. */
  drop(target: string, error: Error = new RemotingConnectError(target, 'closed by peer')): void {
    for (const c of this.connections(target)) c.closeWith(error);
  }

  async close(): Promise<void> {
    for (const c of [...this.open]) c.close();
  }

  /** @internal */
  forget(c: MemoryConnection): void {
    this.open.delete(c);
  }

  /** @internal */
  async deliver(c: MemoryConnection, frame: Uint8Array): Promise<void> {
    const cmd = decodeCommand(frame);
    this.requests.push({ target: c.target, cmd, frame });
    const reply = await this.handlerOf(c.target)!(cmd, c.target);
    if (c.closed) return;
    if (reply === 'close') return c.closeWith(new RemotingConnectError(c.target, 'closed by peer'));
    if (reply instanceof Error) return c.closeWith(reply);
    if (!reply || reply === 'drop' || isOneway(cmd)) return;
    c.handlers.onFrame(encodeCommand(reply));
  }
}

export class MemoryConnection implements TransportConnection {
  closed = false;
  constructor(private readonly owner: MemoryTransport, readonly target: string, readonly handlers: ConnectionHandlers) {}

  send(frame: Uint8Array): void {
    if (this.closed) throw new RemotingConnectError(this.target, 'connection is closed');
    // Asynchronous like a real network; handler errors close the connection instead of escaping.
    queueMicrotask(() => {
      this.owner.deliver(this, frame).catch((e: unknown) => this.closeWith(e instanceof Error ? e : new Error(String(e))));
    });
  }

  close(): void {
    this.closeWith(undefined);
  }

  closeWith(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.forget(this);
    this.handlers.onClose(error);
  }
}
