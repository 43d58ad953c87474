// runCase + report with CPU µs per message by role (bench/README.md, "cpu_us_per_msg"), shared by
// bench:ws and bench:tcp.
import { busyThreads, cpuPerOp, cpuSample, type CpuPlan } from './proc-stats.js';
import { report, runCase } from './runner.js';

/** Runs the case, prints its JSON line with `extra` and "cpu_us_per_msg", and returns that CPU record. */
export async function measured(opts: Parameters<typeof runCase>[0], plan: CpuPlan | undefined, extra: Record<string, unknown>): Promise<Record<string, number>> {
  const a = cpuSample(plan);
  const r = await runCase(opts);
  const b = cpuSample(plan);
  const done = Math.max(1, Math.min(opts.msgs, r.details.completed) + (opts.warmup ?? 0));
  const cpu = cpuPerOp(plan, a, b, done);
  report(r, { ...extra, cpu_us_per_msg: cpu });
  const busy = busyThreads(a, b, done);
  process.stderr.write(`  ${opts.name}: cpu µs/msg ${JSON.stringify(cpu)}${busy ? ` (server threads: ${busy})` : ''}\n`);
  return cpu;
}
