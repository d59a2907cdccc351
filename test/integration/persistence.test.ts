// Persistence of the embedded broker across restarts and kill -9. Skipped against an external
// broker (WARREN_TEST_AMQP_URL): it needs restart/kill control.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { external, makeTempDir, spawnBrokerProcess, startTestBroker, uniq, type BrokerProcess, type TestBroker } from '../helpers/broker'
import { channel, closeAllConnections, collect, confirmChannel, connect, connectWithChannel, expectClose } from '../helpers/amqp'
import type { Channel } from 'amqplib'

async function getAll(ch: Channel, q: string) {
  const out: Array<{ body: string; redelivered: boolean; persistent: boolean }> = []
  for (;;) {
    const m = await ch.get(q, { noAck: true })
    if (!m) return out
    out.push({ body: m.content.toString(), redelivered: m.fields.redelivered, persistent: m.properties.deliveryMode === 2 })
  }
}

describe.skipIf(external)('persistence across restart (embedded broker)', () => {
  let broker: TestBroker
  beforeAll(async () => {
    broker = await startTestBroker({ persistent: true })
  })
  afterEach(async () => {
    await closeAllConnections()
  })
  afterAll(async () => {
    await broker?.close()
  })

  it('durable exchanges, queues and bindings survive; transient ones do not', async () => {
    const { ch } = await connectWithChannel(broker.url)
    const dx = uniq('dx')
    const tx = uniq('tx')
    const dq = uniq('dq')
    const tq = uniq('tq')
    await ch.assertExchange(dx, 'topic', { durable: true })
    await ch.assertExchange(tx, 'topic', { durable: false })
    await ch.assertQueue(dq, { durable: true, arguments: { 'x-max-priority': 3 } })
    await ch.assertQueue(tq, { durable: false })
    await ch.bindQueue(dq, dx, 'a.#')
    await ch.bindQueue(dq, 'amq.direct', 'k1')
    await closeAllConnections()
    await broker.restart!()
    const conn = await connect(broker.url)
    const c1 = await channel(conn)
    await c1.checkExchange(dx)
    expect(await c1.checkQueue(dq)).toMatchObject({ queue: dq, messageCount: 0, consumerCount: 0 })
    // same arguments are still there: redeclaring with different ones fails
    const c2 = await channel(conn)
    expect((await expectClose(c2.assertQueue(dq, { durable: true }))).code).toBe(406)
    const c3 = await channel(conn)
    expect((await expectClose(c3.checkExchange(tx))).code).toBe(404)
    const c4 = await channel(conn)
    expect((await expectClose(c4.checkQueue(tq))).code).toBe(404)
    // bindings route
    const cc = await confirmChannel(conn)
    cc.publish(dx, 'a.b.c', Buffer.from('via-topic'))
    cc.publish('amq.direct', 'k1', Buffer.from('via-direct'))
    await cc.waitForConfirms()
    expect((await getAll(cc, dq)).map((m) => m.body)).toEqual(['via-topic', 'via-direct'])
  })

  it('persistent messages in durable queues survive in order; transient messages do not', async () => {
    const conn = await connect(broker.url)
    const ch = await confirmChannel(conn)
    const dq = uniq('dq')
    await ch.assertQueue(dq, { durable: true })
    for (let i = 0; i < 50; i++) ch.sendToQueue(dq, Buffer.from(`p${i}`), { persistent: i % 2 === 0 })
    await ch.waitForConfirms()
    // one consumed-but-unacked message is still persistent state
    const m = await ch.get(dq)
    expect(m && m.content.toString()).toBe('p0')
    await closeAllConnections()
    await broker.restart!()
    const { ch: ch2 } = await connectWithChannel(broker.url)
    const got = await getAll(ch2, dq)
    expect(got.map((x) => x.body)).toEqual(Array.from({ length: 25 }, (_, i) => `p${i * 2}`))
    expect(got.every((x) => x.persistent)).toBe(true)
    await ch2.deleteQueue(dq)
  })

  it('deleted durable entities stay deleted after restart', async () => {
    const { ch } = await connectWithChannel(broker.url)
    const dq = uniq('dq')
    const dx = uniq('dx')
    await ch.assertQueue(dq, { durable: true })
    await ch.assertExchange(dx, 'fanout', { durable: true })
    await ch.deleteQueue(dq)
    await ch.deleteExchange(dx)
    await closeAllConnections()
    await broker.restart!()
    const conn = await connect(broker.url)
    expect((await expectClose((await channel(conn)).checkQueue(dq))).code).toBe(404)
    expect((await expectClose((await channel(conn)).checkExchange(dx))).code).toBe(404)
  })
})

describe.skipIf(external)('kill -9 under confirmed publishing (CLI process)', () => {
  let proc: BrokerProcess | undefined
  const dataDir = makeTempDir()
  afterAll(async () => {
    await closeAllConnections()
    await proc?.kill9()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('every confirmed message is there after restart, in order, redelivered=true', async () => {
    proc = await spawnBrokerProcess(dataDir)
    const conn = await connect(proc.url)
    const ch = await confirmChannel(conn)
    const q = 'killq'
    await ch.assertQueue(q, { durable: true })
    const confirmed: number[] = []
    let i = 0
    let stop = false
    const publisher = (async () => {
      while (!stop) {
        const n = i++
        try {
          ch.sendToQueue(q, Buffer.from(String(n)), { persistent: true }, (err) => {
            if (!err) confirmed.push(n)
          })
        } catch {
          return // the broker was killed: amqplib refuses to publish on the closed channel
        }
        if (n % 50 === 0) await new Promise((r) => setImmediate(r))
      }
    })()
    await new Promise((r) => setTimeout(r, 1500))
    await proc.kill9()
    stop = true
    await publisher
    await closeAllConnections()
    expect(confirmed.length).toBeGreaterThan(0)
    proc = await spawnBrokerProcess(dataDir)
    const { ch: ch2 } = await connectWithChannel(proc.url)
    // tens of thousands may be there: consume them (one basic.get each would take most of a minute)
    const { messageCount } = await ch2.checkQueue(q)
    const consumer = await collect(ch2, q, { noAck: true })
    const got = (await consumer.waitFor(messageCount, 20_000)).map((m) => ({ body: m.content.toString(), redelivered: m.fields.redelivered }))
    const bodies = got.map((m) => Number(m.body))
    // in order, no duplicates, every confirmed one present
    for (let k = 1; k < bodies.length; k++) expect(bodies[k]).toBeGreaterThan(bodies[k - 1]!)
    const have = new Set(bodies)
    const missing = confirmed.filter((n) => !have.has(n))
    expect(missing).toEqual([])
    // RabbitMQ marks messages recovered from disk after an unclean stop as redelivered
    expect(got.every((m) => m.redelivered)).toBe(true)
  }, 60_000)

  it('SIGTERM closes clients with 320 CONNECTION_FORCED and the process exits', async () => {
    const p = await spawnBrokerProcess(makeTempDir())
    const conn = await connect(p.url)
    const closedP = new Promise<{ code?: number; message?: string }>((res) => conn.once('close', (e?: { code?: number; message?: string }) => res(e ?? {})))
    const errP = new Promise<{ code?: number; message?: string }>((res) => conn.once('error', (e: { code?: number; message?: string }) => res(e)))
    const exit = await p.terminate()
    const err = await Promise.race([errP, closedP])
    expect(err.code).toBe(320)
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true)
  }, 30_000)
})
