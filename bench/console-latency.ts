/**
 * The console API under load: `npm run bench:console`.
 *
 * Starts the web console as `npm run console` does (its own process; the broker in the console's child process,
 * temp data dir), then, phase after phase (idle, then each of `npm run bench`'s saturating loads driven by
 * --clients separate load-client processes), calls the console's HTTP API like an open window would —
 * POST /console/api/{overview.get, queues.list, exchanges.list, connections.list, messages.browse on a queue
 * preloaded with --browse-messages messages}, each every --interval ms — and prints p50/p95/p99/max latency per
 * command and phase (plus two controls: broker.status, answered by the console alone, and GET /api/overview, the
 * broker's management API through the console's port), with the machine, the CPU of the broker, the console and the clients (to show the broker was
 * saturated) and the throughput the clients reached. Target: p99 < 200 ms under load.
 *
 * Options: --idle S (10)  --seconds S per loaded phase (20)  --clients N (2)  --loads transient,persistent
 *          --interval MS (250)  --browse-messages N (10000)  --json
 */
import { type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './machine';
import { startCpu } from './cpu';
import { startProcessCpu } from './proc-cpu';
import { percentileSorted } from './stats';
import { fmtNumber, table } from './format';
import { connect, closeQuietly, message, sleep } from './loads/common';
import { exited, killGroup, spawnGroup, stopAll, tail, tempDir, track } from './brokers/common';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const BROWSE_QUEUE = 'console-bench-browse';
const LIST = { page: 1, pageSize: 100, sort: 'name', sortReverse: false, filter: '', regex: false };
const log = (s: string) => process.stderr.write(s + '\n');

function parse() {
  const { values } = parseArgs({
    options: {
      idle: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '20' },
      clients: { type: 'string', default: '2' },
      loads: { type: 'string', default: 'transient,persistent' },
      interval: { type: 'string', default: '250' },
      'browse-messages': { type: 'string', default: '10000' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run bench:console -- [--idle S] [--seconds S] [--clients N] [--loads transient,persistent] [--interval MS] [--browse-messages N] [--json]\n`);
    process.exit(0);
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got ${v})`);
    return n;
  };
  const loads = values.loads!.split(',').map((s) => s.trim()).filter(Boolean);
  for (const l of loads) if (!['transient', 'persistent', 'latency'].includes(l)) throw new Error(`unknown load ${l}`);
  return {
    idleMs: num('idle', values.idle!, 1) * 1000,
    phaseMs: num('seconds', values.seconds!, 1) * 1000,
    clients: num('clients', values.clients!, 1),
    loads,
    intervalMs: num('interval', values.interval!, 10),
    browseMessages: num('browse-messages', values['browse-messages']!, 100),
    json: values.json!,
  };
}
type Config = ReturnType<typeof parse>;

interface Probe {
  command: string;
  request: () => unknown;
  /** not a console command the target is about; measured to attribute the latency */
  control?: boolean;
}

interface CommandFigures {
  n: number;
  errors: number;
  firstError?: string;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  control?: boolean;
}

interface PhaseReport {
  phase: string;
  seconds: number;
  clients: number;
  /** msg/s summed over the clients' finished runs (median per client) */
  msgPerSec?: number;
  clientRuns: { load: string; status: string; msgPerSec?: number; detail?: string }[];
  cpu: { broker: number; console: number; clients: number; bench: number; others: number };
  overviewTicks: number;
  commands: Record<string, CommandFigures>;
}

/** The console's process: `node --import tsx main/console/web-console.ts`, as `npm run console` runs it. */
async function startConsole(dataDir: string): Promise<{ child: ChildProcess; httpUrl: string; amqpUrl: string }> {
  const child = spawnGroup(process.execPath, ['--import', tsx, join(root, 'main/console/web-console.ts'), '--port', '0', '--http-port', '0', '--data', dataDir], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  const output = tail(child, 40);
  const stop = async () => {
    await killGroup(child, 15_000);
  };
  track({ name: 'web console', url: '', pgid: child.pid, stop });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the console printed no URL within 60 s\n${output()}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /Warren console on (http:\/\/\S+?)\/?\s+\(AMQP (amqp:\/\/\S+)\)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({ child, httpUrl: m[1]!, amqpUrl: m[2]! });
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the console exited (code ${child.exitCode})\n${output()}`));
    });
  });
}

async function call(base: string, command: string, request: unknown): Promise<{ ms: number; ok: boolean; error?: string; value?: unknown }> {
  const t0 = performance.now();
  if (command.startsWith('GET /')) {
    try {
      const res = await fetch(`${base}${command.slice(4)}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` }, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      return { ms: performance.now() - t0, ok: res.ok, error: res.ok ? undefined : `HTTP ${res.status}` };
    } catch (err) {
      return { ms: performance.now() - t0, ok: false, error: message(err) };
    }
  }
  try {
    const res = await fetch(`${base}/console/api/${command}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: request === undefined ? '' : JSON.stringify(request),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { ok: boolean; value?: unknown; error?: { code: string; message: string } };
    return { ms: performance.now() - t0, ok: body.ok, value: body.value, error: body.ok ? undefined : `${body.error?.code}: ${body.error?.message}` };
  } catch (err) {
    return { ms: performance.now() - t0, ok: false, error: message(err) };
  }
}

/** Fills the queue the browse probe pages through: JSON bodies of about 1 KB, with headers. */
async function preload(amqpUrl: string, count: number): Promise<void> {
  const conn = await connect(amqpUrl);
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(BROWSE_QUEUE, { durable: false });
    await ch.purgeQueue(BROWSE_QUEUE);
    const filler = 'x'.repeat(900);
    for (let i = 0; i < count; i++) {
      const body = Buffer.from(JSON.stringify({ order: i, item: 'carrot', note: filler }));
      if (!ch.sendToQueue(BROWSE_QUEUE, body, { contentType: 'application/json', headers: { tenant: 'acme', n: i } })) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await closeQuietly(conn);
  }
}

/** An open console window listens to the event stream; the console then samples the broker every tick. */
function listenToEvents(base: string): { ticks: () => number; close: () => void } {
  const abort = new AbortController();
  let ticks = 0;
  void (async () => {
    try {
      const res = await fetch(`${base}/console/events`, { signal: abort.signal });
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        ticks += (decoder.decode(chunk, { stream: true }).match(/^event: overview\.tick$/gm) ?? []).length;
      }
    } catch {
      /* closed */
    }
  })();
  return { ticks: () => ticks, close: () => abort.abort() };
}

function figures(samples: number[], errors: string[]): CommandFigures {
  const sorted = Float64Array.from(samples).sort();
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    n: samples.length,
    errors: errors.length,
    ...(errors.length ? { firstError: errors[0] } : {}),
    p50: r(percentileSorted(sorted, 50)),
    p95: r(percentileSorted(sorted, 95)),
    p99: r(percentileSorted(sorted, 99)),
    max: r(sorted.length ? sorted[sorted.length - 1]! : NaN),
  };
}

