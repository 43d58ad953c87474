// The embedded name server + broker on a worker thread of their own. The servers are the same
// ones on the same real TCP ports (clients reach them exactly as they reach a cluster), but their
// CPU and the store's disk writes no longer share an event loop with the caller's (the gateway's):
// a burst of appends or a recovery scan cannot stall WebSocket traffic, and a second core is used.
// The thread lives and dies with the process, so a killed gateway leaves no orphan broker behind.
import { Worker } from 'node:worker_threads';
import type { EmbeddedOptions } from './index.js';
import type { Logger, LogLevel } from './logger.js';

export interface EmbeddedThreadOptions extends Omit<EmbeddedOptions, 'logger'> {
  /** Receives the servers' log lines (forwarded from the thread). */
  logger?: Logger;
  /** Lowest level forwarded (default 'warn': the thread does not post what would be dropped). */
  logLevel?: LogLevel;
  /** Called once if the thread ends without close() having been called (a crash). */
  onExit?: (err: Error) => void;
}

export interface EmbeddedThread {
  /** The name server address for clients' namesrvAddr. */
  readonly namesrvAddr: string;
  /** The broker's "host:port" as published in routes. */
  readonly brokerAddr: string;
  /** Closes broker and name server (flushing the store), then ends the thread. */
  close(): Promise<void>;
}

/** Messages from the thread (thread-worker.ts). */
export type ThreadMessage =
  | { type: 'ready'; namesrvAddr: string; brokerAddr: string }
  | { type: 'error'; message: string }
  | { type: 'log'; level: LogLevel; message: string };

/** How long close() waits for the thread to end by itself before terminating it. */
const EXIT_GRACE_MS = 5000;

/** Starts startEmbedded(opts) on a new worker thread; resolves once both servers listen. */
export function startEmbeddedThread(opts: EmbeddedThreadOptions): Promise<EmbeddedThread> {
  const { logger, logLevel = 'warn', onExit, ...serverOpts } = opts;
  // Running from TypeScript source (tsx): the thread must register tsx itself before it can
  // import .ts, because loader hooks of this thread do not reach a new one on Node 20.
  const fromSource = import.meta.url.endsWith('.ts');
  const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), {
    workerData: {
      main: new URL(fromSource ? './thread-worker.ts' : './thread-worker.js', import.meta.url).href,
      tsx: fromSource ? import.meta.resolve('tsx/esm/api') : undefined,
      opts: serverOpts,
      logLevel,
    },
  });
  let closing = false;
  let closed: Promise<void> | undefined;
  const ended = new Promise<number>((resolve) => worker.once('exit', resolve));

  return new Promise((resolve, reject) => {
    let started = false;
    let failure: Error | undefined;
    worker.on('error', (e) => (failure ??= e));
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'log') logger?.(m.level, m.message);
      else if (m.type === 'error') failure ??= new Error(m.message);
      else if (m.type === 'ready') {
        started = true;
        resolve({
          namesrvAddr: m.namesrvAddr,
          brokerAddr: m.brokerAddr,
          close: () =>
            (closed ??= (async () => {
              closing = true;
              worker.postMessage('close');
              const timer = setTimeout(() => void worker.terminate(), EXIT_GRACE_MS);
              await ended;
              clearTimeout(timer);
            })()),
        });
      }
    });
    void ended.then((code) => {
      const err = failure ?? new Error(`the embedded broker thread exited with code ${code}`);
      if (!started) reject(err);
      else if (!closing) onExit?.(err);
    });
  });
}
