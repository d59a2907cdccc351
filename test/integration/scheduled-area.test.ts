// The console's scheduled area against the embedded broker (in-process, with its HTTP API): the Warren mechanism
// (list, cancel, reschedule, deliver now, timeline, unrouted, route warning) and the TTL + dead-letter mechanism
// (which the embedded broker supports as RabbitMQ does), and the read-only refusal.
import { randomBytes } from 'node:crypto'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { dispatchCommand, type CommandHandlers, type CommandName, type CommandRequest, type CommandResponse, type WarrenError } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'

let broker: BrokerHandle
let service: ConsoleService
let handlers: CommandHandlers
let profiles: ProfileStore
let conn: amqp.ChannelModel
let ch: amqp.ConfirmChannel
const arrivals = new Map<string, number>()

async function cmd<K extends CommandName>(name: K, req: CommandRequest<K>): Promise<CommandResponse<K>> {
  const r = await dispatchCommand(handlers, name, req)
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
  return r.value as CommandResponse<K>
}
async function fails<K extends CommandName>(name: K, req: CommandRequest<K>): Promise<WarrenError> {
  const r = await dispatchCommand(handlers, name, req)
  if (r.ok) throw new Error(`${name} should have failed`)
  return r.error
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out')
    await sleep(20)
  }
}

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0 })
  profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), {
    amqpUrl: `amqp://127.0.0.1:${broker.port}`,
    managementUrl: `http://127.0.0.1:${broker.httpPort}`,
  })
  service = createConsoleService({ profiles, emit: () => {} })
  handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
  ch = await conn.createConfirmChannel()
  await ch.assertExchange('shop', 'direct', { durable: true })
  await ch.assertQueue('orders', { durable: true })
  await ch.bindQueue('orders', 'shop', 'order')
  await ch.consume('orders', (m) => m && arrivals.set(m.content.toString(), Date.now()), { noAck: true })
}, 30_000)

afterAll(async () => {
  await conn?.close().catch(() => {})
  await service?.close()
  await broker?.close()
})

