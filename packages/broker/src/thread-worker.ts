// Runs inside the embedded broker thread (see thread.ts): starts the servers, reports back, closes on request.
import { parentPort, workerData } from 'node:worker_threads';
import { startEmbedded, type EmbeddedOptions } from './index.js';
import type { LogLevel } from './logger.js';
import type { ThreadMessage } from './thread.js';

const port = parentPort!;
const post = (m: ThreadMessage) => port.postMessage(m);
const { opts, logLevel } = workerData as { opts: EmbeddedOptions; logLevel: LogLevel };
const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];
const min = LEVELS.indexOf(logLevel);

try {
  const emb = await startEmbedded({
    ...opts,
    logger: (level, message) => {
      if (LEVELS.indexOf(level) >= min) post({ type: 'log', level, message });
    },
  });
  post({ type: 'ready', namesrvAddr: emb.namesrvAddr, brokerAddr: emb.broker.addr });
  port.on('message', (m) => {
    if (m !== 'close') return;
    // Closing the port with the servers lets the thread end; the caller waits for that exit.
    void emb.close()
      .catch((e: Error) => post({ type: 'log', level: 'error', message: `closing the embedded broker failed: ${e.message}` }))
      .finally(() => port.close());
  });
} catch (e) {
  post({ type: 'error', message: (e as Error).message });
  port.close();
}
