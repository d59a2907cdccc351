/**
 * Warren benchmark harness.
 *
 *   npm run bench                         embedded broker (own process, temp data dir)
 *   npm run bench -- --url amqp://guest:guest@127.0.0.1:5672
 *   npm run bench -- --compare            Warren vs RabbitMQ vs GarageMQ, all started here
 *
 * Options: --runs N (3)  --long-runs N (1)  --duration S (5)  --rate MSG/S|auto  --backlog N (1000000)  --scheduled N (1000000)  --loads a,b  --json
 *          --prefetch N (1000)  --ack-every N (1)  --confirm-window N (1000)  --max-inflight N (10000)
 *          --timeout S (per run; 3×duration+20)  --stall S (10)  --nagle  --brokers a,b (with --compare)
 */
import { parseArgs } from 'node:util';
import { machineInfo } from './machine';
import { startCpu } from './cpu';
import { summarize, type Summary } from './stats';
import { fmtNumber, fmtRatio, table } from './format';
import { type Load, type LoadOptions, type LoadResult, probeServer, runLoad, message } from './loads/common';
import { transient } from './loads/transient';
import { persistent } from './loads/persistent';
import { latency } from './loads/latency';
import { parallel } from './loads/parallel';
import { fanout } from './loads/fanout';
import { manyQueues } from './loads/many-queues';
import { backlog } from './loads/backlog';
import { delayed } from './loads/delayed';
import { type BrokerHandle, stopAll } from './brokers/common';
import { startEmbedded } from './brokers/embedded';
import { startRabbitMQ } from './brokers/rabbitmq';
import { startGarageMQ } from './brokers/garagemq';

const ALL_LOADS: Load[] = [transient, parallel, persistent, fanout, manyQueues, latency, backlog, delayed];
/** latency rate without --compare (or without RabbitMQ): about 20% of RabbitMQ 3.10's transient maximum here */
const DEFAULT_RATE = 2000;
/** the latency load runs at this share of RabbitMQ's measured transient maximum (issue: 20%) */
const RATE_SHARE_OF_RABBITMQ = 0.2;
/** loads that take minutes per run: run once unless --long-runs says otherwise */
const LONG_LOADS = new Set(['backlog', 'delayed']);

interface Target {
  name: string;
  start: () => Promise<BrokerHandle>;
}

interface MetricResult {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  summary: Summary;
  values: number[];
}

interface LoadReport {
  load: string;
  description: string;
  status: string; // 'ok' | 'k/n ok' | 'hung' | 'timeout' | 'error'
  runs: LoadResult[];
  metrics: MetricResult[];
}

interface BrokerReport {
  name: string;
  url?: string;
  product?: string;
  version?: string;
  error?: string;
  loads: LoadReport[];
}

const log = (s: string) => process.stderr.write(s + '\n');

