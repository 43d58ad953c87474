// Shared by the e2e suite and the runtime tests of apps/worker and apps/deno: the gateway CLI as
// a child process (embedded broker, fresh data dir, loopback), free ports, Chromium, HS256 tokens.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** A port that was free a moment ago (the gateway needs a fixed one to restart on it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function tempDir(prefix = 'rmq-edge-e2e-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The CLI's ready line: {"event":"ready","url":…,"wsUrl":…,"token":…, …}. */
export interface ReadyLine {
  event: 'ready';
  url: string;
  wsUrl: string;
  token?: string;
  namesrvAddr?: string;
  [k: string]: unknown;
}

export interface GatewayOptions {
  port: number;
  dataDir: string;
  jwtSecret?: string;
  extraArgs?: string[];
  /** Milliseconds to wait for the ready line (default 30 s: tsx compiles on first start). */
  readyTimeoutMs?: number;
  /**
   * An installed `rocketmq-edge` executable (node_modules/.bin/rocketmq-edge of a project) to run
   * instead of the workspace's TypeScript CLI, in that project's folder with only PATH and HOME set.
   */
  bin?: { path: string; cwd: string };
}

/** `packages/gateway/src/cli.ts` run with `node --conditions=source --import tsx` (or an installed `rocketmq-edge`). */
export class GatewayProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly ready: ReadyLine,
    private readonly exited: Promise<number | null>,
    /** Recent stdout/stderr lines, for failure messages. */
    readonly output: string[],
  ) {}

  static async start(opts: GatewayOptions): Promise<GatewayProcess> {
    const flags = ['--host', '127.0.0.1', '--port', String(opts.port), '--data', opts.dataDir,
      ...(opts.jwtSecret ? ['--jwt-secret', opts.jwtSecret] : []), ...(opts.extraArgs ?? [])];
    const child = opts.bin
      ? spawn(opts.bin.path, flags, {
        cwd: opts.bin.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      })
      : spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'packages/gateway/src/cli.ts'), ...flags], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_ENV: 'development' },
      });
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('no ready line')), opts.readyTimeoutMs ?? 30_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`gateway did not start: ${err.message}\n${output.slice(-30).join('\n')}`));
      };
      createInterface({ input: child.stdout! }).on('line', (line) => {
        output.push(line);
        if (output.length > 2000) output.shift();
        if (!line.startsWith('{')) return;
        try {
          const msg = JSON.parse(line) as ReadyLine;
          if (msg.event === 'ready') { clearTimeout(timer); resolve(msg); }
        } catch { /* a log line */ }
      });
      createInterface({ input: child.stderr! }).on('line', (line) => {
        output.push(`[stderr] ${line}`);
        if (output.length > 2000) output.shift();
      });
      child.once('exit', (code, signal) => fail(new Error(`exited with ${code ?? signal}`)));
      child.once('error', fail);
    });
    return new GatewayProcess(child, ready, exited, output);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The code of the README's "Publishing from each runtime" section, run as written by the snippet
 * and packaging tests: `#### Title` → the first code block under it.
 */
export async function readmeSnippets(): Promise<Map<string, string>> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Publishing from each runtime');
  if (start < 0) throw new Error('README.md has no section "Publishing from each runtime"');
  const end = readme.indexOf('\n## ', start + 1);
  const md = readme.slice(start, end < 0 ? undefined : end);
  const out = new Map<string, string>();
  for (const m of md.matchAll(/^#### (.+)\n[\s\S]*?^```\w*\n([\s\S]*?)^```/gm)) out.set(m[1]!.trim(), m[2]!);
  return out;
}

/** The embedded name server's address, from the ready line. */
export function namesrvOf(ready: ReadyLine): string {
  const addr = ready.namesrvAddr ?? (ready as { namesrv?: string }).namesrv;
  if (typeof addr !== 'string') throw new Error(`the gateway's ready line names no name server: ${JSON.stringify(ready)}`);
  return addr;
}

/** An HS256 JWT signed with node:crypto (for expired / wrong-secret tokens). */
export function hs256(secret: string, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * The deno executable of the npm package `deno`. Spawned directly: the package's bin.cjs wrapper
 * runs it with spawnSync and does not forward SIGTERM, which would leave it running.
 */
export function denoExe(): string {
  const dir = join(ROOT, 'apps/deno/node_modules/deno');
  const exe = join(dir, process.platform === 'win32' ? 'deno.exe' : 'deno');
  if (!existsSync(exe)) execFileSync(process.execPath, [join(dir, 'bin.cjs'), '--version'], { stdio: 'pipe' });
  return exe;
}
