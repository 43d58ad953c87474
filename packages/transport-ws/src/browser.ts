// Entry of the browser ESM bundle (scripts/build.mjs): core + the WebSocket transport.
export * from '@rocketmq-edge/core';
export * from './index.js';
