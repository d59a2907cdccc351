// Delayed delivery: the x-delayed-message exchange type of the rabbitmq-delayed-message-exchange plugin, with amqplib,
// plus the core API (list/cancel/reschedule/deliverNow) the management API and the console use.
// Runs against the embedded broker only (a plain RabbitMQ 3.10 has no such exchange type without the plugin).
import { rmSync } from 'node:fs'
import type { ConsumeMessage } from 'amqplib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { makeTempDir, sleep, uniq, waitFor } from '../helpers/broker'
import { channel, closeAllConnections, collect, confirmChannel, connect, expectClose, expectConnectionClose, type Conn } from '../helpers/amqp'

const DELAYED = { arguments: { 'x-delayed-type': 'direct' }, durable: true, autoDelete: false }

let broker: BrokerHandle
const url = () => `amqp://guest:guest@127.0.0.1:${broker.port}`
const vhost = () => broker.core.vhosts.get('/')!

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1' })
})
afterEach(async () => {
  await closeAllConnections()
})
afterAll(async () => {
  await broker?.close()
})

/** A delayed exchange of `type` with one exclusive queue bound with `key`; a consumer recording arrival times. */
async function setup(conn: Conn, key = 'k', type = 'direct') {
  const ch = await confirmChannel(conn)
  const x = uniq('dx')
  await ch.assertExchange(x, 'x-delayed-message', { ...DELAYED, arguments: { 'x-delayed-type': type } })
  const { queue } = await ch.assertQueue('', { exclusive: true })
  await ch.bindQueue(queue, x, key)
  const arrivals = new Map<string, number>()
  const consumer = await collect(ch, queue, { noAck: true })
  const rec = (m: ConsumeMessage) => arrivals.set(m.content.toString(), Date.now())
  const origPush = consumer.msgs.push.bind(consumer.msgs)
  consumer.msgs.push = (...ms: ConsumeMessage[]) => {
    for (const m of ms) rec(m)
    return origPush(...ms)
  }
  return { ch, x, queue, consumer, arrivals }
}

