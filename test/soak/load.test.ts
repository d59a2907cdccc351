// Load: many connections and channels, many queues, and a consumer that stops reading its socket. The broker runs
// as its own process (the CLI), so its memory is measured apart from the test's clients (VmRSS from /proc).
// - connections x 10 channels: every channel opens, declares its own queue, publishes to it and gets the message
//   back; the management API counts them all and lists every queue (paged and whole); another client is served
//   meanwhile. 100 connections (1,000 queues) in `npm test`, 1,000 connections (10,000 queues) in the soak run.
// - a stalled consumer (no-ack, socket never read) and a publisher offering far more than the memory high watermark:
//   the publisher gets connection.blocked, the broker's RSS stays bounded, another client still consumes and the
//   management API answers; once the stalled consumer goes away the publisher is unblocked.
import { readFileSync, rmSync } from 'node:fs'
import amqp from 'amqplib'
import { afterAll, describe, expect, it } from 'vitest'
import { methodFrame } from '../../broker/protocol'
import { external, makeTempDir, sleep, spawnBrokerProcess, waitFor, type BrokerProcess } from '../helpers/broker'
import { RawClient } from '../helpers/raw'
import { scale } from './config'

const CONNECTIONS = scale(100, 1000)
const CHANNELS = 10
const MiB = 1024 * 1024

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024
}

function httpPortOf(proc: BrokerProcess): number {
  const m = /Management HTTP API on http:\/\/127\.0\.0\.1:(\d+)/.exec(proc.output())
  if (!m) throw new Error(`no HTTP port in the broker's output:\n${proc.output()}`)
  return Number(m[1])
}

