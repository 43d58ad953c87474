// The @playwright/test fixture under the repo's node:test run: its specs run in Playwright's own
// runner (real Chromium, embedded gateway + broker per worker) and must all pass, none skipped;
// the deliberately failing specs must fail, each saying what was received instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = createRequire(import.meta.url).resolve('@playwright/test/cli');
const CONFIG = fileURLToPath(new URL('../test/playwright.config.ts', import.meta.url));

interface PwResult { status: string; error?: { message?: string } }
interface PwSpec { title: string; tests: { results: PwResult[] }[] }
interface PwSuite { specs?: PwSpec[]; suites?: PwSuite[] }
interface PwReport { stats: { expected: number; unexpected: number; skipped: number; flaky: number }; suites: PwSuite[]; errors: unknown[] }

/** Runs `npx playwright test` on one folder of specs with the JSON reporter; the report and each spec's outcome. */
async function playwright(specs: string): Promise<{ code: number | null; report: PwReport; specs: Map<string, PwResult> }> {
  const child = spawn(process.execPath, [CLI, 'test', '-c', CONFIG, '--reporter=json'], {
    cwd: ROOT,
    // Workspace packages resolve to their TypeScript sources, as under node:test.
    env: { ...process.env, NODE_OPTIONS: '--conditions=source', FORCE_COLOR: '0', RMQ_PW_SPECS: specs, NODE_TEST_CONTEXT: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  let report: PwReport;
  try {
    report = JSON.parse(out) as PwReport;
  } catch {
    throw new Error(`playwright printed no JSON report (exit ${code}):\n${out.slice(0, 2000)}\n${err.slice(0, 2000)}`);
  }
  const outcomes = new Map<string, PwResult>();
  const walk = (s: PwSuite) => {
    for (const spec of s.specs ?? []) outcomes.set(spec.title, spec.tests[0]!.results.at(-1)!);
    for (const sub of s.suites ?? []) walk(sub);
  };
  report.suites.forEach(walk);
  return { code, report, specs: outcomes };
}

test('the fixture\'s specs pass in Playwright\'s runner with Chromium: a page publishes, toHaveReceived sees it, tests are isolated', { timeout: 180_000 }, async () => {
  const { code, report, specs } = await playwright('./specs');
  const failures = [...specs].filter(([, r]) => r.status !== 'passed').map(([t, r]) => `${t}: ${r.status} ${r.error?.message ?? ''}`);
  assert.deepEqual(failures, []);
  assert.equal(code, 0);
  assert.deepEqual(report.stats, { ...report.stats, expected: 3, unexpected: 0, skipped: 0, flaky: 0 });
});

test('a failing expectation says what the topic received instead: tags, keys, body', { timeout: 180_000 }, async () => {
  const { code, report, specs } = await playwright('./failing');
  assert.equal(code, 1);
  assert.deepEqual(report.stats, { ...report.stats, expected: 0, unexpected: 2, skipped: 0 });
  const never = specs.get('expects an order that was never placed')?.error?.message ?? '';
  assert.match(never, /expected topic "orders-\w+" to have received a message with \{ tags: "created", json: \{"id":43\} \} within 2000 ms; received 1 message:\n {2}1\. tags=created keys=order-42 body=\{"id":42,"total":9\.5\}/);
  const twice = specs.get('expects two orders where one was placed')?.error?.message ?? '';
  assert.match(twice, /to have received any message 2 times, got 1 within 2000 ms; received 1 message:\n {2}1\. tags=created keys=order-42/);
});
