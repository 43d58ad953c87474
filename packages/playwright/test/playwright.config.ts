// This package's own specs: Debian's Chromium through executablePath (the repo's e2e settings),
// an embedded gateway + broker per worker (no rmq* options given).
import { defineConfig } from '@playwright/test';
import { CHROMIUM, CHROMIUM_ARGS } from '../../../e2e/support.js';

export default defineConfig({
  testDir: process.env.RMQ_PW_SPECS ?? './specs',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  outputDir: process.env.RMQ_PW_OUTPUT ?? '/tmp/rmq-edge-playwright-results',
  use: { launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } },
});
