/**
 * CPU accounting around a run (Linux /proc): cores used by this client process, by the broker's
 * process group (when the harness started it), and by everything else on the machine — the
 * last one flags noisy neighbours on a shared machine.
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux

function systemBusyTicks(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return f.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
  } catch {
    return NaN;
  }
}

/** utime+stime (ticks) of every process whose process group is pgid. */
function groupTicks(pgid: number): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
      if (Number(f[2]) === pgid) sum += Number(f[11]) + Number(f[12]);
    } catch {
      /* process went away */
    }
  }
  return sum;
}

export interface CpuSample {
  clientCores: number;
  brokerCores: number;
  otherCores: number;
}

export function startCpu(brokerPgid?: number): () => CpuSample {
  const t0 = performance.now();
  const own0 = process.cpuUsage();
  const sys0 = systemBusyTicks();
  const broker0 = brokerPgid ? groupTicks(brokerPgid) : NaN;
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const clientCores = (own.user + own.system) / 1e6 / seconds;
    const busy = (systemBusyTicks() - sys0) / CLK_TCK / seconds;
    const brokerCores = brokerPgid ? (groupTicks(brokerPgid) - broker0) / CLK_TCK / seconds : NaN;
    const otherCores = busy - clientCores - (Number.isFinite(brokerCores) ? brokerCores : 0);
    const r = (x: number) => Math.round(x * 100) / 100;
    return { clientCores: r(clientCores), brokerCores: r(brokerCores), otherCores: r(Math.max(0, otherCores)) };
  };
}

/** Process group of pid (from /proc/PID/stat), or undefined. */
export function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) || undefined;
  } catch {
    return undefined;
  }
}