describe('scheduled area on the embedded broker (warren mechanism)', () => {
  it('says what the broker offers', async () => {
    const caps = await cmd('scheduled.capabilities', { vhost: '/' })
    expect(caps.mechanism).toBe('warren')
    expect(caps.mechanisms).toEqual(['warren', 'ttl'])
    expect(caps.sources.map((s) => s.id)).toEqual(['exchange:warren.delay', 'ttl'])
    // before the first message the holder exchange does not exist: an empty list, not an error
    expect((await cmd('scheduled.list', { vhost: '/', source: 'exchange:warren.delay', page: 1, pageSize: 10 })).totalCount).toBe(0)
    expect((await cmd('scheduled.timeline', { vhost: '/', source: 'exchange:warren.delay' })).total).toBe(0)
    expect(await cmd('scheduled.unrouted', { vhost: '/', source: 'exchange:warren.delay' })).toEqual([])
  })

  it('schedules, lists, cancels, reschedules and delivers now; warns about and records an unrouted one', async () => {
    const now = Date.now()
    const base = { vhost: '/', exchange: 'shop', routingKey: 'order', bodyEncoding: 'text' as const }
    const a = await cmd('scheduled.schedule', { ...base, body: 'w-a', delayMs: 60_000 })
    expect(a.routeWarning).toBeUndefined()
    expect(a.source).toBe('exchange:warren.delay')
    await cmd('scheduled.schedule', { ...base, body: 'w-b', dueAt: now + 120_000, properties: { headers: { tenant: 'acme' } } })
    await cmd('scheduled.schedule', { ...base, body: 'w-c', delayMs: 180_000 })
    const lost = await cmd('scheduled.schedule', { ...base, routingKey: 'nowhere', body: 'w-lost', delayMs: 300 })
    expect(lost.routeWarning).toMatch(/no queue/)

    const page = await cmd('scheduled.list', { vhost: '/', source: 'exchange:warren.delay', page: 1, pageSize: 10 })
    // (the 300 ms one may have fallen due already on a busy machine)
    const orders = page.items.filter((i) => i.routingKey === 'order')
    expect(page.totalCount).toBe(page.items.length)
    expect(orders).toHaveLength(3)
    expect(orders[1].exchange).toBe('shop')
    expect(orders[1].properties.headers?.tenant).toBe('acme')
    const [ia, ib, ic] = orders
    expect((await cmd('scheduled.get', { vhost: '/', source: ia.source, id: ia.id })).payloadBase64).toBe(Buffer.from('w-a').toString('base64'))

    await cmd('scheduled.cancel', { vhost: '/', source: ia.source, id: ia.id })
    const soon = Date.now() + 700
    await cmd('scheduled.reschedule', { vhost: '/', source: ib.source, id: ib.id, dueAt: soon })
    await cmd('scheduled.deliverNow', { vhost: '/', source: ic.source, id: ic.id })
    await until(() => arrivals.has('w-c'))
    await until(() => arrivals.has('w-b'))
    expect(arrivals.get('w-b')!).toBeGreaterThanOrEqual(soon - 5)
    expect(arrivals.get('w-b')!).toBeLessThan(soon + 1000)
    expect(arrivals.has('w-a')).toBe(false)

    let unrouted = await cmd('scheduled.unrouted', { vhost: '/', source: 'exchange:warren.delay' })
    for (let i = 0; i < 100 && unrouted.length === 0; i++) {
      await sleep(50)
      unrouted = await cmd('scheduled.unrouted', { vhost: '/', source: 'exchange:warren.delay' })
    }
    expect(unrouted.map((u) => [u.routingKey, u.target, Buffer.from(u.payloadBase64, 'base64').toString()])).toEqual([['nowhere', 'shop', 'w-lost']])
    expect((await cmd('scheduled.list', { vhost: '/', source: 'exchange:warren.delay', page: 1, pageSize: 10 })).totalCount).toBe(0)
  })

  it('draws a timeline of due times', async () => {
    const base = { vhost: '/', exchange: 'shop', routingKey: 'order', bodyEncoding: 'text' as const }
    for (let i = 0; i < 5; i++) await cmd('scheduled.schedule', { ...base, body: `t${i}`, delayMs: 600_000 + i * 60_000 })
    const t = await cmd('scheduled.timeline', { vhost: '/', source: 'exchange:warren.delay', slots: 5 })
    expect(t.total).toBe(5)
    expect(t.counts.reduce((a, b) => a + b, 0)).toBe(5)
    const page = await cmd('scheduled.list', { vhost: '/', source: 'exchange:warren.delay', page: 1, pageSize: 2, sortReverse: true })
    expect(page.items.map((i) => Buffer.from(i.routingKey).length)).toHaveLength(2)
    expect(page.items[0].dueAt).toBeGreaterThan(page.items[1].dueAt)
    for (const i of (await cmd('scheduled.list', { vhost: '/', source: 'exchange:warren.delay', page: 1, pageSize: 10 })).items) await cmd('scheduled.cancel', { vhost: '/', source: i.source, id: i.id })
  })
})

