// Packing and publishing the workspace's packages (every packages/* not marked private).
//
//   node scripts/pack.mjs [--out DIR]          build (JavaScript + .d.ts), then one tarball per package
//                                              in DIR (default dist/packages/); prints their paths
//   node scripts/pack.mjs --publish [flags…]   build, then `pnpm -r publish --access public [flags…]`
//                                              (e.g. --dry-run, --tag next, --no-git-checks)
//
// pnpm packs, not npm: it rewrites the `workspace:*` ranges between the packages to the versions
// being packed, which `npm pack` leaves in place (such a tarball does not install).
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';
import { PNPM, root } from './ensure.mjs';

function pnpm(args, stdio) {
  const r = spawnSync('npx', ['-y', PNPM, ...args], { cwd: root, stdio, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`pnpm ${args.join(' ')} failed (${r.status ?? r.signal})${r.stdout ? `\n${r.stdout}${r.stderr}` : ''}`);
  return r.stdout;
}

/**
 * Builds, then packs every published package into `out`.
 * Resolves with pnpm's account of each: `{ name, version, filename, files: [{ path }] }`.
 */
export async function pack({ out = join(root, 'dist/packages') } = {}) {
  await build({ declarations: true });
  await mkdir(out, { recursive: true });
  return JSON.parse(pnpm(['-r', 'pack', '--json', '--pack-destination', out], 'pipe'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  try {
    if (args[0] === '--publish') {
      await build({ declarations: true });
      pnpm(['-r', 'publish', '--access', 'public', ...args.slice(1)], 'inherit');
    } else {
      const at = args.indexOf('--out');
      if (at >= 0 && !args[at + 1]) throw new Error('--out needs a directory');
      for (const p of await pack(at >= 0 ? { out: resolve(args[at + 1]) } : {})) console.log(p.filename);
    }
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
