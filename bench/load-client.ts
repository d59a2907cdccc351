/**
 * A load-generating client process: runs `npm run bench`'s loads (bench/loads/*) against one broker, back to back,
 * until --seconds have passed, and prints {"ready":true,"pid":N} when it starts, then one JSON line per finished
 * run on stdout:
 *   {"load":"transient","status":"ok","msgPerSec":41234,"cpuCores":0.98}
 * Used by bench/console-latency.ts (several of these saturate the embedded broker while the console API is timed)
 * and by test/integration/web-console-process.test.ts (a client flooding the broker from another process).
 *
 *   node --import tsx bench/load-client.ts --url amqp://guest:guest@127.0.0.1:5672 --loads transient --seconds 20
 * Options: --run-seconds S (5, per run)  --loads transient,persistent,latency (transient)  plus bench/run.ts's
 * per-load settings at their defaults (prefetch 1000, ack each, confirm window 1000, max in flight 10000).
 */
import { parseArgs } from 'node:util';
import { type Load, type LoadOptions, runLoad, message } from './loads/common';
import { transient } from './loads/transient';
import { persistent } from './loads/persistent';
import { latency } from './loads/latency';

const LOADS: Load[] = [transient, persistent, latency];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      loads: { type: 'string', default: 'transient' },
      seconds: { type: 'string', default: '10' },
      'run-seconds': { type: 'string', default: '5' },
    },
    strict: true,
  });
  if (!values.url) throw new Error('--url is required');
  const loads = values.loads!.split(',').map((n) => {
    const l = LOADS.find((x) => x.name === n.trim());
    if (!l) throw new Error(`unknown load ${n}`);
    return l;
  });
  const totalMs = Number(values.seconds) * 1000;
  const runMs = Number(values['run-seconds']) * 1000;
  if (!(totalMs > 0) || !(runMs > 0)) throw new Error('--seconds and --run-seconds must be positive');

  // compiled and about to connect: the caller starts its clock from here
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');
  const until = Date.now() + totalMs;
  let stop = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => (stop = true));
  for (let i = 0; !stop && Date.now() < until; i++) {
    const load = loads[i % loads.length]!;
    const durationMs = Math.max(500, Math.min(runMs, until - Date.now()));
    const opts: LoadOptions = {
      url: values.url,
      durationMs,
      rate: 2000,
      prefetch: 1000,
      ackEvery: 1,
      confirmWindow: 1000,
      maxInFlight: 10000,
      timeoutMs: durationMs * 3 + 20_000,
      stallMs: 10_000,
      noDelay: true,
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await runLoad(load, opts);
    const used = process.cpuUsage(cpu0);
    const cpuCores = Math.round(((used.user + used.system) / 1000 / (performance.now() - t0)) * 100) / 100;
    process.stdout.write(JSON.stringify({ load: load.name, status: r.status, ...(r.metrics ?? {}), cpuCores, ...(r.detail ? { detail: r.detail } : {}) }) + '\n');
    if (r.status !== 'ok') break;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`load-client: ${message(err)}\n`);
    process.exit(1);
  },
);