interface LoadClient {
  child: ChildProcess;
  pid: number;
  runs: { load: string; status: string; msgPerSec?: number; detail?: string }[];
  done: Promise<void>;
}

async function startClients(cfg: Config, load: string, amqpUrl: string, capMs: number): Promise<LoadClient[]> {
  const clients: LoadClient[] = [];
  const readiness: Promise<void>[] = [];
  for (let i = 0; i < cfg.clients; i++) {
    const child = spawnGroup(process.execPath, ['--import', tsx, join(root, 'bench/load-client.ts'), '--url', amqpUrl, '--loads', load, '--seconds', String(capMs / 1000), '--run-seconds', '5'], {
      cwd: root,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    const output = tail(child, 20);
    const runs: LoadClient['runs'] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    let buffer = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const m = JSON.parse(line) as { ready?: boolean; load?: string; status?: string; msgPerSec?: number; detail?: string };
          if (m.ready) ready();
          else if (m.load) runs.push({ load: m.load, status: m.status ?? '?', msgPerSec: m.msgPerSec, detail: m.detail });
        } catch {
          /* not ours */
        }
      }
    });
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    void done.then(() => {
      ready();
      if (child.exitCode !== 0 && child.signalCode === null) log(`  load client ${i + 1} exited with ${child.exitCode}: ${output().split('\n').slice(-3).join(' | ')}`);
    });
    clients.push({ child, pid: child.pid!, runs, done });
    readiness.push(isReady);
  }
  // started together: each compiles for a few seconds before it connects
  await Promise.all(readiness);
  return clients;
}

