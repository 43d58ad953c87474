// A helper process for benchmarks: `node <args>` from the repo root, ready once a stdout line
// matches. It is killed if this process exits first, and stopped if it never gets ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A package's built file (packages/<pkg>/dist/<file>), what users run: benchmarks measure the
 * build, not tsx's development transform. The `bench:*` scripts build first.
 */
export function builtFile(pkg: string, file: string): string {
  const path = join(REPO_ROOT, 'packages', pkg, 'dist', file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`);
  return path;
}

export interface Proc {
  child: ChildProcess;
  /** The first stdout line that matched `ready`. */
  line: string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

export async function startProcess(args: string[], ready: RegExp, what: string, timeoutMs = 60_000): Promise<Proc> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} not ready after ${timeoutMs / 1000} s:\n${out}\n${err}`)), timeoutMs);
      child.stdout!.on('data', (d) => {
        out += d;
        const l = out.split('\n').find((x) => ready.test(x));
        if (l !== undefined) { clearTimeout(timer); resolve(l); }
      });
      void exited.then(() => { clearTimeout(timer); reject(new Error(`${what} exited:\n${out}\n${err}`)); });
    });
    return { child, line, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
