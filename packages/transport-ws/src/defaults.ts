// Option defaults of WebSocketTransport. In a module of their own (no CommonJS import) with the
// numbers first: esbuild then inlines them where they are used.
import type { ReconnectOptions } from './types.js';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
export const DEFAULT_MAX_QUEUED_FRAMES = 1000;
export const DEFAULT_MAX_QUEUED_BYTES = 8_388_608; // 8 MiB
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_INITIAL_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 10_000;
export const DEFAULT_FACTOR = 2;
export const DEFAULT_JITTER = 0.5;
export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: DEFAULT_INITIAL_DELAY_MS,
  maxDelayMs: DEFAULT_MAX_DELAY_MS,
  factor: DEFAULT_FACTOR,
  jitter: DEFAULT_JITTER,
  maxAttempts: Infinity,
};
