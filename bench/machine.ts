import { readFileSync } from 'node:fs';
import { cpus, totalmem, loadavg, release } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  kernel: string;
  loadavg: number[];
}

export function machineInfo(): MachineInfo {
  let cpu = cpus()[0]?.model ?? '?';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    cpu,
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: release(),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
