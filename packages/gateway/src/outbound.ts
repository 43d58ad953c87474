// What the gateway owes one client, bounded. Writes of one tick leave in few syscalls (see
// writeBatcher) and, to a client that reads FRAMES (wire version 3), in few WebSocket messages.
// Past `outboundPauseBytes` unread by the client the gateway stops reading its requests (so it
// cannot make the gateway owe it more) until its socket drains; past `maxOutboundBytes`, or when it
// has not drained within `slowReaderTimeoutMs`, the client is a slow reader and the session closes
// it (4410).
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { writeBatcher } from '@rocketmq-edge/core/internal';
import { framesWriter } from '@rocketmq-edge/transport-ws/envelope';
import type { GatewayLimits } from './options.js';

type Limits = Pick<GatewayLimits, 'outboundPauseBytes' | 'maxOutboundBytes' | 'slowReaderTimeoutMs'>;

export class Outbound {
  private beforeWrite: (() => void) | undefined;
  private paused = false;
  /** Once the client reads FRAMES: holds what one tick writes, returns the bytes it holds. */
  private frames: ((env: Uint8Array) => number) | undefined;

  constructor(private readonly ws: WebSocket, private readonly limits: Limits, private readonly slowReader: (why: string) => void) {}

  /** From now on what becomes ready in one tick leaves as FRAMES messages of at most `maxBytes`. */
  coalesce(maxBytes: number): void {
    this.frames ??= framesWriter(maxBytes, (msg) => this.write(msg), (flush) => process.nextTick(flush));
  }

  /** Sends one envelope: at once, or (coalesce) at the end of this tick. */
  send(bytes: Uint8Array): void {
    const ws = this.ws;
    const sock = (ws as unknown as { _socket?: Writable })._socket;
    const held = this.frames ? this.frames(bytes) : (this.write(bytes), 0);
    const buffered = ws.bufferedAmount;
    const l = this.limits;
    // Bytes held for the end of the tick are owed too: the bound stays exact in bytes. Pausing
    // looks at the socket alone (its 'drain' ends the pause).
    if (buffered + held > l.maxOutboundBytes) {
      this.slowReader(`${buffered + held} bytes unread by the client (limit ${l.maxOutboundBytes}): read your socket`);
      return;
    }
    if (buffered <= l.outboundPauseBytes || this.paused || !sock) return;
    this.paused = true;
    ws.pause();
    const timer = setTimeout(() => this.slowReader(`the client read nothing for ${l.slowReaderTimeoutMs} ms while answers waited`), l.slowReaderTimeoutMs);
    sock.once('drain', () => {
      clearTimeout(timer);
      this.paused = false;
      if (ws.readyState === 1) ws.resume();
    });
  }

  private write(msg: Uint8Array): void {
    const ws = this.ws;
    if (ws.readyState !== 1) return; // closed before the end of the tick
    const sock = (ws as unknown as { _socket?: Writable })._socket;
    if (!this.beforeWrite && sock) this.beforeWrite = writeBatcher(sock, process.nextTick);
    this.beforeWrite?.();
    ws.send(msg);
  }
}
