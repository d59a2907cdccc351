/**
 * Resident memory of a broker's process group (Linux /proc), sampled while a load runs: the peak is what the
 * backlog load reports, so a broker that holds a long queue's bodies in memory shows it.
 */
import { readFileSync, readdirSync } from 'node:fs';

const PAGE_KIB = 4;

/** Sum of the resident set sizes (bytes) of every process whose process group is pgid. */
export function groupRssBytes(pgid: number): number {
  let pages = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // after "pid (comm) ": state(0) ppid pgrp ... rss is field 24 of stat, index 21 here
      if (Number(f[2]) === pgid) pages += Number(f[21]);
    } catch {
      /* process went away */
    }
  }
  return pages * PAGE_KIB * 1024;
}

/** Samples the group's RSS every intervalMs until stopped; returns the peak in bytes. */
export function startRssSampler(pgid: () => number | undefined, intervalMs = 200): () => number {
  let peak = 0;
  const sample = () => {
    const g = pgid();
    if (g) peak = Math.max(peak, groupRssBytes(g));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}