describe('x-delayed-message exchange over AMQP', () => {
  it('holds a message for its x-delay, then routes it; without x-delay routes at once', async () => {
    const conn = await connect(url())
    const { ch, x, consumer, arrivals } = await setup(conn)
    const sent = Date.now()
    ch.publish(x, 'k', Buffer.from('later'), { headers: { 'x-delay': 200 } })
    ch.publish(x, 'k', Buffer.from('now'))
    ch.publish(x, 'k', Buffer.from('negative'), { headers: { 'x-delay': -50 } })
    await ch.waitForConfirms()
    await consumer.waitFor(2)
    expect(consumer.msgs.map((m) => m.content.toString())).toEqual(['now', 'negative'])
    await sleep(120)
    expect(consumer.msgs).toHaveLength(2) // not before ~200 ms
    const all = await consumer.waitFor(3, 2000)
    const later = all[2]
    expect(later.content.toString()).toBe('later')
    expect(arrivals.get('later')! - sent).toBeGreaterThanOrEqual(195)
    expect(arrivals.get('later')! - sent).toBeLessThan(1000)
    // the plugin negates x-delay on delivery
    expect(later.properties.headers?.['x-delay']).toBe(-200)
    expect(later.fields.exchange).toBe(x)
    expect(later.fields.routingKey).toBe('k')
  })

  it('holds a message that reaches the delayed exchange through an exchange-to-exchange binding', async () => {
    const conn = await connect(url())
    const { ch, x, consumer, arrivals } = await setup(conn)
    const front = uniq('front')
    await ch.assertExchange(front, 'fanout', { autoDelete: false })
    await ch.bindExchange(x, front, '')
    const sent = Date.now()
    ch.publish(front, 'k', Buffer.from('via-e2e'), { headers: { 'x-delay': 250 } })
    await ch.waitForConfirms()
    await sleep(150)
    expect(consumer.msgs).toHaveLength(0) // held by the delayed exchange, not routed through it at once
    await consumer.waitFor(1, 2000)
    expect(arrivals.get('via-e2e')! - sent).toBeGreaterThanOrEqual(245)
    await ch.deleteExchange(front)
  })

  it('holds a dead-lettered message whose dead-letter exchange is a delayed one', async () => {
    const conn = await connect(url())
    const { ch, x, consumer, arrivals } = await setup(conn)
    const source = uniq('retry-source')
    await ch.assertQueue(source, { exclusive: true, arguments: { 'x-dead-letter-exchange': x, 'x-dead-letter-routing-key': 'k' } })
    ch.sendToQueue(source, Buffer.from('retry-me'), { headers: { 'x-delay': 250 } })
    await ch.waitForConfirms()
    const message = await waitFor(async () => (await ch.get(source)) || undefined, 2000)
    const rejected = Date.now()
    ch.nack(message!, false, false) // dead-letters it to the delayed exchange: a delayed retry
    await sleep(150)
    expect(consumer.msgs).toHaveLength(0)
    const [letter] = await consumer.waitFor(1, 2000)
    expect(arrivals.get('retry-me')! - rejected).toBeGreaterThanOrEqual(245)
    expect((letter.properties.headers?.['x-death'] as Array<{ reason: string }>)[0].reason).toBe('rejected')
  })

  it('delivers in due-time order, not publish order', async () => {
    const conn = await connect(url())
    const { ch, x, consumer } = await setup(conn)
    for (const [body, delay] of [['c', 300], ['a', 100], ['b', 200], ['a2', 100]] as const) {
      ch.publish(x, 'k', Buffer.from(body), { headers: { 'x-delay': delay } })
    }
    await ch.waitForConfirms()
    const msgs = await consumer.waitFor(4, 3000)
    expect(msgs.map((m) => m.content.toString())).toEqual(['a', 'a2', 'b', 'c'])
  })

  it('routes with the x-delayed-type at delivery time (topic patterns, bindings as they are then)', async () => {
    const conn = await connect(url())
    const { ch, x, queue, consumer } = await setup(conn, 'orders.*', 'topic')
    ch.publish(x, 'orders.eu', Buffer.from('match'), { headers: { 'x-delay': 100 } })
    ch.publish(x, 'orders.eu.x', Buffer.from('no match'), { headers: { 'x-delay': 100 } })
    ch.publish(x, 'late.binding', Buffer.from('bound later'), { headers: { 'x-delay': 150 } })
    await ch.waitForConfirms()
    await ch.bindQueue(queue, x, 'late.#') // bound after publishing, before the message is due
    const msgs = await consumer.waitFor(2, 2000)
    await sleep(100)
    expect(msgs.map((m) => m.content.toString()).sort()).toEqual(['bound later', 'match'])
  })

  it('confirms once scheduled; mandatory gets basic.return at once, as with the plugin, and is still delivered', async () => {
    const conn = await connect(url())
    const { ch, x, consumer } = await setup(conn)
    const returned: string[] = []
    ch.on('return', (m: ConsumeMessage) => returned.push(m.content.toString()))
    const confirmed = await new Promise<boolean>((resolve) =>
      ch.publish(x, 'k', Buffer.from('m'), { headers: { 'x-delay': 100 }, mandatory: true, persistent: true }, (err) => resolve(!err)),
    )
    expect(confirmed).toBe(true)
    expect(consumer.msgs).toHaveLength(0)
    await waitFor(() => returned.length === 1, 1000)
    expect(returned).toEqual(['m'])
    await consumer.waitFor(1, 2000)
  })

  it('refuses a delayed exchange without x-delayed-type (406) or with an unknown one (503)', async () => {
    const conn = await connect(url())
    const ch = await channel(conn)
    const info = await expectClose(ch.assertExchange(uniq('dx'), 'x-delayed-message', { durable: false }))
    expect(info.code).toBe(406)
    expect(info.message).toContain("PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type")
    const conn2 = await connect(url())
    const ch2 = await channel(conn2)
    const info2 = await expectConnectionClose(conn2, ch2.assertExchange(uniq('dx'), 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'nope' } }))
    expect(info2.code).toBe(503)
    expect(info2.message).toContain("unknown exchange type 'nope'")
  })

  it('drops the scheduled messages of a deleted exchange', async () => {
    const conn = await connect(url())
    const { ch, x, consumer } = await setup(conn)
    ch.publish(x, 'k', Buffer.from('gone'), { headers: { 'x-delay': 150 } })
    await ch.waitForConfirms()
    expect(vhost().scheduled(x).count()).toBe(1)
    await ch.deleteExchange(x)
    expect(broker.core.store.countScheduled('/', x)).toBe(0)
    await ch.assertExchange(x, 'x-delayed-message', DELAYED)
    await sleep(300)
    expect(consumer.msgs).toHaveLength(0)
  })
})

