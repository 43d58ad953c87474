// The part of the W3C WebSocket API the transport uses (what a webSocketFactory must return).

export interface WebSocketMessageEventLike { data: unknown }
export interface WebSocketCloseEventLike { code: number; reason: string; wasClean?: boolean }

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  readonly bufferedAmount: number;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: (ev: unknown) => void): void;
  addEventListener(type: 'message', listener: (ev: WebSocketMessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (ev: WebSocketCloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (ev: unknown) => void): void;
}

export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

/** Connection state, emitted as transport.on('state', s => …). */
export type ConnectionState =
  | { type: 'connecting'; attempt: number }
  | { type: 'connected'; attempt: number }
  | { type: 'reconnecting'; attempt: number; delayMs: number; reason?: string }
  | { type: 'refused'; reason: string; code?: number }
  | { type: 'closed'; reason?: string };

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** 0..1: each delay is drawn from [d * (1 - jitter), d]. */
  jitter?: number;
  maxAttempts?: number;
}
