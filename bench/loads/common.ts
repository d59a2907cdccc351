/**
 * Shared plumbing for the loads: one amqplib connection per run, fresh queues that are
 * deleted afterwards, and a watchdog (hard timeout + stall detection) so a hung broker is
 * reported as "timeout"/"hung" instead of blocking the whole benchmark.
 */
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { BrokerHandle } from '../brokers/common';

export interface LoadOptions {
  url: string;
  durationMs: number;
  /** latency load: messages per second */
  rate: number;
  /** consumer prefetch (basic.qos) */
  prefetch: number;
  /** consumer acks with multiple=true every N messages (1 = ack each message) */
  ackEvery: number;
  /** persistent load: max unconfirmed publishes */
  confirmWindow: number;
  /** throughput loads: max published-but-not-yet-consumed messages */
  maxInFlight: number;
  /** hard limit for one run of a load */
  timeoutMs: number;
  /** a run that makes no progress for this long is declared hung */
  stallMs: number;
  /** TCP_NODELAY on the client socket (amqplib's default is Nagle on) */
  noDelay: boolean;
  /** backlog load: messages published before draining (default 1,000,000) */
  backlog?: number;
  /** delayed load: messages scheduled far ahead before the accuracy check (default 1,000,000) */
  scheduled?: number;
}

export type Status = 'ok' | 'timeout' | 'hung' | 'error' | 'n/a';

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
}

export interface LoadOutcome {
  metrics: Record<string, number>;
  info: Record<string, number>;
}

export interface LoadResult extends Partial<LoadOutcome> {
  status: Status;
  detail?: string;
  /** cores used during the run: client, broker (if started here), everything else */
  cpu?: { clientCores: number; brokerCores: number; otherCores: number };
}

export interface LoadContext {
  /** the run's connection (replaced by restartBroker) */
  conn: ChannelModel;
  opts: LoadOptions;
  /** Declare a fresh, uniquely named queue; it is deleted after the run. */
  declareQueue(tag: string, durable: boolean): Promise<string>;
  channel(): Promise<Channel>;
  confirmChannel(): Promise<ConfirmChannel>;
  /** Declare a fresh, uniquely named exchange (transient unless told); it is deleted after the run. */
  declareExchange(tag: string, type: string, options?: { durable?: boolean; arguments?: Record<string, unknown> }): Promise<string>;
  /** Another connection to the broker (closed after the run), for loads that spread over several. */
  connect(): Promise<ChannelModel>;
  /** Call whenever the load advances; the stall watchdog watches it. */
  progress(): void;
  /** The broker, when the harness started it (process group for memory, restart). */
  broker?: BrokerHandle;
  /**
   * Restarts the broker (NotApplicable when the harness did not start it): every connection and channel of the run
   * dies, `conn` is replaced by a new one. Resolves with when the new broker process was started (performance.now()).
   */
  restartBroker(): Promise<{ spawnedAt: number; acceptedAt: number }>;
}

export interface Load {
  name: string;
  description: string;
  metrics: MetricDef[];
  /** a load that takes longer than the usual 3 × duration + 20 s */
  timeoutMs?: (opts: LoadOptions) => number;
  run(ctx: LoadContext): Promise<LoadOutcome>;
}

/**
 * Publishes `count` messages on a confirm channel with at most `confirmWindow` unconfirmed, waiting for 'drain' when
 * the socket is full; `publish(i, onConfirm)` sends message i and returns what amqplib's publish returned. Resolves
 * once every message is confirmed; a nack fails the run. `onConfirmed` gets the running count of confirmed messages.
 */
