// Node (20 has no global WebSocket): the `ws` package through isomorphic-ws. Only reached through
// the "node" condition of the "#websocket" import, so browser bundles never include it.
import WebSocket from 'isomorphic-ws';
import type { WebSocketCtor, WebSocketLike } from './types.js';

class NodeWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { perMessageDeflate: false });
  }
}

export const fallbackWebSocket: WebSocketCtor | undefined = NodeWebSocket as unknown as new (url: string, protocols?: string | string[]) => WebSocketLike;
