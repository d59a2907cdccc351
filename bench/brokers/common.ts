/**
 * Process plumbing for brokers the harness starts itself: free ports, temp dirs, readiness
 * checks, and a registry so everything started is stopped on normal exit, error and Ctrl-C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, closeQuietly, sleep } from '../loads/common';

export interface BrokerHandle {
  name: string;
  url: string;
  /** process group of the broker's processes, for CPU accounting (brokers started here) */
  pgid?: number;
  stop(): Promise<void>;
  /**
   * Stops the broker (gracefully) and starts it again on the same port and data; resolves once it accepts AMQP
   * connections, with when the new process was spawned and when it first accepted (performance.now()).
   */
  restart?(): Promise<{ spawnedAt: number; acceptedAt: number }>;
}

const running = new Set<BrokerHandle>();
const children = new Set<ChildProcess>();

/** Stop every broker still registered (idempotent). */
export async function stopAll(): Promise<void> {
  for (const b of [...running]) {
    try {
      await b.stop();
    } catch (err) {
      process.stderr.write(`failed to stop ${b.name}: ${String(err)}\n`);
    }
  }
}

export function track(b: BrokerHandle): BrokerHandle {
  running.add(b);
  const stop = b.stop.bind(b);
  b.stop = async () => {
    running.delete(b);
    await stop();
  };
  return b;
}

/** Last resort on process exit: SIGKILL the process groups we spawned that are still alive. */
process.on('exit', () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
});

export function spawnGroup(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  // detached: the child leads its own process group, so wrappers (tsx, su) die with it
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...opts });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM the child's process group, then SIGKILL after graceMs. */
export async function killGroup(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!child.pid || exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const t = setTimeout(() => signal('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A temp dir (world-traversable so brokers running as another user can reach subdirs). */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `warren-bench-${prefix}-`));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Keep the last lines of a child's output for error messages. */
export function tail(child: ChildProcess, lines = 30): () => string {
  const buf: string[] = [];
  const add = (d: Buffer) => {
    buf.push(...d.toString().split('\n'));
    if (buf.length > lines) buf.splice(0, buf.length - lines);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => buf.join('\n');
}

/** Poll until an AMQP connection succeeds (or the child dies / time runs out). */
export async function waitForAmqp(url: string, child: ChildProcess, timeoutMs: number, log: () => string, pollMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`broker exited (code ${child.exitCode}) before accepting AMQP connections\n${log()}`);
    try {
      const c = await connect(url, 2_000);
      await closeQuietly(c);
      return;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    await sleep(pollMs);
  }
  throw new Error(`broker not ready after ${timeoutMs} ms (${lastErr})\n${log()}`);
}
