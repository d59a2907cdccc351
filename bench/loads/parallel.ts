import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Load, LoadContext, LoadOutcome } from './common';
import { sleep } from './common';

const PUBLISHERS = 4;
const CONSUMERS = 4;
const worker = fileURLToPath(new URL('../parallel-worker.ts', import.meta.url));

interface Worker {
  child: ChildProcess;
  role: 'publisher' | 'consumer';
  n: number;
  done?: { n: number; first: number; last: number };
}

/**
 * Transient throughput with the client out of the way: 4 publisher processes and 4 consumer processes (one
 * connection each) on one queue, 100-byte messages, consumers acking each. The harness pauses the publishers while
 * more than --max-inflight messages are published but not consumed. msg/s = consumed / (first publish → last ack).
 */
async function run(ctx: LoadContext): Promise<LoadOutcome> {
  const { opts } = ctx;
  const queue = await ctx.declareQueue('parallel', false);
  const workers: Worker[] = [];
  const start = (role: Worker['role']) => {
    const child = fork(worker, [role, opts.url, queue, String(opts.prefetch)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const w: Worker = { child, role, n: 0 };
    child.on('message', (m: { type: string; n?: number; first?: number; last?: number; message?: string }) => {
      if (m.type === 'count') w.n = m.n!;
      if (m.type === 'done') w.done = { n: m.n!, first: m.first!, last: m.last! };
    });
    workers.push(w);
    return new Promise<void>((resolve, reject) => {
      child.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'ready') resolve();
        if (m.type === 'error') reject(new Error(`${role}: ${m.message}`));
      });
      child.once('exit', (code, signal) => reject(new Error(`${role} exited (${signal ?? code}) before it was ready`)));
    });
  };
  // eight processes with tsx take a few seconds to start on a busy machine: that is not a stall
  const starting = setInterval(() => ctx.progress(), 500);
  try {
    await Promise.all([...Array.from({ length: CONSUMERS }, () => start('consumer')), ...Array.from({ length: PUBLISHERS }, () => start('publisher'))]);
    clearInterval(starting);
    const publishers = workers.filter((w) => w.role === 'publisher');
    const consumers = workers.filter((w) => w.role === 'consumer');
    const sum = (ws: Worker[]) => ws.reduce((a, w) => a + w.n, 0);
    for (const p of publishers) p.child.send({ type: 'go' });
    const deadline = performance.now() + opts.durationMs;
    let paused = false;
    while (performance.now() < deadline) {
      await sleep(50);
      ctx.progress();
      const inFlight = sum(publishers) - sum(consumers);
      if (!paused && inFlight > opts.maxInFlight) {
        paused = true;
        for (const p of publishers) p.child.send({ type: 'pause' });
      } else if (paused && inFlight < opts.maxInFlight / 2) {
        paused = false;
        for (const p of publishers) p.child.send({ type: 'resume' });
      }
    }
    for (const p of publishers) p.child.send({ type: 'stop' });
    while (publishers.some((p) => !p.done)) await sleep(20);
    const published = publishers.reduce((a, p) => a + p.done!.n, 0);
    // progress only while consumers advance: a message that never arrives shows as a stall, not a wait forever
    for (let seen = sum(consumers); seen < published; seen = sum(consumers)) {
      await sleep(20);
      if (sum(consumers) > seen) ctx.progress();
    }
    for (const c of consumers) c.child.send({ type: 'stop' });
    while (consumers.some((c) => !c.done)) await sleep(20);
    const consumed = consumers.reduce((a, c) => a + c.done!.n, 0);
    const first = Math.min(...publishers.map((p) => p.done!.first));
    const last = Math.max(...consumers.map((c) => c.done!.last));
    const seconds = (last - first) / 1000;
    return { metrics: { msgPerSec: consumed / seconds }, info: { published, consumed, seconds } };
  } finally {
    clearInterval(starting);
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }
}

export const parallel: Load = {
  name: 'parallel',
  description: `100 B transient, ${PUBLISHERS} publisher + ${CONSUMERS} consumer processes on one queue (acks); msg/s`,
  metrics: [{ key: 'msgPerSec', label: `transient ${PUBLISHERS}+${CONSUMERS} processes`, unit: 'msg/s', better: 'higher' }],
  // plus the start of eight client processes
  timeoutMs: (opts) => opts.durationMs * 3 + 60_000,
  run,
};
