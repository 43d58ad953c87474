// The measuring loop shared by every benchmark: keep `window` operations in flight until `msgs`
// operations have completed (or `maxMs` passed), time each one, print one JSON line per case:
//   {"case":"tcp-async-flush-w1","msgs_per_s":12345.6,"p50_ms":0.081,"p99_ms":0.312}
import { percentile, round, sortedCopy } from './stats.js';

export interface CaseOptions {
  /** Printed as "case". */
  name: string;
  /** One operation (e.g. one acknowledged send). `i` counts from 0 across warm-up and measurement. */
  op: (i: number) => Promise<unknown>;
  /** Operations measured. */
  msgs: number;
  /** Operations in flight at once (1 = strictly sequential). */
  window: number;
  /** Operations run before measuring, with the same window (not timed). */
  warmup?: number;
  /** Stop measuring after this long even if `msgs` are not done (default 30 s). */
  maxMs?: number;
}

export interface CaseResult {
  case: string;
  msgs_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

/** Details that do not go into the JSON line (reported on stderr). */
export interface CaseDetails {
  completed: number;
  errors: number;
  firstError?: unknown;
  elapsedMs: number;
  stoppedByTime: boolean;
  p90_ms: number;
  p999_ms: number;
  max_ms: number;
}

const now = (): number => performance.now();

/** Runs `count` operations with at most `window` in flight; records each latency in `latencies` if given. */
async function pump(
  op: (i: number) => Promise<unknown>,
  startIndex: number,
  count: number,
  window: number,
  deadline: number,
  latencies: Float64Array | undefined,
): Promise<{ completed: number; errors: number; firstError?: unknown }> {
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (issued < count && now() < deadline) {
      const i = issued++;
      const t0 = now();
      try {
        await op(startIndex + i);
        if (latencies) latencies[completed] = now() - t0;
        completed++;
      } catch (e) {
        errors++;
        firstError ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, window) }, worker));
  return { completed, errors, firstError };
}

/** Runs one benchmark case; returns the JSON-line result and the details. */
export async function runCase(opts: CaseOptions): Promise<{ result: CaseResult; details: CaseDetails }> {
  const maxMs = opts.maxMs ?? 30_000;
  if (opts.warmup) await pump(opts.op, 0, opts.warmup, opts.window, now() + maxMs, undefined);
  const latencies = new Float64Array(opts.msgs);
  const t0 = now();
  const deadline = t0 + maxMs;
  const r = await pump(opts.op, opts.warmup ?? 0, opts.msgs, opts.window, deadline, latencies);
  const elapsedMs = now() - t0;
  const sorted = sortedCopy(latencies.subarray(0, r.completed));
  const result: CaseResult = {
    case: opts.name,
    msgs_per_s: round((r.completed / elapsedMs) * 1000, 1),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
  };
  const details: CaseDetails = {
    completed: r.completed,
    errors: r.errors,
    firstError: r.firstError,
    elapsedMs: round(elapsedMs, 1),
    stoppedByTime: r.completed + r.errors < opts.msgs,
    p90_ms: round(percentile(sorted, 90)),
    p999_ms: round(percentile(sorted, 99.9)),
    max_ms: round(percentile(sorted, 100)),
  };
  return { result, details };
}

/** Prints the result (and `extra` fields after it) as one JSON line on stdout, and the details on stderr. */
export function report({ result, details }: { result: CaseResult; details: CaseDetails }, extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ ...result, ...extra }) + '\n');
  const { firstError, ...rest } = details;
  process.stderr.write(`  ${result.case}: ${JSON.stringify(rest)}${firstError ? ` first error: ${String(firstError)}` : ''}\n`);
}

/** Random bodies of `size` bytes (distinct per call, so nothing compresses or dedupes). */
export function randomBody(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)));
  return out;
}