function parse() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      compare: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      rate: { type: 'string', default: 'auto' },
      backlog: { type: 'string', default: '1000000' },
      scheduled: { type: 'string', default: '1000000' },
      'long-runs': { type: 'string', default: '1' },
      loads: { type: 'string', default: ALL_LOADS.map((l) => l.name).join(',') },
      json: { type: 'boolean', default: false },
      prefetch: { type: 'string', default: '1000' },
      'ack-every': { type: 'string', default: '1' },
      'confirm-window': { type: 'string', default: '1000' },
      'max-inflight': { type: 'string', default: '10000' },
      timeout: { type: 'string' },
      stall: { type: 'string', default: '10' },
      nagle: { type: 'boolean', default: false },
      brokers: { type: 'string', default: 'warren,rabbitmq,garagemq' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(readHelp());
    process.exit(0);
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got ${v})`);
    return n;
  };
  if (values.url && values.compare) throw new Error('--url and --compare are exclusive');
  const duration = num('duration', values.duration!, 0.1);
  const loads = values.loads!.split(',').map((n) => {
    const l = ALL_LOADS.find((x) => x.name === n.trim());
    if (!l) throw new Error(`unknown load ${n}; known: ${ALL_LOADS.map((x) => x.name).join(', ')}`);
    return l;
  });
  const opts: Omit<LoadOptions, 'url'> = {
    durationMs: duration * 1000,
    rate: values.rate === 'auto' ? DEFAULT_RATE : num('rate', values.rate!, 1),
    backlog: num('backlog', values.backlog!, 1),
    scheduled: num('scheduled', values.scheduled!, 1),
    prefetch: num('prefetch', values.prefetch!, 1),
    ackEvery: num('ack-every', values['ack-every']!, 1),
    confirmWindow: num('confirm-window', values['confirm-window']!, 1),
    maxInFlight: num('max-inflight', values['max-inflight']!, 1),
    timeoutMs: (values.timeout ? num('timeout', values.timeout, 1) : duration * 3 + 20) * 1000,
    stallMs: num('stall', values.stall!, 1) * 1000,
    noDelay: !values.nagle,
  };
  const brokers = values.brokers!.split(',').map((b) => b.trim().toLowerCase());
  for (const b of brokers) if (!['warren', 'rabbitmq', 'garagemq'].includes(b)) throw new Error(`unknown broker ${b}`);
  return {
    url: values.url,
    compare: values.compare!,
    brokers,
    runs: num('runs', values.runs!, 1),
    longRuns: num('long-runs', values['long-runs']!, 1),
    rateAuto: values.rate === 'auto',
    json: values.json!,
    loads,
    opts,
  };
}

function readHelp(): string {
  return `Usage: npm run bench -- [--url amqp://user:pass@host:port | --compare] [options]
  (no --url/--compare)  start Warren's broker (tsx broker/cli.ts, temp data dir) and measure it
  --url URL             measure any running AMQP 0-9-1 broker
  --compare             start Warren, RabbitMQ and GarageMQ on loopback; print figures and ratios
  --runs N              runs per load; median, min and max are reported (3)
  --duration S          seconds per run (5)
  --rate N|auto         latency load: messages per second; auto (default) = 20% of RabbitMQ's transient median
                        when --compare measures RabbitMQ (it goes first), else 2000
  --backlog N           backlog load: persistent 1 KB messages queued before the restart and drain (1000000)
  --scheduled N         delayed load: messages scheduled 1-2 h ahead before the restart and the accuracy check (1000000)
  --long-runs N         runs of the long loads (backlog, delayed) (1)
  --loads LIST          comma-separated subset of: ${ALL_LOADS.map((l) => l.name).join(', ')}
  --json                machine-readable results on stdout (progress goes to stderr)
  --prefetch N          consumer prefetch (1000)
  --ack-every N         consumer acks with multiple=true every N messages; 1 = ack each (1)
  --confirm-window N    persistent load: max unconfirmed publishes (1000)
  --max-inflight N      throughput loads: max published but not yet consumed (10000)
  --timeout S           hard limit per run (3 x duration + 20)
  --stall S             a run without progress for S seconds is reported as hung (10)
  --nagle               keep amqplib's default (Nagle on); by default the harness sets TCP_NODELAY
  --brokers LIST        with --compare: subset of warren,rabbitmq,garagemq (all)
`;
}

async function measure(handle: BrokerHandle, report: BrokerReport, cfg: ReturnType<typeof parse>): Promise<void> {
  report.url = handle.url.replace(/\/\/[^@/]*@/, '//');
  const info = await probeServer(handle.url);
  report.product = info.product;
  report.version = info.version;
  log(`${report.name}: ${info.product} ${info.version} at ${report.url}`);
  for (const load of cfg.loads) {
    const runs: LoadResult[] = [];
    const wanted = LONG_LOADS.has(load.name) ? cfg.longRuns : cfg.runs;
    for (let i = 0; i < wanted; i++) {
      if (stopping) throw new Error('interrupted');
      const pgid = handle.pgid;
      const cpu = startCpu(pgid);
      const r = await runLoad(load, { ...cfg.opts, url: handle.url }, handle);
      r.cpu = cpu();
      // a load that restarted the broker ran part of the time in another process group: its broker CPU is unknown
      if (handle.pgid !== pgid) r.cpu.brokerCores = NaN;
      runs.push(r);
      const figures = r.metrics
        ? load.metrics.map((m) => `${m.key}=${fmtNumber(r.metrics![m.key], m.unit)}`).join(' ')
        : '';
      const c = r.cpu;
      const cpuText = `cpu cores: client ${c.clientCores}, broker ${Number.isFinite(c.brokerCores) ? c.brokerCores : '?'}, other ${c.otherCores}`;
      log(`  ${load.name} run ${i + 1}/${wanted}: ${r.status} ${figures} [${cpuText}]${r.detail ? ` (${r.detail})` : ''}`);
      if (r.status === 'hung' || r.status === 'timeout') {
        log(`  ${load.name}: skipping remaining runs after ${r.status}`);
        break;
      }
    }
    report.loads.push(summarizeLoad(load, runs, wanted));
    // measured first in --compare: RabbitMQ's transient maximum sets the latency load's rate for every broker
    if (cfg.rateAuto && report.name === 'RabbitMQ' && load.name === 'transient') {
      const max = report.loads.at(-1)!.metrics[0].summary.median;
      if (Number.isFinite(max)) {
        cfg.opts.rate = Math.round(max * RATE_SHARE_OF_RABBITMQ);
        log(`  latency rate: ${cfg.opts.rate} msg/s (${RATE_SHARE_OF_RABBITMQ * 100}% of RabbitMQ's transient median)`);
      }
    }
  }
}

