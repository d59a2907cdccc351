import { startRssSampler } from '../memory';
import { percentile } from '../stats';
import type { Load, LoadContext, LoadOutcome } from './common';
import { NotApplicable, publishConfirmed, sleep } from './common';

/** the accuracy phase: how many, at what rate, with delays spread over 0.5-5 s */
const ACCURACY_MESSAGES = 20_000;
const ACCURACY_RATE = 2_000;
const ACCURACY_DELAY_MS = [500, 5_000] as const;

/**
 * Delayed: `--scheduled` (1,000,000) persistent 100-byte messages published with confirms to an x-delayed-message
 * exchange with delays of 1-2 h (none falls due during the run), then — when the harness started the broker — a
 * restart with all of them still scheduled, then 20,000 messages with delays of 0.5-5 s paced at 2,000 msg/s: how late
 * each reaches a consumer after its due time (publish time + x-delay on the client's clock, so the figure includes
 * publishing and delivery over loopback). Reports the publish rate, the rate over the last tenth (it must not fall as
 * the schedule grows), peak broker RSS, restart time and lateness p50/p99/max.
 *
 * RabbitMQ does delays with the rabbitmq-delayed-message-exchange plugin, which Debian does not package, and GarageMQ
 * has none: for them the load is n/a (the broker refuses the exchange type with 503 COMMAND_INVALID).
 */
async function run(ctx: LoadContext): Promise<LoadOutcome> {
  const total = ctx.opts.scheduled ?? 1_000_000;
  await requireDelayedExchangeType(ctx);
  // The previous run's clean-up deleted an exchange holding a million scheduled messages; the broker deletes them in
  // the background, which would slow this run's start. A restart finishes that deletion before the run begins.
  if (ctx.broker?.restart) await ctx.restartBroker();
  const peakRss = startRssSampler(() => ctx.broker?.pgid);
  try {
    const exchange = await ctx.declareExchange('delayed', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
    const queue = await ctx.declareQueue('delayed', true);
    const setup = await ctx.channel();
    await setup.bindQueue(queue, exchange, 'k');

    const body = Buffer.alloc(100, 0x64);
    const tenth = Math.max(1, Math.floor(total / 10));
    let tenthStarted = performance.now();
    let lastTenthRate = NaN;
    const t0 = performance.now();
    const pub = await ctx.confirmChannel();
    await publishConfirmed(
      ctx,
      pub,
      total,
      (_, onConfirm) => pub.publish(exchange, 'k', body, { deliveryMode: 2, headers: { 'x-delay': 3_600_000 + Math.floor(Math.random() * 3_600_000) } }, onConfirm),
      (done) => {
        if (done % tenth !== 0) return;
        const now = performance.now();
        lastTenthRate = (tenth * 1000) / (now - tenthStarted);
        tenthStarted = now;
      },
    );
    const publishSeconds = (performance.now() - t0) / 1000;

    let restartAcceptMs = NaN;
    if (ctx.broker?.restart) {
      const timing = await ctx.restartBroker();
      restartAcceptMs = timing.acceptedAt - timing.spawnedAt;
    }

    const lateness = await measureLateness(ctx, exchange, queue);
    return {
      metrics: {
        publishPerSec: total / publishSeconds,
        lastTenthPerSec: lastTenthRate,
        peakRssMiB: peakRss() / 1024 / 1024,
        restartAcceptMs,
        lateP50Ms: percentile(lateness.values, 50),
        lateP99Ms: percentile(lateness.values, 99),
        lateMaxMs: Math.max(...lateness.values),
      },
      info: { scheduled: total, publishSeconds, accuracyMessages: ACCURACY_MESSAGES, early: lateness.early },
    };
  } finally {
    peakRss();
  }
}

async function requireDelayedExchangeType(ctx: LoadContext): Promise<void> {
  const probe = await ctx.conn.createChannel();
  let refusal: Error | undefined;
  probe.on('error', (e: Error) => (refusal = e));
  const name = `warren-bench-delayed-probe-${process.pid}`;
  try {
    await probe.assertExchange(name, 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'direct' } });
    await probe.deleteExchange(name);
    await probe.close();
  } catch (e) {
    throw new NotApplicable(`no x-delayed-message exchange type (${(refusal ?? (e as Error)).message})`);
  }
}

/** Paced publishing of short delays (so client-side queueing does not count as lateness) and a consumer that times them. */
async function measureLateness(ctx: LoadContext, exchange: string, queue: string): Promise<{ values: number[]; early: number }> {
  const consumer = await ctx.channel();
  await consumer.prefetch(ctx.opts.prefetch);
  const values: number[] = [];
  let early = 0;
  const allIn = new Promise<void>((resolve) => {
    void consumer.consume(queue, (m) => {
      if (!m) return;
      const late = Date.now() - Number(m.content.toString());
      if (late < 0) early++;
      values.push(late);
      consumer.ack(m);
      ctx.progress();
      if (values.length === ACCURACY_MESSAGES) resolve();
    });
  });
  const pub = await ctx.confirmChannel();
  const perTick = Math.max(1, Math.round(ACCURACY_RATE / 100));
  for (let sent = 0; sent < ACCURACY_MESSAGES; ) {
    for (let i = 0; i < perTick && sent < ACCURACY_MESSAGES; i++, sent++) {
      const delay = ACCURACY_DELAY_MS[0] + Math.floor(Math.random() * (ACCURACY_DELAY_MS[1] - ACCURACY_DELAY_MS[0]));
      pub.publish(exchange, 'k', Buffer.from(String(Date.now() + delay)), { deliveryMode: 2, headers: { 'x-delay': delay } });
    }
    ctx.progress();
    await sleep(10);
  }
  await pub.waitForConfirms();
  await allIn;
  return { values, early };
}

export const delayed: Load = {
  name: 'delayed',
  description: `persistent 100 B × --scheduled to an x-delayed-message exchange (delays 1-2 h) with confirms, restart, then ${ACCURACY_MESSAGES.toLocaleString('en-US')} with delays of 0.5-5 s: lateness`,
  metrics: [
    { key: 'publishPerSec', label: 'scheduling publish (confirmed)', unit: 'msg/s', better: 'higher' },
    { key: 'lastTenthPerSec', label: 'scheduling publish, last tenth', unit: 'msg/s', better: 'higher' },
    { key: 'peakRssMiB', label: 'scheduling peak broker RSS', unit: 'MiB', better: 'lower' },
    { key: 'restartAcceptMs', label: 'restart with schedule: accepting', unit: 'ms', better: 'lower' },
    { key: 'lateP50Ms', label: 'delayed lateness p50', unit: 'ms', better: 'lower' },
    { key: 'lateP99Ms', label: 'delayed lateness p99', unit: 'ms', better: 'lower' },
    { key: 'lateMaxMs', label: 'delayed lateness max', unit: 'ms', better: 'lower' },
  ],
  timeoutMs: (opts) => ((opts.scheduled ?? 1_000_000) / 1000) * 1000 + 300_000,
  run,
};
