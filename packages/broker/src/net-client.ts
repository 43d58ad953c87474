// A minimal remoting client over node:net for the broker's own outbound calls (registration with
// name servers) and for the testing helpers. Applications use core's RemotingClient instead.
import net from 'node:net';
import {
  FLAG_ONEWAY,
  FrameDecoder,
  decodeCommand,
  encodeFrame,
  isResponse,
  type RemotingCommand,
} from '@rocketmq-edge/core/internal';

export class NetClient {
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private readonly pending = new Map<number, { resolve: (c: RemotingCommand) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private opaque = 0;
  private closed = false;
  /** Server-initiated requests (e.g. NOTIFY_CONSUMER_IDS_CHANGED). */
  onRequest: ((cmd: RemotingCommand) => void) | undefined;

  constructor(readonly addr: string, private readonly connectTimeoutMs = 3000) {}

  private connect(): Promise<net.Socket> {
    if (this.closed) return Promise.reject(new Error(`client for ${this.addr} is closed`));
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    const i = this.addr.lastIndexOf(':');
    const host = this.addr.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(this.addr.slice(i + 1));
    this.connecting = new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      s.setNoDelay(true);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${this.addr} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const decoder = new FrameDecoder();
      s.once('connect', () => {
        clearTimeout(timer);
        this.socket = s;
        resolve(s);
      });
      s.on('data', (chunk) => {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch {
          s.destroy();
          return;
        }
        for (const f of frames) {
          let cmd: RemotingCommand;
          try {
            cmd = decodeCommand(f);
          } catch {
            s.destroy();
            return;
          }
          if (isResponse(cmd)) {
            const p = this.pending.get(cmd.opaque);
            if (p) {
              this.pending.delete(cmd.opaque);
              clearTimeout(p.timer);
              p.resolve(cmd);
            }
          } else this.onRequest?.(cmd);
        }
      });
      const fail = (e?: Error) => {
        clearTimeout(timer);
        if (this.socket === s) this.socket = undefined;
        reject(e ?? new Error(`connection to ${this.addr} closed`));
        for (const [o, p] of this.pending) {
          this.pending.delete(o);
          clearTimeout(p.timer);
          p.reject(new Error(`connection to ${this.addr} closed`));
        }
      };
      s.on('error', (e) => fail(e));
      s.on('close', () => fail());
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async invoke(cmd: RemotingCommand, timeoutMs = 3000): Promise<RemotingCommand> {
    const s = await this.connect();
    const opaque = (this.opaque = (this.opaque + 1) & 0x7fffffff);
    return new Promise<RemotingCommand>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(opaque);
        reject(new Error(`no response from ${this.addr} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(opaque, { resolve, reject, timer });
      s.write(encodeFrame({ ...cmd, opaque }));
    });
  }

  async invokeOneway(cmd: RemotingCommand): Promise<void> {
    const s = await this.connect();
    const opaque = (this.opaque = (this.opaque + 1) & 0x7fffffff);
    s.write(encodeFrame({ ...cmd, opaque, flag: cmd.flag | FLAG_ONEWAY }));
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }
}
