/**
 * One client process of the `parallel` load (bench/loads/parallel.ts), forked with an IPC channel:
 *   publisher: publishes 100-byte transient messages to QUEUE until told to stop (pauses when told to);
 *   consumer:  consumes from QUEUE (prefetch, acks each) until told to stop.
 * Reports {type:'count', n} every 100 ms and {type:'done', n} at the end; times are epoch ms with sub-ms precision
 * (performance.timeOrigin + performance.now()), so the parent can compare them across processes.
 */
import { once } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import amqp from 'amqplib';

const [role, url, queue, prefetchText] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send?.(m);

async function main(): Promise<void> {
  const conn = await amqp.connect(url, { noDelay: true });
  conn.on('error', () => {});
  const ch = await conn.createChannel();
  let n = 0;
  let first = 0;
  let last = 0;
  let paused = false;
  let stopped = false;
  let resume: (() => void) | null = null;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'pause') paused = true;
    if (m.type === 'resume') {
      paused = false;
      resume?.();
    }
    if (m.type === 'stop') {
      stopped = true;
      paused = false;
      resume?.();
    }
  });
  const report = setInterval(() => send({ type: 'count', n }), 100);
  if (role === 'consumer') {
    await ch.prefetch(Number(prefetchText));
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      if (n++ === 0) first = now();
      last = now();
    });
    send({ type: 'ready' });
    while (!stopped) await new Promise<void>((r) => (resume = r));
  } else {
    send({ type: 'ready' });
    await new Promise<void>((r) => process.once('message', () => r())); // 'go'
    const body = Buffer.alloc(100, 0x61);
    first = now();
    let sinceYield = 0;
    while (!stopped) {
      if (paused) {
        await new Promise<void>((r) => (resume = r));
        continue;
      }
      n++;
      if (!ch.publish('', queue, body, { deliveryMode: 1 })) {
        await once(ch, 'drain');
        sinceYield = 0;
      } else if (++sinceYield >= 100) {
        await yieldToLoop();
        sinceYield = 0;
      }
    }
    last = now();
  }
  clearInterval(report);
  // the channel first: amqplib writes connection.close straight to the socket, ahead of content frames still
  // queued behind the channel, which the broker would then never read (the last batch would be lost)
  await ch.close().catch(() => {});
  send({ type: 'done', n, first, last });
  await conn.close().catch(() => {});
  process.exit(0);
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
