// Helpers for this package's tests (not exported).
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { FrameDecoder, decodeCommand, encodeFrame, type RemotingCommand } from '@rocketmq-edge/core/internal';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh directory under os.tmpdir(), removed after the test and again when the process exits:
 * Node 20 runs after-hooks in registration order, so a broker registered later may still write
 * its state files into the directory after the first removal.
 */
export async function tempDir(t: TestContext | { after(fn: () => unknown): void }, prefix = 'rmq-edge-broker-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  // Retries: a broker closing in a later hook may still be writing a state file into it.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

/** A raw connection: write frames, collect every decoded frame, notice the close. */
export class RawConn {
  readonly frames: RemotingCommand[] = [];
  private readonly decoder = new FrameDecoder();
  private waiters: (() => void)[] = [];
  closed = false;
  private opaque = 1000;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      for (const f of this.decoder.push(d)) this.frames.push(decodeCommand(f));
      this.kick();
    });
    socket.on('close', () => {
      this.closed = true;
      this.kick();
    });
    socket.on('error', () => {});
  }

  static async connect(addr: string): Promise<RawConn> {
    const i = addr.lastIndexOf(':');
    const s = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    return new RawConn(s);
  }

  private kick() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(cmd: RemotingCommand): number {
    const opaque = ++this.opaque;
    this.socket.write(encodeFrame({ ...cmd, opaque }));
    return opaque;
  }

  async call(cmd: RemotingCommand, timeoutMs = 5000): Promise<RemotingCommand> {
    const opaque = this.send(cmd);
    return this.waitFor((c) => c.opaque === opaque && (c.flag & 1) === 1, timeoutMs);
  }

  async waitFor(pred: (c: RemotingCommand) => boolean, timeoutMs = 5000): Promise<RemotingCommand> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await sleep(10);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
