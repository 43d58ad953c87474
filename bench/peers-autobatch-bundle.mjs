// Writes the browser library file with automatic batching added, for the peers contender's
// --auto-batch 1: dist/browser/rocketmq-edge.js's entry (the same esbuild options) plus `autoBatch`,
// which that file leaves out so that the apps importing it do not ship it.
//   node bench/peers-autobatch-bundle.mjs OUTFILE
import * as esbuild from 'esbuild';
import { BUNDLE_ENTRY, bundleOptions } from '../scripts/build.mjs';

const [outfile] = process.argv.slice(2);
if (!outfile) throw new Error('usage: node bench/peers-autobatch-bundle.mjs OUTFILE');
await esbuild.build({
  ...bundleOptions,
  stdin: {
    contents: `export * from ${JSON.stringify(BUNDLE_ENTRY)};\nexport { autoBatch } from '@rocketmq-edge/core';`,
    resolveDir: new URL('.', import.meta.url).pathname,
    loader: 'js',
  },
  outfile,
});
