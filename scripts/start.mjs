// `npm start` / `pnpm start`: the gateway with its embedded name server + broker and the demo page.
// Builds first (packages/*/dist, the demo page; well under a second), then runs the `rocketmq-edge`
// command on the build, as an installed package would.
import { spawn } from 'node:child_process';
import { ensureDependencies, root } from './ensure.mjs';

ensureDependencies();
const { build } = await import('./build.mjs');
await build();
const child = spawn(process.execPath, ['packages/gateway/bin/rocketmq-edge.mjs', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
