import { once } from 'node:events';
import type { Channel } from 'amqplib';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Load, LoadContext, LoadOutcome } from './common';

const QUEUES = 1000;
const CONNECTIONS = 10;

/**
 * Many queues: 1,000 queues spread over 10 connections; on each connection a publisher channel publishes 100-byte
 * transient messages round robin to its 100 queues and a consumer channel consumes them all (acking each).
 * Measures messages consumed per second over all connections.
 */
async function run(ctx: LoadContext): Promise<LoadOutcome> {
  const { opts } = ctx;
  const perConnection = QUEUES / CONNECTIONS;
  const names: string[] = [];
  for (let i = 0; i < QUEUES; i++) names.push(await ctx.declareQueue(`many${i}`, false));
  let consumed = 0;
  let published = 0;
  let lastConsumeAt = 0;
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const publishers: { ch: Channel; queues: string[]; next: number }[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const conn = await ctx.connect();
    const queues = names.slice(c * perConnection, (c + 1) * perConnection);
    const con = await conn.createChannel();
    await con.prefetch(opts.prefetch);
    for (const q of queues) {
      await con.consume(q, (msg) => {
        if (!msg) return;
        con.ack(msg);
        consumed++;
        lastConsumeAt = performance.now();
        ctx.progress();
        wake();
      });
    }
    publishers.push({ ch: await conn.createChannel(), queues, next: 0 });
  }
  const body = Buffer.alloc(100, 0x61);
  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  let sinceYield = 0;
  while (performance.now() < deadline) {
    if (published - consumed >= opts.maxInFlight) {
      await new Promise<void>((resolve) => (waiter = resolve));
      continue;
    }
    // one message per connection per round, each to that connection's next queue
    for (const p of publishers) {
      const q = p.queues[p.next];
      p.next = (p.next + 1) % p.queues.length;
      published++;
      if (!p.ch.publish('', q, body, { deliveryMode: 1 })) await once(p.ch, 'drain');
    }
    ctx.progress();
    if (++sinceYield >= 10) {
      await yieldToLoop();
      sinceYield = 0;
    }
  }
  while (consumed < published) await new Promise<void>((resolve) => (waiter = resolve));
  const seconds = (lastConsumeAt - t0) / 1000;
  return { metrics: { msgPerSec: consumed / seconds }, info: { published, consumed, seconds } };
}

export const manyQueues: Load = {
  name: 'queues1000',
  description: `100 B transient over ${QUEUES} queues on ${CONNECTIONS} connections (publisher + consumer each); msg/s`,
  metrics: [{ key: 'msgPerSec', label: `${QUEUES} queues, ${CONNECTIONS} connections`, unit: 'msg/s', better: 'higher' }],
  run,
};
