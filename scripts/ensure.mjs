// Makes a fresh clone runnable: installs workspace dependencies with the pinned pnpm when missing,
// and (for tests) checks that Debian's Chromium is there for the browser suite.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;
export const PNPM = 'pnpm@10.34.9';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(`failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status ?? 1);
  }
}

export function ensureDependencies() {
  if (existsSync(join(root, 'node_modules', '.modules.yaml')) && existsSync(join(root, 'node_modules', '.bin', 'tsx'))) return;
  console.error(`installing dependencies with ${PNPM} …`);
  run('npx', ['-y', PNPM, 'install', '--frozen-lockfile']);
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    console.error('installing Debian chromium for the browser tests …');
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update']);
    run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', 'chromium']);
    return;
  }
  console.error(`Chromium not found at ${CHROMIUM}: install it (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH`);
  process.exit(1);
}