async function stopClients(clients: LoadClient[]): Promise<void> {
  for (const c of clients) if (!exited(c.child)) c.child.kill('SIGTERM');
  // each finishes its current run (≤ 5 s) and drains its queue
  const deadline = sleep(25_000).then(() => 'late');
  for (const c of clients) {
    if ((await Promise.race([c.done.then(() => 'ok'), deadline])) === 'late') await killGroup(c.child, 1000);
  }
}

async function runPhase(cfg: Config, base: string, amqpUrl: string, pids: { broker: number; console: number }, phase: string, events: ReturnType<typeof listenToEvents>): Promise<PhaseReport> {
  const load = phase === 'idle' ? undefined : phase;
  const ms = load ? cfg.phaseMs : cfg.idleMs;
  let clients: LoadClient[] = [];
  if (load) {
    log(`${phase}: starting ${cfg.clients} load client process(es)`);
    clients = await startClients(cfg, load, amqpUrl, ms + 60_000);
    await sleep(2000); // connected, queues declared, publishing at full speed
  }
  log(`${phase}: measuring for ${ms / 1000} s`);
  const group = startCpu(pids.console);
  const perProcess = startProcessCpu({ broker: pids.broker, console: pids.console, ...Object.fromEntries(clients.map((c, i) => [`client${i}`, c.pid])) });
  const ticks0 = events.ticks();
  const total = await call(base, 'queues.get', { vhost: '/', name: BROWSE_QUEUE });
  const depth = (total.value as { messages?: number } | undefined)?.messages ?? cfg.browseMessages;
  let browseStep = 0;
  const probes: Probe[] = [
    { command: 'overview.get', request: () => undefined },
    { command: 'queues.list', request: () => LIST },
    { command: 'exchanges.list', request: () => LIST },
    { command: 'connections.list', request: () => LIST },
    // first, middle and last page of the loaded queue, in turn
    { command: 'messages.browse', request: () => ({ vhost: '/', queue: BROWSE_QUEUE, offset: [0, Math.floor(depth / 2), Math.max(0, depth - 100)][browseStep++ % 3], limit: 100 }) },
    // controls, to tell where time goes: the console alone (never asks the broker), and the broker's own
    // management API through the console's port (what the commands above wait for)
    { command: 'broker.status', request: () => undefined, control: true },
    { command: 'GET /api/overview', request: () => undefined, control: true },
  ];
  const end = performance.now() + ms;
  const samples = await Promise.all(
    probes.map(async (p, i) => {
      const times: number[] = [];
      const errors: string[] = [];
      await sleep((cfg.intervalMs / probes.length) * i); // staggered, like views refreshing independently
      while (performance.now() < end) {
        const r = await call(base, p.command, p.request());
        times.push(r.ms);
        if (!r.ok) errors.push(r.error ?? 'failed');
        await sleep(Math.max(0, cfg.intervalMs - r.ms));
      }
      return [p.command, { ...figures(times, errors), ...(p.control ? { control: true } : {}) }] as const;
    }),
  );
  const cpu = perProcess();
  const g = group();
  if (load) {
    log(`${phase}: stopping the load clients`);
    await stopClients(clients);
  }
  const clientCores = clients.reduce((s, _c, i) => s + (cpu[`client${i}`] ?? 0), 0);
  const ok = clients.map((c) => c.runs.filter((r) => r.status === 'ok' && r.msgPerSec !== undefined).map((r) => r.msgPerSec!));
  const perClient = ok.map((v) => percentileSorted(Float64Array.from(v).sort(), 50)).filter((v) => Number.isFinite(v));
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    phase,
    seconds: ms / 1000,
    clients: clients.length,
    ...(perClient.length ? { msgPerSec: Math.round(perClient.reduce((a, b) => a + b, 0)) } : {}),
    clientRuns: clients.flatMap((c) => c.runs),
    cpu: {
      broker: cpu.broker!,
      console: cpu.console!,
      clients: r2(clientCores),
      bench: g.clientCores,
      // startCpu's "other" is everything outside the console's process group (the console alone: its broker child
      // has a group of its own) and this process: the broker and the clients too
      others: r2(Math.max(0, g.otherCores - clientCores - cpu.broker!)),
    },
    overviewTicks: events.ticks() - ticks0,
    commands: Object.fromEntries(samples),
  };
}