export async function publishConfirmed(
  ctx: LoadContext,
  ch: ConfirmChannel,
  count: number,
  publish: (i: number, onConfirm: (err: unknown) => void) => boolean,
  onConfirmed: (confirmed: number) => void = () => {},
): Promise<void> {
  let confirmed = 0;
  let nacked = 0;
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const onConfirm = (err: unknown) => {
    if (err) nacked++;
    else onConfirmed(++confirmed);
    ctx.progress();
    wake();
  };
  for (let i = 0; i < count; i++) {
    while (i - confirmed - nacked >= ctx.opts.confirmWindow) await new Promise<void>((resolve) => (waiter = resolve));
    if (!publish(i, onConfirm)) await new Promise((resolve) => ch.once('drain', resolve));
  }
  while (confirmed + nacked < count) await new Promise<void>((resolve) => (waiter = resolve));
  if (nacked > 0) throw new Error(`${nacked} of ${count} persistent messages were nacked`);
}

/** Thrown by a load that cannot run against this broker (e.g. no restart for a broker the harness did not start). */
export class NotApplicable extends Error {}

class LoadFailure extends Error {
  constructor(
    readonly status: Status,
    message: string,
  ) {
    super(message);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with p, or rejects after ms (the timer does not keep the process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoadFailure('timeout', `${what}: no answer in ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function connect(url: string, timeoutMs = 10_000, noDelay = true): Promise<ChannelModel> {
  const conn = await withTimeout(amqp.connect(url, { timeout: timeoutMs, noDelay }), timeoutMs, 'connect');
  conn.on('error', () => {}); // reported through the run's failure path, never as an uncaught event
  return conn;
}

/** Tear the socket down without waiting for the broker (used when it is hung). */
export function destroy(conn: ChannelModel): void {
  const stream = (conn.connection as unknown as { stream?: { destroy(): void } }).stream;
  stream?.destroy();
}

export async function closeQuietly(conn: ChannelModel, ms = 5_000): Promise<void> {
  try {
    await withTimeout(conn.close(), ms, 'connection.close');
  } catch {
    destroy(conn);
  }
}

export interface ServerInfo {
  product: string;
  version: string;
}

export async function probeServer(url: string): Promise<ServerInfo> {
  const conn = await connect(url);
  try {
    const p = conn.connection.serverProperties as unknown as Record<string, unknown>;
    const str = (v: unknown) => (v === undefined || v === null ? '?' : String(v));
    return { product: str(p.product), version: str(p.version) };
  } finally {
    await closeQuietly(conn);
  }
}

let queueSeq = 0;

/** Run one load once, with its own connection, fresh queues, timeout and stall watchdog. */
export async function runLoad(load: Load, opts: LoadOptions, broker?: BrokerHandle): Promise<LoadResult> {
  const queues: string[] = [];
  const exchanges: string[] = [];
  const extraConnections: ChannelModel[] = [];
  let conn: ChannelModel;
  try {
    conn = await connect(opts.url, 10_000, opts.noDelay);
  } catch (err) {
    return { status: err instanceof LoadFailure ? err.status : 'error', detail: message(err) };
  }

  let fail: (e: LoadFailure) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});
  let restarting = false;
  const watchClose = (c: ChannelModel) =>
    c.on('close', (err?: Error) => {
      if (!restarting) fail(new LoadFailure('error', `connection closed: ${err ? message(err) : 'by broker'}`));
    });
  watchClose(conn);

  const channels: Channel[] = [];
  let lastProgress = Date.now();
  const ctx: LoadContext = {
    conn,
    opts,
    broker,
    progress: () => {
      lastProgress = Date.now();
    },
    async declareQueue(tag, durable) {
      const name = `warren-bench-${tag}-${process.pid}-${++queueSeq}`;
      const ch = await ctx.channel();
      await ch.assertQueue(name, { durable, autoDelete: false, exclusive: false });
      queues.push(name);
      await ch.close();
      channels.splice(channels.indexOf(ch), 1);
      return name;
    },
    async declareExchange(tag, type, options) {
      const name = `warren-bench-${tag}-${process.pid}-${++queueSeq}`;
      const ch = await ctx.channel();
      await ch.assertExchange(name, type, { durable: options?.durable ?? false, autoDelete: false, arguments: options?.arguments });
      exchanges.push(name);
      await ch.close();
      channels.splice(channels.indexOf(ch), 1);
      return name;
    },
    async connect() {
      const extra = await connect(opts.url, 10_000, opts.noDelay);
      watchClose(extra);
      extraConnections.push(extra);
      return extra;
    },
    async restartBroker() {
      if (!broker?.restart) throw new NotApplicable('the harness did not start this broker, so it cannot restart it');
      restarting = true;
      const keepAlive = setInterval(() => ctx.progress(), 1000);
      try {
        channels.length = 0;
        const timing = await broker.restart();
        conn = await connect(opts.url, 10_000, opts.noDelay);
        watchClose(conn);
        ctx.conn = conn;
        return timing;
      } finally {
        clearInterval(keepAlive);
        restarting = false;
      }
    },
    async channel() {
      const ch = await conn.createChannel();
      ch.on('error', (e: Error) => {
        if (!restarting) fail(new LoadFailure('error', `channel error: ${message(e)}`));
      });
      channels.push(ch);
      return ch;
    },
    async confirmChannel() {
      const ch = await conn.createConfirmChannel();
      ch.on('error', (e: Error) => {
        if (!restarting) fail(new LoadFailure('error', `channel error: ${message(e)}`));
      });
      channels.push(ch);
      return ch;
    },
  };

  const started = Date.now();
  const timeoutMs = load.timeoutMs?.(opts) ?? opts.timeoutMs;
  const watchdog = setInterval(() => {
    const now = Date.now();
    if (now - started > timeoutMs) fail(new LoadFailure('timeout', `no result after ${timeoutMs} ms`));
    else if (now - lastProgress > opts.stallMs) fail(new LoadFailure('hung', `no progress for ${opts.stallMs} ms`));
  }, 250);

  let result: LoadResult;
  try {
    const outcome = await Promise.race([load.run(ctx), failed]);
    result = { status: 'ok', ...outcome };
  } catch (err) {
    result = { status: err instanceof LoadFailure ? err.status : err instanceof NotApplicable ? 'n/a' : 'error', detail: message(err) };
  } finally {
    clearInterval(watchdog);
  }
  for (const extra of extraConnections) await closeQuietly(extra);
  if (result.status === 'n/a') {
    await closeQuietly(conn);
    return result;
  }

  if (result.status === 'ok') {
    // Close the load's channels first (cancelling its consumers), then delete its queues.
    let cleanupError: string | undefined;
    try {
      for (const ch of channels) await withTimeout(ch.close(), 5_000, 'channel.close');
    } catch (err) {
      cleanupError = message(err);
    }
    cleanupError ??= await deleteQueues(conn, queues, exchanges);
    await closeQuietly(conn);
    if (cleanupError) result.detail = `queue cleanup failed: ${cleanupError}`;
  } else {
    // The broker may be wedged on this connection: drop it and clean up on a new one.
    destroy(conn);
    try {
      const c2 = await connect(opts.url, 5_000);
      const cleanupError = await deleteQueues(c2, queues, exchanges);
      await closeQuietly(c2);
      if (cleanupError) result.detail += `; queue cleanup failed: ${cleanupError}`;
    } catch (err) {
      result.detail += `; queue cleanup failed: ${message(err)}`;
    }
  }
  return result;
}

async function deleteQueues(conn: ChannelModel, queues: string[], exchanges: string[] = []): Promise<string | undefined> {
  if (queues.length === 0 && exchanges.length === 0) return undefined;
  try {
    const ch = await withTimeout(conn.createChannel(), 5_000, 'channel.open');
    ch.on('error', () => {});
    for (const q of queues) await withTimeout(ch.deleteQueue(q), 5_000, `queue.delete ${q}`);
    for (const x of exchanges) await withTimeout(ch.deleteExchange(x), 5_000, `exchange.delete ${x}`);
    await withTimeout(ch.close(), 5_000, 'channel.close');
    return undefined;
  } catch (err) {
    return message(err);
  }
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