describe('scheduled area, plugin mechanism (x-delayed-message, as with rabbitmq_delayed_message_exchange)', () => {
  it('schedules through the delayed exchange, keeps a log it cannot manage, and the message arrives when due', async () => {
    const dueAt = Date.now() + 800
    const r = await cmd('scheduled.schedule', { vhost: '/', exchange: 'shop', routingKey: 'order', body: 'p-1', bodyEncoding: 'text', dueAt, mechanism: 'plugin' })
    expect(r.source).toBe('plugin-log')
    const caps = await cmd('scheduled.capabilities', { vhost: '/' })
    expect(caps.sources.find((s) => s.id === 'plugin-log')).toMatchObject({ manageable: false, pending: 1 })
    const log = await cmd('scheduled.list', { vhost: '/', source: 'plugin-log', page: 1, pageSize: 10 })
    expect(log.items).toHaveLength(1)
    expect(log.items[0]).toMatchObject({ manageable: false, exchange: 'shop', routingKey: 'order', mechanism: 'plugin' })
    expect(log.notice).toMatch(/cannot list or cancel/)
    expect((await fails('scheduled.cancel', { vhost: '/', source: 'plugin-log', id: r.id })).code).toBe('NOT_SUPPORTED')
    await until(() => arrivals.has('p-1'))
    expect(Math.abs(arrivals.get('p-1')! - dueAt)).toBeLessThan(1000)
    // once past due (and found routable), the log forgets it
    await sleep(4200)
    await cmd('scheduled.list', { vhost: '/', source: 'plugin-log', page: 1, pageSize: 10 })
    await sleep(2100)
    expect((await cmd('scheduled.list', { vhost: '/', source: 'plugin-log', page: 1, pageSize: 10 })).totalCount).toBe(0)
  })
})

describe('scheduled area, TTL + dead-letter mechanism (on the embedded broker)', () => {
  it('schedules into bucket queues, cancels, reschedules and delivers now, each on time', async () => {
    const base = { vhost: '/', exchange: 'shop', routingKey: 'order', bodyEncoding: 'text' as const, mechanism: 'ttl' as const }
    const t0 = Date.now()
    const r1 = await cmd('scheduled.schedule', { ...base, body: 't-1', dueAt: t0 + 1500 })
    const r2 = await cmd('scheduled.schedule', { ...base, body: 't-2', dueAt: t0 + 2500 })
    const r3 = await cmd('scheduled.schedule', { ...base, body: 't-3', dueAt: t0 + 60_000 })
    const r4 = await cmd('scheduled.schedule', { ...base, body: 't-4', dueAt: t0 + 90_000 })
    expect(r1.bucket).toMatch(/^warren\.delay\.ttl\.1000-2000\.shop$/)
    const page = await cmd('scheduled.list', { vhost: '/', source: 'ttl', page: 1, pageSize: 10 })
    expect(page.items.map((i) => i.id)).toEqual([r1.id, r2.id, r3.id, r4.id])
    await cmd('scheduled.cancel', { vhost: '/', source: 'ttl', id: r2.id })
    await cmd('scheduled.deliverNow', { vhost: '/', source: 'ttl', id: r3.id })
    const moved = Date.now() + 1200
    await cmd('scheduled.reschedule', { vhost: '/', source: 'ttl', id: r4.id, dueAt: moved })
    await until(() => arrivals.has('t-3'))
    await until(() => arrivals.has('t-1') && arrivals.has('t-4'))
    expect(Math.abs(arrivals.get('t-1')! - (t0 + 1500))).toBeLessThan(1000)
    expect(Math.abs(arrivals.get('t-4')! - moved)).toBeLessThan(1000)
    await sleep(1500)
    expect(arrivals.has('t-2')).toBe(false)
    const after = await cmd('scheduled.list', { vhost: '/', source: 'ttl', page: 1, pageSize: 10 })
    expect(after.items.map((i) => i.id)).not.toContain(r2.id)
    expect((await fails('scheduled.cancel', { vhost: '/', source: 'ttl', id: r2.id })).code).toBe('NOT_FOUND')
  })

  it('refuses changes on a read-only profile', async () => {
    const p = profiles.add({ name: 'ro', amqpUrl: `amqp://127.0.0.1:${broker.port}`, managementUrl: `http://127.0.0.1:${broker.httpPort}`, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: true })
    await cmd('profiles.activate', { id: p.id })
    try {
      const e = await fails('scheduled.schedule', { vhost: '/', exchange: 'shop', routingKey: 'order', body: 'x', bodyEncoding: 'text', delayMs: 1000 })
      expect(e.code).toBe('READ_ONLY')
      expect((await cmd('scheduled.capabilities', { vhost: '/' })).mechanism).toBe('warren')
    } finally {
      await cmd('profiles.activate', { id: 'embedded' })
    }
  })
})