function printText(machine: ReturnType<typeof machineInfo>, cfg: Config, reports: PhaseReport[], pids: { broker: number; console: number }): void {
  const out: string[] = [];
  out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM; Node ${machine.node}; load avg at start ${machine.loadavg.join(' ')}`);
  out.push(`Web console pid ${pids.console}, its broker child pid ${pids.broker}; ${cfg.clients} load client process(es) per loaded phase`);
  out.push(`Every ${cfg.intervalMs} ms per command: POST /console/api/{overview.get, queues.list, exchanges.list, connections.list (100 per page), messages.browse (100 of ${cfg.browseMessages})}; controls: broker.status (console only), GET /api/overview (the broker's API via the console port)`);
  out.push('');
  for (const r of reports) {
    const runs = r.clientRuns.length ? `; ${r.clientRuns.filter((x) => x.status === 'ok').length}/${r.clientRuns.length} client runs ok` : '';
    out.push(
      `${r.phase} (${r.seconds} s): ${r.msgPerSec !== undefined ? `${fmtNumber(r.msgPerSec, 'msg/s')} msg/s through the broker; ` : ''}` +
        `CPU cores: broker ${r.cpu.broker}, console ${r.cpu.console}, load clients ${r.cpu.clients}, bench ${r.cpu.bench}, other processes ${r.cpu.others}` +
        `${runs}; ${r.overviewTicks} overview ticks pushed`,
    );
  }
  out.push('');
  const rows: string[][] = [];
  for (const command of Object.keys(reports[0]?.commands ?? {})) {
    for (const r of reports) {
      const f = r.commands[command]!;
      rows.push([f.control ? `(control) ${command}` : command, r.phase, String(f.n), fmtNumber(f.p50, 'ms'), fmtNumber(f.p95, 'ms'), fmtNumber(f.p99, 'ms'), fmtNumber(f.max, 'ms'), f.errors ? `${f.errors} (${f.firstError})` : '0']);
    }
  }
  out.push(table(['command', 'phase', 'calls', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors'], rows));
  out.push('');
  const loaded = reports.filter((r) => r.phase !== 'idle');
  const targets = (r: PhaseReport) => Object.values(r.commands).filter((f) => !f.control);
  const worst = Math.max(...loaded.flatMap((r) => targets(r).map((f) => f.p99)));
  const errors = loaded.reduce((s, r) => s + targets(r).reduce((a, f) => a + f.errors, 0), 0);
  if (loaded.length === 0) out.push('Target p99 < 200 ms under load: no loaded phase was run');
  else out.push(`Target p99 < 200 ms under load: ${worst < 200 && errors === 0 ? 'MET' : 'NOT MET'} (worst p99 ${fmtNumber(worst, 'ms')} ms, ${errors} errors)`);
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<number> {
  const cfg = parse();
  const machine = machineInfo();
  const dir = tempDir('console');
  try {
    log('starting the web console (its broker in a child process)');
    const web = await startConsole(dir.path);
    const consolePid = web.child.pid!;
    const status = await call(web.httpUrl, 'broker.status', undefined);
    const brokerPid = (status.value as { pid?: number } | undefined)?.pid;
    if (!status.ok || !brokerPid) throw new Error(`broker.status: ${status.error ?? 'no pid'}`);
    if (brokerPid === consolePid) throw new Error('the broker runs in the console process');
    const pids = { broker: brokerPid, console: consolePid };
    log(`console ${web.httpUrl} (pid ${consolePid}), broker pid ${brokerPid}, ${web.amqpUrl}`);
    const amqpUrl = web.amqpUrl.replace('amqp://', 'amqp://guest:guest@');
    log(`preloading ${cfg.browseMessages} messages into ${BROWSE_QUEUE}`);
    await preload(amqpUrl, cfg.browseMessages);
    const events = listenToEvents(web.httpUrl);
    const reports: PhaseReport[] = [];
    try {
      for (const phase of ['idle', ...cfg.loads]) {
        if (stopping) break;
        reports.push(await runPhase(cfg, web.httpUrl, amqpUrl, pids, phase, events));
      }
    } finally {
      events.close();
    }
    if (cfg.json) process.stdout.write(JSON.stringify({ machine, settings: cfg, pids, phases: reports }, null, 2) + '\n');
    else printText(machine, cfg, reports, pids);
    return 0;
  } finally {
    await stopAll();
    dir.remove();
  }
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`\n${sig}: stopping the console and the load clients…`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    log(`bench:console: ${message(err)}`);
    await stopAll();
    process.exit(2);
  },
);
