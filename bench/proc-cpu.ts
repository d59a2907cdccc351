/**
 * CPU of single processes by pid (Linux /proc), for benchmarks whose processes share a process group
 * (bench/cpu.ts accounts by group): the web console and its broker child, each load client.
 */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux

/** utime+stime of one process in ticks; NaN once it is gone. */
export function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** Starts a meter over several pids; the returned function gives cores used per pid since the start. */
export function startProcessCpu(pids: Record<string, number>): () => Record<string, number> {
  const t0 = performance.now();
  const first = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processTicks(pid)]));
  // a process that exits before the end keeps its last reading
  const last = { ...first };
  const sample = () => {
    for (const [k, pid] of Object.entries(pids)) {
      const t = processTicks(pid);
      if (Number.isFinite(t)) last[k] = t;
    }
  };
  const timer = setInterval(sample, 500);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    const seconds = (performance.now() - t0) / 1000;
    return Object.fromEntries(Object.keys(pids).map((k) => [k, Math.round(((last[k]! - first[k]!) / CLK_TCK / seconds) * 100) / 100]));
  };
}
