// Browsers, Deno, Workers: the global WebSocket is used, no fallback is bundled.
import type { WebSocketCtor } from './types.js';

export const fallbackWebSocket: WebSocketCtor | undefined = undefined;