describe('core API: vhost.scheduled(exchange)', () => {
  it('lists in due order with paging, cancels, reschedules and delivers now', async () => {
    const conn = await connect(url())
    const { ch, x, consumer } = await setup(conn)
    const delays = [60_000, 30_000, 90_000, 45_000, 120_000]
    delays.forEach((delay, i) => ch.publish(x, 'k', Buffer.from(`m${i}`), { headers: { 'x-delay': delay }, contentType: 'text/plain' }))
    await ch.waitForConfirms()
    const view = vhost().scheduled(x)
    expect(view.count()).toBe(5)
    const first = view.list({ limit: 2 })
    expect(first.total).toBe(5)
    expect(first.items.map((m) => m.routingKey)).toEqual(['k', 'k'])
    expect(first.items[0].properties.contentType).toBe('text/plain')
    expect(first.items[0].bodySize).toBe(2)
    const second = view.list({ limit: 2, after: first.next })
    const third = view.list({ limit: 2, after: second.next })
    expect(third.next).toBeUndefined()
    const order = [...first.items, ...second.items, ...third.items]
    const bodies = order.map((m) => view.get(m.id)!.body.toString())
    expect(bodies).toEqual(['m1', 'm3', 'm0', 'm2', 'm4'])
    for (let i = 1; i < order.length; i++) expect(order[i].dueAt).toBeGreaterThanOrEqual(order[i - 1].dueAt)

    const [m1, m3, m0, m2, m4] = order.map((m) => m.id)
    expect(view.cancel(m1)).toBe(true)
    expect(view.cancel(m1)).toBe(false)
    expect(view.deliverNow(m0)).toBe(true)
    expect(bodiesOf(await consumer.waitFor(1))).toEqual(['m0'])
    expect(view.reschedule(m4, Date.now() + 100)).toBe(true)
    expect(view.list().items.map((m) => m.id)).toEqual([m4, m3, m2])
    expect(bodiesOf(await consumer.waitFor(2, 2000))).toEqual(['m0', 'm4'])
    expect(consumer.msgs[1].properties.headers?.['x-delay']).toBe(-120_000)
    expect(view.count()).toBe(2)
    expect(view.get(m3)?.dueAt).toBeGreaterThan(Date.now())
    expect(view.rescheduleIn(m2, 20_000)).toBe(true)
    expect(view.list().items.map((m) => m.id)).toEqual([m2, m3])
    expect(view.purge()).toBe(2)
    expect(view.count()).toBe(0)
    expect(view.cancel(99_999_999)).toBe(false)
    expect(() => vhost().scheduled('amq.direct')).toThrow(/not of type 'x-delayed-message'/)
    expect(() => vhost().scheduled('missing')).toThrow(/NOT_FOUND/)
  })
})

function bodiesOf(msgs: ConsumeMessage[]): string[] {
  return msgs.map((m) => m.content.toString())
}

describe('restarts', () => {
  it('keeps scheduled messages; those due during downtime go out right after start', async () => {
    const dataDir = makeTempDir()
    let persistent = await startBroker({ port: 0, host: '127.0.0.1', dataDir })
    try {
      let conn = await connect(`amqp://guest:guest@127.0.0.1:${persistent.port}`)
      let ch = await confirmChannel(conn)
      const x = 'delayed.restart'
      await ch.assertExchange(x, 'x-delayed-message', DELAYED)
      await ch.assertQueue('delayed.restart.q', { durable: true })
      await ch.bindQueue('delayed.restart.q', x, 'k')
      const transient = 'delayed.transient'
      await ch.assertExchange(transient, 'x-delayed-message', { ...DELAYED, durable: false })
      ch.publish(x, 'k', Buffer.from('due in downtime'), { headers: { 'x-delay': 300 }, persistent: true })
      ch.publish(x, 'k', Buffer.from('due after restart'), { headers: { 'x-delay': 2500 }, persistent: true })
      ch.publish(x, 'k', Buffer.from('not persistent, still kept'), { headers: { 'x-delay': 400 } })
      ch.publish(transient, 'k', Buffer.from('transient exchange'), { headers: { 'x-delay': 400 } })
      await ch.waitForConfirms()
      expect(persistent.core.store.countScheduled('/', transient)).toBe(1)
      await persistent.close()
      await sleep(600) // the first falls due while the broker is down
      const restartedAt = Date.now()
      persistent = await startBroker({ port: 0, host: '127.0.0.1', dataDir })
      expect(persistent.core.store.countScheduled('/', transient)).toBe(0) // its exchange did not survive
      conn = await connect(`amqp://guest:guest@127.0.0.1:${persistent.port}`)
      ch = await confirmChannel(conn)
      const got = await collect(ch, 'delayed.restart.q', { noAck: true })
      await got.waitFor(2, 2000)
      expect(Date.now() - restartedAt).toBeLessThan(1500)
      expect(bodiesOf(got.msgs).sort()).toEqual(['due in downtime', 'not persistent, still kept'])
      expect(persistent.core.vhosts.get('/')!.scheduled(x).count()).toBe(1)
      await got.waitFor(3, 4000)
      expect(bodiesOf(got.msgs)[2]).toBe('due after restart')
      expect(got.msgs[2].properties.headers?.['x-delay']).toBe(-2500)
    } finally {
      await closeAllConnections()
      await persistent.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
