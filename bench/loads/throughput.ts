/**
 * End-to-end throughput engine shared by the transient and persistent loads.
 *
 * One publisher channel and one consumer channel on the run's single connection. The publisher
 * publishes as fast as the broker lets it for the load's duration: it waits for 'drain' whenever
 * channel.publish returns false, keeps at most `maxInFlight` messages published-but-not-consumed,
 * and (with confirms) at most `confirmWindow` unconfirmed. Then it stops and the run waits until
 * every message is consumed (and confirmed). Throughput = messages / (last ack - first publish).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { once } from 'node:events';
import type { ConsumeMessage } from 'amqplib';
import type { LoadContext, LoadOutcome } from './common';

export interface ThroughputParams {
  tag: string;
  size: number;
  persistent: boolean;
  durableQueue: boolean;
  confirms: boolean;
}

export async function runThroughput(ctx: LoadContext, p: ThroughputParams): Promise<LoadOutcome> {
  const { opts } = ctx;
  if (opts.ackEvery > opts.prefetch) throw new Error('--ack-every must not exceed --prefetch');
  const queue = await ctx.declareQueue(p.tag, p.durableQueue);
  const pub = p.confirms ? await ctx.confirmChannel() : await ctx.channel();
  const con = await ctx.channel();
  await con.prefetch(opts.prefetch);

  const body = Buffer.alloc(p.size, 0x61);
  const publishOptions = { deliveryMode: p.persistent ? 2 : 1, contentType: 'application/octet-stream' };
  let published = 0;
  let confirmed = 0;
  let nacked = 0;
  let consumed = 0;
  let unacked: ConsumeMessage | null = null;
  let unackedCount = 0;
  let stopped = false;
  let lastAckAt = 0;

  // A single waiter: the publisher (or the final wait) sleeps here until a delivery or confirm.
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const nextEvent = () => new Promise<void>((resolve) => (waiter = resolve));

  const ackPending = () => {
    if (unacked) con.ack(unacked, true);
    unacked = null;
    unackedCount = 0;
    lastAckAt = performance.now();
  };

  await con.consume(
    queue,
    (msg) => {
      if (!msg) return;
      consumed++;
      unacked = msg;
      if (++unackedCount >= opts.ackEvery || (stopped && consumed >= published - nacked)) ackPending();
      ctx.progress();
      wake();
    },
    { noAck: false },
  );

  const onConfirm = (err: unknown) => {
    if (err) nacked++;
    else confirmed++;
    ctx.progress();
    wake();
  };

  const t0 = performance.now();
  const deadline = t0 + opts.durationMs;
  let sinceYield = 0;
  while (performance.now() < deadline) {
    const unconfirmed = published - confirmed - nacked;
    if (published - consumed >= opts.maxInFlight || (p.confirms && unconfirmed >= opts.confirmWindow)) {
      await nextEvent();
      continue;
    }
    const ok = p.confirms
      ? pub.publish('', queue, body, publishOptions, onConfirm)
      : pub.publish('', queue, body, publishOptions);
    published++;
    ctx.progress();
    if (!ok) {
      await once(pub, 'drain');
      sinceYield = 0;
    } else if (++sinceYield >= 100) {
      // let deliveries and confirms (same event loop) be processed
      await yieldToLoop();
      sinceYield = 0;
    }
  }
  stopped = true;
  const done = () => consumed >= published - nacked && (!p.confirms || confirmed + nacked >= published);
  while (!done()) await nextEvent();
  if (unacked) ackPending();
  const seconds = (lastAckAt - t0) / 1000;

  // Round trip so the broker has processed every ack, and a sanity check that nothing is left.
  const check = await con.checkQueue(queue);
  return {
    metrics: { msgPerSec: (published - nacked) / seconds },
    info: { published, consumed, confirmed, nacked, seconds, leftInQueue: check.messageCount },
  };
}
