// What the gateway owes one client, bounded. Writes of one tick leave in few syscalls (see
// writeBatcher). Past `outboundPauseBytes` unread by the client the gateway stops reading its
// requests (so it cannot make the gateway owe it more) until its socket drains; past
// `maxOutboundBytes`, or when it has not drained within `slowReaderTimeoutMs`, the client is a
// slow reader and the session closes it (4410).
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { writeBatcher } from '@rocketmq-edge/core/internal';
import type { GatewayLimits } from './options.js';

type Limits = Pick<GatewayLimits, 'outboundPauseBytes' | 'maxOutboundBytes' | 'slowReaderTimeoutMs'>;

export class Outbound {
  private beforeWrite: (() => void) | undefined;
  private paused = false;

  constructor(private readonly ws: WebSocket, private readonly limits: Limits, private readonly slowReader: (why: string) => void) {}

  /** Sends one binary message. */
  send(bytes: Uint8Array): void {
    const ws = this.ws;
    const sock = (ws as unknown as { _socket?: Writable })._socket;
    if (!this.beforeWrite && sock) this.beforeWrite = writeBatcher(sock, process.nextTick);
    this.beforeWrite?.();
    ws.send(bytes);
    const owed = ws.bufferedAmount;
    const l = this.limits;
    if (owed <= l.outboundPauseBytes) return;
    if (owed > l.maxOutboundBytes) {
      this.slowReader(`${owed} bytes unread by the client (limit ${l.maxOutboundBytes}): read your socket`);
      return;
    }
    if (this.paused || !sock) return;
    this.paused = true;
    ws.pause();
    const timer = setTimeout(() => this.slowReader(`the client read nothing for ${l.slowReaderTimeoutMs} ms while answers waited`), l.slowReaderTimeoutMs);
    sock.once('drain', () => {
      clearTimeout(timer);
      this.paused = false;
      if (ws.readyState === 1) ws.resume();
    });
  }
}
