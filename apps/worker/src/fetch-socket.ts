// A WebSocketFactory for Cloudflare Workers: opens the socket the documented Workers way,
// `fetch(url, { headers: { Upgrade: 'websocket' } })` + `response.webSocket.accept()`, and
// presents it through the W3C-shaped interface the transport expects — including the `open`
// event Workers never fires for an accepted socket.
import type { WebSocketFactory, WebSocketLike } from '../../../packages/transport-ws/src/browser.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (ev: any) => void;

/** The accepted socket of a Workers upgrade response (W3C WebSocket plus `accept()`). */
interface WorkersWebSocket extends WebSocketLike { accept(): void }

class FetchUpgradeSocket implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = 0; // CONNECTING
  protocol = '';
  private ws: WorkersWebSocket | undefined;
  private closeRequested: { code?: number; reason?: string } | undefined;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(url: string, protocols: string[]) {
    void this.open(url, protocols);
  }

  get bufferedAmount(): number { return this.ws?.bufferedAmount ?? 0; }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.ws || this.readyState !== 1) throw new Error('WebSocket is not open');
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    if (!this.ws) { this.closeRequested = { code, reason }; this.readyState = 2; return; }
    this.readyState = 2;
    this.ws.close(code, reason);
  }

  private emit(type: string, ev: unknown): void {
    for (const l of this.listeners.get(type) ?? []) l(ev);
  }

  private fail(reason: string): void {
    this.readyState = 3;
    this.emit('error', { message: reason });
    this.emit('close', { code: 1006, reason, wasClean: false });
  }

  private async open(url: string, protocols: string[]): Promise<void> {
    let res: Response;
    try {
      res = await fetch(url.replace(/^ws(s?):/i, 'http$1:'), {
        headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': protocols.join(', ') },
      });
    } catch (e) {
      this.fail(`WebSocket upgrade failed: ${(e as Error)?.message ?? e}`);
      return;
    }
    const ws = (res as Response & { webSocket?: WorkersWebSocket | null }).webSocket;
    if (res.status !== 101 || !ws) {
      this.fail(`WebSocket upgrade refused: HTTP ${res.status}`);
      return;
    }
    ws.accept();
    ws.binaryType = this.binaryType;
    this.ws = ws;
    this.protocol = res.headers.get('sec-websocket-protocol') ?? '';
    ws.addEventListener('message', (ev) => this.emit('message', ev));
    ws.addEventListener('error', (ev) => this.emit('error', ev));
    ws.addEventListener('close', (ev) => { this.readyState = 3; this.emit('close', ev); });
    if (this.closeRequested) {
      ws.close(this.closeRequested.code, this.closeRequested.reason);
      this.readyState = 3;
      this.emit('close', { code: this.closeRequested.code ?? 1000, reason: this.closeRequested.reason ?? '', wasClean: true });
      return;
    }
    this.readyState = 1;
    this.emit('open', {});
  }
}

/** `new WebSocketTransport({ url, token, webSocketFactory: fetchUpgradeWebSocket })` in a Worker. */
export const fetchUpgradeWebSocket: WebSocketFactory = (url, protocols) => new FetchUpgradeSocket(url, protocols);
