#!/usr/bin/env node
// The `rocketmq-edge` command. Runs the built CLI when there is one, else the TypeScript source
// through tsx with the "source" export condition (workspace checkout), in a child process.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (existsSync(built)) {
  const { main } = await import(pathToFileURL(built).href);
  await main().catch((e) => {
    // One line naming what to fix, no stack trace; usage mistakes exit 2, runtime failures 1.
    process.stderr.write(`rocketmq-edge: ${e.message}\n`);
    process.exit(e.name === 'UsageError' ? 2 : 1);
  });
} else {
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
