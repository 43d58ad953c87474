import * as esbuild from '../node_modules/esbuild/lib/main.js';
import { bundleOptions } from '/work/wt-core14/scripts/build.mjs';
const res = await esbuild.build({ ...bundleOptions, stdin: { contents: "export { Producer } from '@rocketmq-edge/core';\nexport { WebSocketTransport } from '@rocketmq-edge/transport-ws';", resolveDir: '/work/wt-core14/bench', loader: 'js' }, write: false, outfile: 'out.js', minify: process.argv[2] !== 'pretty', minifySyntax: true, minifyIdentifiers: true, minifyWhitespace: process.argv[2] !== 'pretty' });
process.stdout.write(res.outputFiles[0].text);
