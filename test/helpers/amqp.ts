// amqplib helpers: tracked connections/channels that never crash the test process on an
// 'error' event, capture of close reply codes, cleanup of named resources.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib'
import { EventEmitter } from 'node:events'

export type Conn = ChannelModel

export interface CloseInfo {
  /** reply code from the server's close (err.code in amqplib), undefined for a clean close */
  code?: number
  /** amqplib's message, e.g. 'Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - ..."' */
  message?: string
  classId?: number
  methodId?: number
}

interface ErrLike extends Error {
  code?: number
  classId?: number
  methodId?: number
}

const lastError = new WeakMap<object, ErrLike>()
const closeWaiters = new WeakMap<object, Promise<CloseInfo>>()

function track(em: EventEmitter): void {
  em.on('error', (e: ErrLike) => {
    if (!lastError.has(em)) lastError.set(em, e)
  })
  const p = new Promise<CloseInfo>((resolve) => {
    em.once('close', (maybeErr?: ErrLike) => {
      const e = lastError.get(em) ?? maybeErr
      resolve(e ? { code: e.code, message: e.message, classId: e.classId, methodId: e.methodId } : {})
    })
  })
  closeWaiters.set(em, p)
}

/** Resolves when the channel/connection is closed, with the server's reply code if any. */
export function closed(em: Channel | Conn, timeoutMs = 5000): Promise<CloseInfo> {
  const p = closeWaiters.get(em)
  if (!p) throw new Error('closed(): object was not created through the test helpers')
  return withTimeout(p, timeoutMs, 'waiting for close')
}

/** The first 'error' seen on a tracked channel/connection. */
export function errorOf(em: Channel | Conn): ErrLike | undefined {
  return lastError.get(em)
}

export function withTimeout<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let t: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms)
    }),
  ])
}

const openConns = new Set<Conn>()

export async function connect(url: string, socketOptions?: Record<string, unknown>): Promise<Conn> {
  const c = await amqp.connect(url, socketOptions)
  track(c)
  openConns.add(c)
  c.once('close', () => openConns.delete(c))
  return c
}

export async function channel(c: Conn): Promise<Channel> {
  const ch = await c.createChannel()
  track(ch)
  return ch
}

export async function confirmChannel(c: Conn): Promise<ConfirmChannel> {
  const ch = await c.createConfirmChannel()
  track(ch)
  return ch
}

/** Convenience: a new connection plus one channel. */
export async function connectWithChannel(url: string): Promise<{ conn: Conn; ch: Channel }> {
  const conn = await connect(url)
  const ch = await channel(conn)
  return { conn, ch }
}

/** Close every connection opened through connect() (use in afterEach/afterAll). */
export async function closeAllConnections(): Promise<void> {
  const all = [...openConns]
  openConns.clear()
  await Promise.all(all.map((c) => withTimeout(c.close(), 3000, 'connection close').catch(() => {})))
}

/**
 * Expect `p` (an amqplib operation) to fail because the server closed the channel or the
 * connection; resolves with the reply code and message.
 */
export async function expectClose(p: Promise<unknown>, timeoutMs = 5000): Promise<CloseInfo> {
  try {
    await withTimeout(p, timeoutMs, 'expected server close')
  } catch (e) {
    const err = e as ErrLike
    return { code: err.code, message: err.message, classId: err.classId, methodId: err.methodId }
  }
  throw new Error('expected the operation to fail with a server close, but it succeeded')
}

/**
 * Expect `p` to fail because the server closed the whole connection `conn`; resolves with the
 * connection.close reply code/text (amqplib rejects the pending operation without a code).
 */
export async function expectConnectionClose(conn: Conn, p: Promise<unknown>, timeoutMs = 5000): Promise<CloseInfo> {
  await withTimeout(p, timeoutMs, 'expected connection close').then(
    () => {
      throw new Error('expected the operation to fail with a connection close, but it succeeded')
    },
    () => undefined,
  )
  return closed(conn, timeoutMs)
}

/**
 * Expect `p` to fail because the server closed channel `ch`; resolves with the channel.close
 * reply from the channel's 'error' event (amqplib's basic.get rejects without code/message).
 */
export async function expectChannelClose(ch: Channel, p: Promise<unknown>, timeoutMs = 5000): Promise<CloseInfo> {
  await withTimeout(p, timeoutMs, 'expected channel close').then(
    () => {
      throw new Error('expected the operation to fail with a channel close, but it succeeded')
    },
    () => undefined,
  )
  return closed(ch, timeoutMs)
}

/** Collects names to delete after a test (shared RabbitMQ hygiene). */
export class Cleanup {
  queues = new Set<string>()
  exchanges = new Set<string>()
  q(name: string): string {
    this.queues.add(name)
    return name
  }
  x(name: string): string {
    this.exchanges.add(name)
    return name
  }
  async run(url: string): Promise<void> {
    if (this.queues.size === 0 && this.exchanges.size === 0) return
    let c: Conn | undefined
    try {
      c = await amqp.connect(url)
      c.on('error', () => {})
      for (const q of this.queues) {
        const ch = await c.createChannel()
        ch.on('error', () => {})
        await ch.deleteQueue(q).catch(() => {})
        await ch.close().catch(() => {})
      }
      for (const x of this.exchanges) {
        const ch = await c.createChannel()
        ch.on('error', () => {})
        await ch.deleteExchange(x).catch(() => {})
        await ch.close().catch(() => {})
      }
    } catch {
      // broker gone (e.g. after a kill test): nothing to clean
    } finally {
      this.queues.clear()
      this.exchanges.clear()
      await c?.close().catch(() => {})
    }
  }
}

/** Consume into an array; returns helpers to wait for N messages. */
export async function collect(
  ch: Channel,
  queue: string,
  opts: Options.Consume = {},
): Promise<{ msgs: ConsumeMessage[]; tag: string; cancelled: () => boolean; waitFor(n: number, ms?: number): Promise<ConsumeMessage[]> }> {
  const msgs: ConsumeMessage[] = []
  let cancelled = false
  const listeners: Array<() => void> = []
  const { consumerTag } = await ch.consume(
    queue,
    (m) => {
      if (m === null) cancelled = true
      else msgs.push(m)
      for (const l of listeners.splice(0)) l()
    },
    opts,
  )
  return {
    msgs,
    tag: consumerTag,
    cancelled: () => cancelled,
    waitFor(n: number, ms = 5000) {
      return withTimeout(
        new Promise<ConsumeMessage[]>((resolve) => {
          const check = () => {
            if (msgs.length >= n) resolve(msgs)
            else listeners.push(check)
          }
          check()
        }),
        ms,
        `waiting for ${n} messages on ${queue} (have ${msgs.length})`,
      )
    },
  }
}

export function bodies(msgs: Array<{ content: Buffer }>): string[] {
  return msgs.map((m) => m.content.toString())
}
