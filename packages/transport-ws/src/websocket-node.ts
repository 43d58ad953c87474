// Node (20 has no global WebSocket): the `ws` package through isomorphic-ws. Only reached through
// the "node" condition of the "#websocket" import, so browser bundles never include it.
import WebSocket from 'isomorphic-ws';
import { writeBatcher, type Corkable } from '@rocketmq-edge/core/internal';
import type { WebSocketCtor } from './types.js';

function NodeWebSocket(url: string, protocols?: string | string[]): WebSocket {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  // Binary messages stay Buffers (views into the socket's read buffer; the transport takes any
  // ArrayBufferView): binaryType 'arraybuffer' would copy every message into an ArrayBuffer of its own.
  Object.defineProperty(ws, 'binaryType', { get: () => 'nodebuffer', set: () => {}, configurable: true });
  // Frames sent in one tick leave in few writes (see writeBatcher; browsers batch on their own).
  const send = ws.send.bind(ws) as (data: unknown) => void;
  let beforeWrite: (() => void) | undefined;
  (ws as { send: (data: unknown) => void }).send = (data: unknown) => {
    const sock = (ws as unknown as { _socket?: Corkable })._socket;
    if (sock) (beforeWrite ??= writeBatcher(sock, process.nextTick))();
    send(data);
  };
  return ws;
}

export const fallbackWebSocket: WebSocketCtor | undefined = NodeWebSocket as unknown as WebSocketCtor;
