// Write batching for socket-based transports and servers (Node's stream.Writable cork/uncork),
// kept here, runtime-free, so every package that writes frames to a socket batches the same way.

/** The part of a Node socket (stream.Writable) that batching needs. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Returns the function to call before each write. A tick's writes leave together in few writev
 * calls: cork at the first, uncork when `defer` runs it (process.nextTick on Node). A burst is
 * flushed every `every` writes, so the peer starts on the first frames while the rest are still
 * being produced: a pipeline instead of lockstep batches (measured on 2 cores at window 256:
 * +5 % through the gateway, +20 % for direct TCP; 8–16 equally good). `afterUncork` runs after
 * the tick's final uncork (e.g. to look at back-pressure).
 */
export function writeBatcher(socket: Corkable, defer: (fn: () => void) => void, every = 16, afterUncork?: () => void): () => void {
  let n = -1; // writes since the last flush; -1 = not corked
  const end = (): void => {
    n = -1;
    socket.uncork();
    afterUncork?.();
  };
  return () => {
    if (n < 0) {
      n = 0;
      socket.cork();
      defer(end);
    } else if (++n >= every) {
      n = 0;
      socket.uncork();
      socket.cork();
    }
  };
}