async function api<T = unknown>(port: number, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** An amqplib round trip on a fresh connection; returns how long it took. */
async function roundTrip(url: string): Promise<number> {
  const started = Date.now()
  const conn = await amqp.connect(url)
  try {
    const ch = await conn.createChannel()
    const { queue } = await ch.assertQueue('', { exclusive: true })
    ch.sendToQueue(queue, Buffer.from('ping'))
    for (;;) {
      const m = await ch.get(queue, { noAck: true })
      if (m) break
    }
  } finally {
    await conn.close()
  }
  return Date.now() - started
}

/** queue.declare, basic.publish (header + body) and basic.get for one channel, pipelined. */
function channelWork(ch: number, queue: string): Buffer {
  const body = Buffer.from(`hello ${queue}`)
  const header = Buffer.alloc(14)
  header.writeUInt16BE(60, 0)
  header.writeBigUInt64BE(BigInt(body.length), 4)
  header.writeUInt16BE(0, 12)
  const frame = (type: number, payload: Buffer) => {
    const out = Buffer.alloc(payload.length + 8)
    out[0] = type
    out.writeUInt16BE(ch, 1)
    out.writeUInt32BE(payload.length, 3)
    payload.copy(out, 7)
    out[out.length - 1] = 0xce
    return out
  }
  return Buffer.concat([
    methodFrame(ch, 'channel.open', {}),
    methodFrame(ch, 'queue.declare', { queue, passive: false, durable: false, exclusive: false, autoDelete: false, noWait: false, arguments: {} }),
    methodFrame(ch, 'basic.publish', { exchange: '', routingKey: queue, mandatory: false, immediate: false }),
    frame(2, header),
    frame(3, body),
    methodFrame(ch, 'basic.get', { queue, noAck: true }),
  ])
}

describe.skipIf(external)('load', () => {
  const procs: BrokerProcess[] = []
  const dirs: string[] = []
  afterAll(async () => {
    for (const proc of procs) await proc.kill9()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it(`${CONNECTIONS} connections x ${CHANNELS} channels, ${CONNECTIONS * CHANNELS} queues: all served, counted and listed; others unaffected`, async () => {
    const dir = makeTempDir('warren-load-')
    dirs.push(dir)
    const proc = await spawnBrokerProcess(dir, ['--http-port', '0', '--heartbeat', '0'])
    procs.push(proc)
    const http = httpPortOf(proc)
    const rssBefore = rssBytes(proc.child.pid!)
    const clients: RawClient[] = []
    const started = Date.now()
    try {
      // connect in waves, so the listen backlog is not the thing under test
      for (let wave = 0; wave < CONNECTIONS; wave += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, CONNECTIONS - wave) }, async (_, k) => {
            const n = wave + k
            const client = await RawClient.connect(proc.port)
            client.socket.setNoDelay(true)
            clients.push(client)
            await client.handshake({ heartbeat: 0 })
            let work = Buffer.alloc(0)
            for (let ch = 1; ch <= CHANNELS; ch++) work = Buffer.concat([work, channelWork(ch, `load-q-${n}-${ch}`)])
            client.write(work)
            // per channel: open-ok, declare-ok, get-ok (+ header + body)
            const gotBodies = new Set<number>()
            for (let seen = 0; gotBodies.size < CHANNELS; seen++) {
              const frame = await client.nextFrame(60_000)
              if (!frame) throw new Error(`connection ${n} closed by the broker`)
              if (frame.type === 1 && (frame.classId === 10 || frame.classId === 20) && (frame.methodId === 50 || frame.methodId === 40)) throw new Error(`connection ${n}: close on channel ${frame.channel}`)
              if (frame.type === 3) gotBodies.add(frame.channel)
              if (frame.type === 1 && frame.classId === 60 && frame.methodId === 72) throw new Error(`connection ${n} channel ${frame.channel}: get-empty`)
            }
          }),
        )
      }
      const setupMs = Date.now() - started

      // all of them at once, and others still served
      const overview = await api<{ object_totals: { connections: number; channels: number; queues: number } }>(http, '/api/overview')
      expect(overview.object_totals.connections).toBeGreaterThanOrEqual(CONNECTIONS)
      expect(overview.object_totals.channels).toBeGreaterThanOrEqual(CONNECTIONS * CHANNELS)
      expect(overview.object_totals.queues).toBeGreaterThanOrEqual(CONNECTIONS * CHANNELS)
      const page = await api<{ filtered_count: number; items: Array<{ name: string }> }>(http, '/api/queues/%2F?page=1&page_size=500&name=load-q-&sort=name')
      expect(page.filtered_count).toBe(CONNECTIONS * CHANNELS)
      expect(page.items).toHaveLength(Math.min(500, CONNECTIONS * CHANNELS))
      const listStarted = Date.now()
      const all = await api<Array<{ name: string }>>(http, '/api/queues')
      const listMs = Date.now() - listStarted
      expect(all.filter((q) => q.name.startsWith('load-q-')).length).toBe(CONNECTIONS * CHANNELS)
      const connections = await api<unknown[]>(http, '/api/connections')
      expect(connections.length).toBeGreaterThanOrEqual(CONNECTIONS)
      const rtt = await roundTrip(proc.url)
      expect(rtt).toBeLessThan(5_000)
      const rss = rssBytes(proc.child.pid!)
      console.log(
        `[load] ${CONNECTIONS} connections x ${CHANNELS} channels, ${CONNECTIONS * CHANNELS} queues: set up in ${setupMs} ms; ` +
          `GET /api/queues (${all.length}) in ${listMs} ms; another client's round trip ${rtt} ms; broker RSS ${(rssBefore / MiB).toFixed(0)} -> ${(rss / MiB).toFixed(0)} MiB`,
      )
      // connections that close politely (connection.close / close-ok) are forgotten too, not only dropped sockets
      for (let i = 0; i < 20; i++) await roundTrip(proc.url)
    } finally {
      for (const client of clients) client.destroy()
    }
    // the broker notices them all go
    const http2 = httpPortOf(proc)
    await waitFor(async () => (await api<{ object_totals: { connections: number } }>(http2, "/api/overview")).object_totals.connections === 0, 30_000, 200)
  }, scale(120_000, 20 * 60_000))

  it('a stalled consumer and a publisher far past the memory high watermark: connection.blocked, bounded RSS, others unaffected', async () => {
    const watermark = 32 * MiB
    const offered = scale(256, 1024) * MiB
    const dir = makeTempDir('warren-stall-')
    dirs.push(dir)
    const proc = await spawnBrokerProcess(dir, ['--http-port', '0', '--memory-high-watermark', String(watermark)])
    procs.push(proc)
    const http = httpPortOf(proc)
    const pid = proc.child.pid!

    const setup = await amqp.connect(proc.url)
    const sch = await setup.createChannel()
    await sch.assertQueue('stalled', { durable: false })
    await sch.assertQueue('other', { durable: false })
    for (let i = 0; i < 100; i++) sch.sendToQueue('other', Buffer.from(`other ${i}`))
    await sch.checkQueue('other')
    await setup.close()
    const rssBaseline = rssBytes(pid)

    // the stalled consumer: subscribes with no-ack, then never reads its socket again
    const stalled = await RawClient.connect(proc.port)
    await stalled.handshake({ heartbeat: 0 })
    await stalled.openChannel(1)
    stalled.write(methodFrame(1, 'basic.consume', { queue: 'stalled', consumerTag: 'stalled', noLocal: false, noAck: true, exclusive: false, noWait: false, arguments: {} }))
    await stalled.expectMethod(60, 21)
    stalled.socket.pause()

    // the publisher offers far more than the watermark, honouring amqplib's write buffer
    const publisher = await amqp.connect(proc.url)
    publisher.on('error', () => {})
    const events: string[] = []
    publisher.on('blocked', (reason: string) => events.push(`blocked:${reason}`))
    publisher.on('unblocked', () => events.push('unblocked'))
    const pch = await publisher.createChannel()
    const body = Buffer.alloc(64 * 1024, 7)
    let sent = 0
    let peakRss = 0
    const publishing = (async () => {
      while (sent < offered) {
        const ok = pch.sendToQueue('stalled', body)
        sent += body.length
        if (!ok) await Promise.race([new Promise((resolve) => pch.once('drain', resolve)), sleep(200)])
      }
    })()
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 50)
    try {
      await waitFor(() => events.some((e) => e.startsWith('blocked:')), 30_000)
      expect(events[0]).toBe('blocked:low on memory')
      // keep offering for a while: the broker does not read the publisher any more
      await sleep(scale(2000, 10_000))

      // others are unaffected: a consumer on another queue gets its 100 messages, the API answers
      const consumer = await amqp.connect(proc.url)
      const cch = await consumer.createChannel()
      let received = 0
      const started = Date.now()
      await cch.consume('other', () => received++, { noAck: true })
      await waitFor(() => received === 100, 10_000)
      const consumeMs = Date.now() - started
      const overview = await api<{ object_totals: { connections: number } }>(http, '/api/overview')
      expect(overview.object_totals.connections).toBeGreaterThanOrEqual(3)
      await consumer.close()

      peakRss = Math.max(peakRss, rssBytes(pid))
      console.log(
        `[load] stalled consumer: offered up to ${(offered / MiB).toFixed(0)} MiB, sent into the socket ${(sent / MiB).toFixed(0)} MiB; watermark ${(watermark / MiB).toFixed(0)} MiB; ` +
          `broker RSS ${(rssBaseline / MiB).toFixed(0)} MiB before, peak ${(peakRss / MiB).toFixed(0)} MiB; other consumer got 100 messages in ${consumeMs} ms`,
      )
      // bounded: the watermark, the stalled socket's buffers (16 MiB + the kernel's) and slack, nowhere near what was offered
      expect(peakRss - rssBaseline).toBeLessThan(watermark + 160 * MiB)
      expect(sent).toBeGreaterThan(watermark)

      // the stalled consumer goes away: its queue is no longer growing, consumers drain it, the publisher is unblocked
      stalled.destroy()
      const drainer = await amqp.connect(proc.url)
      const dch = await drainer.createChannel()
      await dch.consume('stalled', () => {}, { noAck: true })
      await waitFor(() => events.includes('unblocked'), 30_000)
      await drainer.close()
    } finally {
      clearInterval(sampler)
      sent = offered // ends the publishing loop
      await publishing.catch(() => {})
      // a blocked connection is not read, so its close handshake may never be answered: do not wait for it
      await Promise.race([publisher.close().catch(() => {}), sleep(2000)])
    }
  }, scale(120_000, 10 * 60_000))
})
