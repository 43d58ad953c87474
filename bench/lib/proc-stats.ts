// What a benchmark reads about its server processes from /proc (Linux): CPU time per process and
// per thread, resident memory, and CPU per message split by role (client, relay, broker).
// Elsewhere the readers return undefined or empty maps, and the split has the client only.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system) of a process or one of its threads, in µs; undefined when unreadable. */
export function cpuUs(pid: number, tid?: number): number | undefined {
  try {
    const f = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return undefined;
  }
}

/** CPU µs of each thread of a process, by thread id (empty when unreadable or without a process). */
export function threadCpu(pid: number | undefined): Map<number, { name: string; us: number }> {
  const out = new Map<number, { name: string; us: number }>();
  if (pid === undefined) return out;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const us = cpuUs(pid, Number(t));
      if (us !== undefined) out.set(Number(t), { name: readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(), us });
    }
  } catch { /* not Linux, or the process is gone */ }
  return out;
}

/** One field of /proc/<pid>/status in kB (VmRSS, RssAnon, RssFile, …); undefined once the process is gone. */
export function statusKb(pid: number, field = 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Open file descriptors of a process (sockets included); undefined when unreadable. */
export function fdCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

export const mb = (kb: number | undefined): number | null => (kb === undefined ? null : Math.round(kb / 102.4) / 10);

/**
 * Threads of `pid`, other than its main thread, that sleep in epoll right now: Node event loops
 * (worker threads, and Node's own delayed-task scheduler, which stays near 0 CPU). Call it while
 * the process is idle: a running thread shows no wait channel. Empty when /proc does not say.
 */
export function eventLoopThreads(pid: number): Set<number> {
  const out = new Set<number>();
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      if (Number(t) === pid) continue;
      if (/epoll/.test(readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8'))) out.add(Number(t));
    }
  } catch { /* not Linux */ }
  return out;
}

/**
 * Which CPU a case charges to which role. `pid` is the server process whose threads are split:
 * its main thread goes under `main`, its embedded broker's worker thread (the busiest of
 * `brokerThread.loops`, or of all non-main threads when that set is empty) under
 * `brokerThread.key`; `whole` processes count entirely under their keys; whatever else the server
 * processes spent (GC helpers, libuv's pool, an idle main thread) is "other".
 */
export interface CpuPlan {
  pid: number;
  main?: string;
  brokerThread?: { key: string; loops: Set<number> };
  whole?: { pid: number; key: string }[];
}

export interface CpuSample {
  client: NodeJS.CpuUsage;
  threads: Map<number, { name: string; us: number }>;
  whole: (number | undefined)[];
}

export function cpuSample(plan: CpuPlan | undefined): CpuSample {
  return {
    client: process.cpuUsage(),
    threads: threadCpu(plan?.pid),
    whole: (plan?.whole ?? []).map((w) => cpuUs(w.pid)),
  };
}

const perOp = (us: number, ops: number) => Math.round((us / ops) * 10) / 10;

/**
 * CPU µs per operation between two samples: {"client":…, <role>:…, …, "other":…}, keys in that
 * order, each rounded to 0.1 µs. `client` is this process. Roles whose CPU could not be read are left out.
 */
export function cpuPerOp(plan: CpuPlan | undefined, a: CpuSample, b: CpuSample, ops: number): Record<string, number> {
  const c = process.cpuUsage(a.client);
  const out: Record<string, number> = { client: perOp(c.user + c.system, ops) };
  if (!plan || b.threads.size === 0) return out;
  const used = new Map<number, number>();
  for (const [tid, t] of b.threads) used.set(tid, t.us - (a.threads.get(tid)?.us ?? 0));
  let other = [...used.values()].reduce((s, x) => s + x, 0);
  const take = (key: string, tid: number | undefined) => {
    if (tid === undefined || !used.has(tid)) return;
    const us = used.get(tid)!;
    out[key] = perOp(us, ops);
    other -= us;
  };
  if (plan.main) take(plan.main, plan.pid);
  if (plan.brokerThread) {
    const { key, loops } = plan.brokerThread;
    let busiest: number | undefined;
    for (const [tid, us] of used) {
      if (tid !== plan.pid && (loops.size === 0 || loops.has(tid)) && (busiest === undefined || us > used.get(busiest)!)) busiest = tid;
    }
    take(key, busiest);
  }
  (plan.whole ?? []).forEach((w, i) => {
    const x = a.whole[i];
    const y = b.whole[i];
    if (x !== undefined && y !== undefined) out[w.key] = perOp(y - x, ops);
  });
  out.other = perOp(Math.max(0, other), ops);
  return out;
}

/** "name µs, …" for the threads of the server process that spent ≥ 1 µs per operation, busiest first (stderr). */
export function busyThreads(a: CpuSample, b: CpuSample, ops: number): string {
  return [...b.threads].map(([tid, t]) => ({ tid, name: t.name, perOp: (t.us - (a.threads.get(tid)?.us ?? 0)) / ops }))
    .filter((t) => t.perOp >= 1).sort((x, y) => y.perOp - x.perOp).map((t) => `${t.name}/${t.tid} ${t.perOp.toFixed(1)}`).join(', ');
}

/** Bytes a process read and wrote through read/write syscalls so far (sockets included; /proc/<pid>/io); undefined when unreadable. */
export function ioBytes(pid: number): { read: number; written: number } | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { read: Number(/^rchar: (\d+)/m.exec(t)?.[1]), written: Number(/^wchar: (\d+)/m.exec(t)?.[1]) };
  } catch {
    return undefined;
  }
}
