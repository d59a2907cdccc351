import { once } from 'node:events';
import type { Load, LoadContext, LoadOutcome } from './common';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

const QUEUES = 10;

/**
 * Fanout: one publisher publishes 100-byte transient messages to a fanout exchange bound to 10 queues, each with
 * its own consumer channel (acking each message). Measures deliveries per second (10 per published message).
 */
async function run(ctx: LoadContext): Promise<LoadOutcome> {
  const { opts } = ctx;
  const exchange = await ctx.declareExchange('fanout', 'fanout');
  const setup = await ctx.channel();
  const queues: string[] = [];
  for (let i = 0; i < QUEUES; i++) {
    const q = await ctx.declareQueue(`fanout${i}`, false);
    await setup.bindQueue(q, exchange, '');
    queues.push(q);
  }
  const pub = await ctx.channel();
  let delivered = 0;
  let lastDeliveryAt = 0;
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  for (const q of queues) {
    const con = await ctx.channel();
    await con.prefetch(opts.prefetch);
    await con.consume(q, (msg) => {
      if (!msg) return;
      con.ack(msg);
      delivered++;
      lastDeliveryAt = performance.now();
      ctx.progress();
      wake();
    });
  }
  const body = Buffer.alloc(100, 0x61);
  let published = 0;
  let sinceYield = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  while (performance.now() < deadline) {
    if (published * QUEUES - delivered >= opts.maxInFlight) {
      await new Promise<void>((resolve) => (waiter = resolve));
      continue;
    }
    published++;
    if (!pub.publish(exchange, '', body, { deliveryMode: 1 })) {
      await once(pub, 'drain');
      sinceYield = 0;
    } else if (++sinceYield >= 100) {
      await yieldToLoop();
      sinceYield = 0;
    }
    ctx.progress();
  }
  while (delivered < published * QUEUES) await new Promise<void>((resolve) => (waiter = resolve));
  const seconds = (lastDeliveryAt - t0) / 1000;
  return { metrics: { deliveriesPerSec: delivered / seconds }, info: { published, delivered, seconds } };
}

export const fanout: Load = {
  name: 'fanout',
  description: `100 B transient to a fanout exchange bound to ${QUEUES} queues, one consumer each (acks); deliveries/s`,
  metrics: [{ key: 'deliveriesPerSec', label: `fanout to ${QUEUES} queues`, unit: 'deliveries/s', better: 'higher' }],
  run,
};
