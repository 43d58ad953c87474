// Writes made within one tick leave together in one writev: cork now, uncork on the next tick.
// Whether this tick already corked is the socket's own writableCorked count, not extra state.
import type { Writable } from 'node:stream';

export function corkUntilNextTick(socket: Writable): void {
  if (socket.writableCorked) return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}
