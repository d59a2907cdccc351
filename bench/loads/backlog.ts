import type { ConsumeMessage } from 'amqplib';
import { startRssSampler } from '../memory';
import type { Load, LoadContext, LoadOutcome } from './common';
import { NotApplicable, publishConfirmed } from './common';

const SIZE = 1024;

/**
 * Backlog: `--backlog` (1,000,000) persistent 1 KB messages published with confirms into a durable queue with no
 * consumer, then — when the harness started the broker — a restart with all of them queued (time until the new
 * process accepts AMQP connections and until the first message is delivered), then a drain by one consumer.
 * Reports the publish and drain rates and the peak resident memory of the broker's processes over the whole run
 * (a broker that keeps a long queue's bodies in memory shows it here).
 */
async function run(ctx: LoadContext): Promise<LoadOutcome> {
  const { opts } = ctx;
  const total = opts.backlog ?? 1_000_000;
  if (!ctx.broker?.pgid) throw new NotApplicable('needs a broker started by the harness (its memory is measured)');
  const peakRss = startRssSampler(() => ctx.broker?.pgid);
  try {
    const queue = await ctx.declareQueue('backlog', true);
    const pub = await ctx.confirmChannel();
    const body = Buffer.alloc(SIZE, 0x62);
    const t0 = performance.now();
    await publishConfirmed(ctx, pub, total, (_, onConfirm) => pub.publish('', queue, body, { deliveryMode: 2 }, onConfirm));
    const publishSeconds = (performance.now() - t0) / 1000;

    let restartAcceptMs = NaN;
    let firstDeliveryMs = NaN;
    let spawnedAt = NaN;
    if (ctx.broker.restart) {
      const timing = await ctx.restartBroker();
      spawnedAt = timing.spawnedAt;
      restartAcceptMs = timing.acceptedAt - timing.spawnedAt;
    }

    const con = await ctx.channel();
    await con.prefetch(opts.prefetch);
    let consumed = 0;
    let unacked: ConsumeMessage | null = null;
    let pending = 0;
    let drainStart = NaN;
    const drained = new Promise<void>((resolve) => {
      void con.consume(queue, (msg) => {
        if (!msg) return;
        const now = performance.now();
        if (consumed++ === 0) {
          drainStart = now;
          if (Number.isFinite(spawnedAt)) firstDeliveryMs = now - spawnedAt;
        }
        unacked = msg;
        if (++pending >= opts.ackEvery || consumed === total) {
          con.ack(unacked, true);
          pending = 0;
        }
        ctx.progress();
        if (consumed === total) resolve();
      });
    });
    await drained;
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const left = (await con.checkQueue(queue)).messageCount;
    return {
      metrics: {
        publishPerSec: total / publishSeconds,
        drainPerSec: total / drainSeconds,
        peakRssMiB: peakRss() / 1024 / 1024,
        restartAcceptMs,
        firstDeliveryMs,
      },
      info: { total, publishSeconds, drainSeconds, leftInQueue: left },
    };
  } finally {
    peakRss();
  }
}

export const backlog: Load = {
  name: 'backlog',
  description: 'persistent 1 KB × --backlog into a durable queue with confirms, restart, drain; rates, peak RSS, restart times',
  metrics: [
    { key: 'publishPerSec', label: 'backlog publish (confirmed)', unit: 'msg/s', better: 'higher' },
    { key: 'drainPerSec', label: 'backlog drain', unit: 'msg/s', better: 'higher' },
    { key: 'peakRssMiB', label: 'backlog peak broker RSS', unit: 'MiB', better: 'lower' },
    { key: 'restartAcceptMs', label: 'restart with backlog: accepting', unit: 'ms', better: 'lower' },
    { key: 'firstDeliveryMs', label: 'restart with backlog: first delivery', unit: 'ms', better: 'lower' },
  ],
  // a million persistent messages take minutes on RabbitMQ
  timeoutMs: (opts) => ((opts.backlog ?? 1_000_000) / 1000) * 1000 + 300_000,
  run,
};
