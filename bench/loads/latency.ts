/**
 * Latency at a fixed publish rate: 100-byte transient messages to a non-durable queue, the
 * process.hrtime timestamp of the publish call in the first 8 bytes of the body, consumer
 * acking each message. Publish and consume run in this process, so the clocks agree.
 * Messages sent during the warm-up (first 10% of the duration, at most 1 s) are not counted.
 */
import { once } from 'node:events';
import type { Load, LoadContext, LoadOutcome } from './common';
import { sleep } from './common';
import { percentileSorted } from '../stats';

async function run(ctx: LoadContext): Promise<LoadOutcome> {
  const { opts } = ctx;
  const queue = await ctx.declareQueue('latency', false);
  const pub = await ctx.channel();
  const con = await ctx.channel();
  await con.prefetch(opts.prefetch);

  const total = Math.max(1, Math.round((opts.durationMs / 1000) * opts.rate));
  const warmup = Math.floor(Math.min(opts.rate, total * 0.1));
  const samples = new Float64Array(total);
  let counted = 0;
  let consumed = 0;
  let allConsumed: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allConsumed = resolve));

  await con.consume(
    queue,
    (msg) => {
      if (!msg) return;
      const now = process.hrtime.bigint();
      const seq = msg.content.readUInt32BE(8);
      if (seq >= warmup) samples[counted++] = Number(now - msg.content.readBigUInt64BE(0)) / 1e6;
      con.ack(msg);
      ctx.progress();
      if (++consumed === total) allConsumed();
    },
    { noAck: false },
  );

  const t0 = performance.now();
  let sent = 0;
  let maxBehind = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * opts.rate) + 1);
    maxBehind = Math.max(maxBehind, due - sent);
    while (sent < due) {
      const body = Buffer.alloc(100, 0x61);
      body.writeBigUInt64BE(process.hrtime.bigint(), 0);
      body.writeUInt32BE(sent, 8);
      sent++;
      if (!pub.publish('', queue, body, { deliveryMode: 1 })) await once(pub, 'drain');
    }
    ctx.progress();
    await sleep(1);
  }
  const publishSeconds = (performance.now() - t0) / 1000;
  await finished;

  const sorted = samples.subarray(0, counted).sort();
  return {
    metrics: {
      p50: percentileSorted(sorted, 50),
      p99: percentileSorted(sorted, 99),
      max: sorted[sorted.length - 1],
    },
    info: { sent, counted, achievedRate: sent / publishSeconds, maxBurst: maxBehind },
  };
}

export const latency: Load = {
  name: 'latency',
  description: '100 B transient at a fixed rate (--rate), hrtime stamp in body; end-to-end ms',
  metrics: [
    { key: 'p50', label: 'latency p50', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'latency p99', unit: 'ms', better: 'lower' },
    { key: 'max', label: 'latency max', unit: 'ms', better: 'lower' },
  ],
  run,
};
