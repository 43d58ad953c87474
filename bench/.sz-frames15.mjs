import * as esbuild from 'esbuild';
import { bundleOptions } from '../scripts/build.mjs';
const r = await esbuild.build({ ...bundleOptions, stdin:{contents:"export { Producer } from '@rocketmq-edge/core';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';",resolveDir:new URL('.', import.meta.url).pathname,loader:'js'}, write:false});
process.stdout.write(r.outputFiles[0].text);
