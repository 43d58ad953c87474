// `npm start` / `pnpm start`: the gateway with its embedded name server + broker and the demo page.
import { spawn } from 'node:child_process';
import { ensureDependencies, root } from './ensure.mjs';

ensureDependencies();
const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/gateway/src/cli.ts', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
