// Queue paging end to end (broker/core/paging.ts): amqplib clients against the embedded broker with a SQLite store
// and a small in-memory window, so long queues cross many page boundaries.
import amqp, { type ConfirmChannel } from 'amqplib'
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { makeTempDir, spawnBrokerProcess } from '../helpers/broker'

const WINDOW = 200
const quietLogger = { info() {}, warn() {}, error() {} }
const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function broker(dataDir: string, httpPort?: number): Promise<BrokerHandle> {
  const handle = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: quietLogger, httpPort, paging: { windowCount: WINDOW } })
  return handle
}

function dataDir(): string {
  const dir = makeTempDir('warren-paging-')
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function connect(handle: { port: number }) {
  const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${handle.port}`)
  connection.on('error', () => {})
  cleanups.push(() => connection.close().catch(() => {}))
  return connection
}

/** Publishes n persistent messages "0".."n-1" with confirms, in batches. */
async function publishAll(ch: ConfirmChannel, queue: string, n: number, size = 100): Promise<void> {
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 2000)
    for (; i < end; i++) {
      const body = Buffer.alloc(size, 0x2e)
      body.write(String(i))
      ch.publish('', queue, body, { persistent: true, messageId: String(i) })
    }
    await ch.waitForConfirms()
  }
}

/** Consumes n messages with a prefetch, acking each; returns their message ids in arrival order and redelivered flags. */
async function consumeAll(ch: amqp.Channel, queue: string, n: number, prefetch = 300): Promise<{ ids: number[]; redelivered: boolean[] }> {
  await ch.prefetch(prefetch)
  const ids: number[] = []
  const redelivered: boolean[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${ids.length} of ${n} arrived`)), 240_000)
    void ch.consume(queue, (msg) => {
      if (!msg) return
      ids.push(Number(msg.properties.messageId))
      redelivered.push(msg.fields.redelivered)
      ch.ack(msg)
      if (ids.length === n) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return { ids, redelivered }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

describe('queue paging over AMQP', () => {
  it('delivers 50,000 persistent messages in order, no loss, no duplicates, holding only a window in memory', async () => {
    const handle = await broker(dataDir())
    cleanups.push(() => handle.close())
    const connection = await connect(handle)
    const ch = await connection.createConfirmChannel()
    await ch.assertQueue('long', { durable: true })
    const n = 50_000
    await publishAll(ch, 'long', n)
    const queue = handle.core.vhosts.get('/')!.queues.get('long')!
    expect(queue.messageCount).toBe(n)
    expect(queue.paging!.inMemory).toBeLessThanOrEqual(WINDOW)
    expect(handle.core.memory.used).toBeLessThanOrEqual(WINDOW * 100)
    expect((await ch.checkQueue('long')).messageCount).toBe(n)

    const consumer = await connection.createChannel()
    const { ids, redelivered } = await consumeAll(consumer, 'long', n)
    expect(ids).toEqual(range(n))
    expect(redelivered.some(Boolean)).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(queue.messageCount).toBe(0)
    expect(handle.core.store.countMessages(queue.ref)).toBe(0)
  }, 300_000)

  it('basic.get and the HTTP browse cross the boundary; requeued messages keep their place', async () => {
    const handle = await broker(dataDir(), 0)
    cleanups.push(() => handle.close())
    const connection = await connect(handle)
    const ch = await connection.createConfirmChannel()
    await ch.assertQueue('g', { durable: true })
    await publishAll(ch, 'g', 1000)
    const queue = handle.core.vhosts.get('/')!.queues.get('g')!
    expect(queue.paging!.paged.count).toBe(800)

    const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` }
    const browse = async (offset: number, limit: number) => {
      const response = await fetch(`http://127.0.0.1:${handle.httpPort}/api/queues/%2F/g/messages?offset=${offset}&limit=${limit}`, { headers: auth })
      expect(response.status).toBe(200)
      return (await response.json()) as { total: number; messages: Array<{ position: number; properties: { message_id: string }; redelivered: boolean }> }
    }
    const page = await browse(150, 100)
    expect(page.total).toBe(1000)
    expect(page.messages.map((m) => [m.position, Number(m.properties.message_id)])).toEqual(range(100).map((i) => [150 + i, 150 + i]))
    expect((await browse(950, 100)).messages.map((m) => Number(m.properties.message_id))).toEqual(range(50).map((i) => 950 + i))
    // browsing changed nothing
    expect(queue.messageCount).toBe(1000)
    expect(queue.paging!.paged.count).toBe(800)

    const getter = await connection.createChannel()
    const held: amqp.GetMessage[] = []
    for (let i = 0; i < 350; i++) {
      const msg = await getter.get('g', { noAck: false })
      if (!msg) throw new Error(`basic.get ${i} came back empty`)
      expect(Number(msg.properties.messageId)).toBe(i)
      expect(msg.fields.messageCount).toBe(1000 - i - 1)
      held.push(msg)
    }
    // give back 100..349 (read back from the store), ack the rest
    for (const msg of held.slice(0, 100)) getter.ack(msg)
    for (const msg of held.slice(100).reverse()) getter.nack(msg, false, true)
    const again: Array<[number, boolean]> = []
    for (let msg = await getter.get('g', { noAck: true }); msg; msg = await getter.get('g', { noAck: true })) again.push([Number(msg.properties.messageId), msg.fields.redelivered])
    expect(again.map(([id]) => id)).toEqual(range(900).map((i) => 100 + i))
    expect(again.map(([, r]) => r)).toEqual(range(900).map((i) => i < 250))
  }, 120_000)

  it('restarts with a long queue reading only one window, then delivers everything in order', async () => {
    const dir = dataDir()
    let handle = await broker(dir)
    let connection = await connect(handle)
    const ch = await connection.createConfirmChannel()
    await ch.assertQueue('r', { durable: true })
    const n = 5000
    await publishAll(ch, 'r', n, 500)
    await connection.close().catch(() => {})
    await handle.close()

    handle = await broker(dir)
    cleanups.push(() => handle.close())
    const queue = handle.core.vhosts.get('/')!.queues.get('r')!
    // timing-free evidence: the recovered queue holds one window of bodies, the rest is counted
    expect(queue.messageCount).toBe(n)
    expect(queue.paging!.inMemory).toBe(WINDOW)
    expect(queue.paging!.paged.count).toBe(n - WINDOW)
    expect(handle.core.memory.used).toBe(WINDOW * 500)
    expect(queue.messageBytes).toBe(n * 500)
    connection = await connect(handle)
    expect((await (await connection.createChannel()).checkQueue('r')).messageCount).toBe(n)
    const { ids, redelivered } = await consumeAll(await connection.createChannel(), 'r', n)
    expect(ids).toEqual(range(n))
    expect(redelivered.some(Boolean)).toBe(false)
  }, 120_000)

  it('after kill -9 with a queue longer than the default window, every message comes back in order, redelivered', async () => {
    const dir = dataDir()
    let proc = await spawnBrokerProcess(dir)
    cleanups.push(() => proc.kill9())
    let connection = await amqp.connect(proc.url)
    connection.on('error', () => {})
    const ch = await connection.createConfirmChannel()
    await ch.assertQueue('k', { durable: true })
    const n = 12_000 // the default window is 4096 messages
    await publishAll(ch, 'k', n)
    await proc.kill9()
    proc = await spawnBrokerProcess(dir)
    connection = await amqp.connect(proc.url)
    connection.on('error', () => {})
    cleanups.push(() => connection.close().catch(() => {}))
    const consumer = await connection.createChannel()
    expect((await consumer.checkQueue('k')).messageCount).toBe(n)
    const { ids, redelivered } = await consumeAll(consumer, 'k', n)
    expect(ids).toEqual(range(n))
    // a crash: every recovered message may have been delivered before, so all carry the flag (as before paging)
    expect(redelivered.every(Boolean)).toBe(true)
  }, 180_000)
})