function summarizeLoad(load: Load, runs: LoadResult[], wanted: number): LoadReport {
  const ok = runs.filter((r) => r.status === 'ok');
  const failed = runs.find((r) => r.status !== 'ok');
  const status = ok.length === wanted ? 'ok' : ok.length === 0 ? (failed?.status ?? 'error') : `${ok.length}/${wanted} ok`;
  return {
    load: load.name,
    description: load.description,
    status,
    runs,
    metrics: load.metrics.map((m) => {
      const values = ok.map((r) => r.metrics![m.key]);
      return { ...m, summary: summarize(values), values };
    }),
  };
}

function fmtCores(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : '?';
}

function cell(lr: LoadReport | undefined, m: MetricResult | undefined, withRange: boolean): string {
  if (!lr || !m) return 'n/a';
  if (m.summary.n === 0) return lr.status === 'hung' || lr.status === 'timeout' ? 'hung/timeout' : lr.status;
  let s = fmtNumber(m.summary.median, m.unit);
  if (withRange) s += ` (${fmtNumber(m.summary.min, m.unit)}–${fmtNumber(m.summary.max, m.unit)})`;
  if (lr.status !== 'ok') s += ` [${lr.status}]`;
  return s;
}

function printText(measured: BrokerReport[], cfg: ReturnType<typeof parse>, machine: ReturnType<typeof machineInfo>): void {
  // Warren's column first, whatever order the brokers were measured in
  const reports = [...measured.filter((r) => r.name === 'Warren'), ...measured.filter((r) => r.name !== 'Warren')];
  const out: string[] = [];
  out.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM; Node ${machine.node}; load avg at start ${machine.loadavg.join(' ')}`);
  for (const r of reports) {
    out.push(`${r.name}: ${r.product ? `${r.product} ${r.version}` : ''}${r.url ? ` at ${r.url}` : ''}${r.error ? ` — NOT MEASURED: ${r.error.split('\n')[0]}` : ''}`);
  }
  const o = cfg.opts;
  out.push(
    `Settings: ${cfg.runs} run(s) × ${o.durationMs / 1000} s per load; one amqplib connection per run (publisher + consumer channel); ` +
      `prefetch ${o.prefetch}; ack ${o.ackEvery === 1 ? 'each message' : `multiple every ${o.ackEvery}`}; ` +
      `confirm window ${o.confirmWindow}; max in flight ${o.maxInFlight}; latency rate ${o.rate} msg/s; ` +
      `TCP_NODELAY ${o.noDelay ? 'on' : 'off (Nagle)'}`,
  );
  out.push('Figures: median (min–max) over runs; msg/s higher is better, latency ms lower is better.');
  out.push('');

  const rows: string[][] = [];
  const compare = reports.length > 1;
  const warren = reports.find((r) => r.name === 'Warren');
  const others = reports.filter((r) => r !== warren);
  for (const load of cfg.loads) {
    for (const def of load.metrics) {
      const row = [`${def.label} (${def.unit})`];
      const find = (r: BrokerReport) => {
        const lr = r.loads.find((l) => l.load === load.name);
        return { lr, m: lr?.metrics.find((x) => x.key === def.key) };
      };
      for (const r of reports) {
        const { lr, m } = find(r);
        row.push(r.error ? 'not run' : cell(lr, m, true));
      }
      if (compare && warren) {
        const w = find(warren).m?.summary.median ?? NaN;
        for (const r of others) row.push(fmtRatio(w / (find(r).m?.summary.median ?? NaN)));
      }
      rows.push(row);
    }
  }
  const header = ['metric', ...reports.map((r) => r.name)];
  if (compare && warren) header.push(...others.map((r) => `Warren/${r.name}`));
  out.push(table(header, rows));
  out.push('');
  for (const r of reports) {
    for (const lr of r.loads) {
      const cpus = lr.runs.map((x) => x.cpu).filter((x) => x !== undefined);
      if (cpus.length === 0) continue;
      const med = (k: 'clientCores' | 'brokerCores' | 'otherCores') => fmtCores(summarize(cpus.map((x) => x[k])).median);
      const noisy = Math.max(...cpus.map((x) => x.otherCores));
      out.push(
        `CPU ${r.name} ${lr.load}: client ${med('clientCores')}, broker ${med('brokerCores')}, other processes ${med('otherCores')} cores` +
          (noisy > 0.3 ? `  <- other processes used up to ${noisy} cores: figures may be disturbed` : ''),
      );
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<number> {
  const cfg = parse();
  const machine = machineInfo();
  const targets: Target[] = cfg.url
    ? [{ name: 'broker', start: async () => ({ name: 'broker', url: cfg.url!, stop: async () => {} }) }]
    : cfg.compare
      ? [
          // RabbitMQ first: its transient maximum sets the latency rate (--rate auto)
          { name: 'RabbitMQ', start: () => startRabbitMQ() },
          { name: 'Warren', start: () => startEmbedded() },
          { name: 'GarageMQ', start: () => startGarageMQ() },
        ].filter((t) => cfg.brokers.includes(t.name.toLowerCase()))
      : [{ name: 'Warren', start: () => startEmbedded() }];

  const reports: BrokerReport[] = [];
  for (const t of targets) {
    if (stopping) break;
    const report: BrokerReport = { name: t.name, loads: [] };
    reports.push(report);
    let handle: BrokerHandle | undefined;
    try {
      log(`${t.name}: starting`);
      handle = await t.start();
      await measure(handle, report, cfg);
    } catch (err) {
      report.error = message(err);
      log(`${t.name}: ${report.error}`);
    } finally {
      if (handle) {
        log(`${t.name}: stopping`);
        await handle.stop();
      }
    }
  }

  if (cfg.json) {
    process.stdout.write(JSON.stringify({ machine, settings: { runs: cfg.runs, ...cfg.opts }, brokers: reports, ratios: ratios(reports) }, null, 2) + '\n');
  } else {
    printText(reports, cfg, machine);
  }
  const anyMeasured = reports.some((r) => !r.error);
  return anyMeasured ? 0 : 1;
}

/** Warren's median divided by each other broker's median, per load and metric. */
function ratios(reports: BrokerReport[]): Record<string, Record<string, number | null>> {
  const warren = reports.find((r) => r.name === 'Warren');
  const result: Record<string, Record<string, number | null>> = {};
  if (!warren || reports.length < 2) return result;
  for (const other of reports.filter((r) => r !== warren)) {
    const per: Record<string, number | null> = {};
    for (const lr of warren.loads) {
      for (const m of lr.metrics) {
        const o = other.loads.find((x) => x.load === lr.load)?.metrics.find((x) => x.key === m.key);
        const v = m.summary.median / (o?.summary.median ?? NaN);
        per[`${lr.load}.${m.key}`] = Number.isFinite(v) ? v : null;
      }
    }
    result[`Warren/${other.name}`] = per;
  }
  return result;
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`\n${sig}: stopping brokers started by the benchmark…`);
    void stopAll().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    if (stopping) return; // the signal handler stops the brokers and exits
    await stopAll();
    process.exit(code);
  })
  .catch(async (err) => {
    if (stopping) return;
    log(`bench: ${message(err)}`);
    await stopAll();
    process.exit(2);
  });
