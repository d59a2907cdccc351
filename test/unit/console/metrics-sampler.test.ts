// The metrics sampler and its HTTP source against the embedded broker's real management API, storing into a real
// better-sqlite3 database: a bounded set of objects (top N by depth and rate, plus watched ones), the object
// interval, watches that expire or outlive their object, an unreachable broker.
import amqp from 'amqplib'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { SqlDatabase } from '../../../main/console/profiles'
import { MetricsSampler } from '../../../main/console/metrics/sampler'
import { HttpObjectSource } from '../../../main/console/metrics/source'
import { MetricsStore } from '../../../main/console/metrics/store'
import { startHttpBroker, type HttpBroker } from '../../helpers/http'

let broker: HttpBroker
let conn: amqp.ChannelModel
const prefix = `ms-${Date.now().toString(36)}`
const COUNT = 30

beforeAll(async () => {
  broker = await startHttpBroker({ statsIntervalMs: 200 })
  conn = await amqp.connect(broker.amqpUrl)
  const ch = await conn.createConfirmChannel()
  // queue i holds i messages: the deepest are the last ones
  for (let i = 0; i < COUNT; i++) {
    const q = `${prefix}-${String(i).padStart(2, '0')}`
    await ch.assertQueue(q, { durable: false })
    for (let m = 0; m < i; m++) ch.sendToQueue(q, Buffer.from('x'))
  }
  await ch.assertExchange(`${prefix}-x`, 'fanout', { durable: false })
  await ch.waitForConfirms()
  await ch.close()
}, 60_000)

afterAll(async () => {
  await conn?.close().catch(() => {})
  await broker?.handle.close()
})

let db: Database.Database
let store: MetricsStore
let clock: number
beforeEach(() => {
  db?.close()
  db = new Database(':memory:')
  clock = Date.now()
  store = new MetricsStore(db as unknown as SqlDatabase, () => clock)
})

const sampledQueues = () => (db.prepare('SELECT DISTINCT name FROM metrics_queue').all() as { name: string }[]).map((r) => r.name).sort()
const source = () => new HttpObjectSource({ managementUrl: broker.apiBase, username: 'guest', password: 'guest' })

describe('metrics sampler', () => {
  it('samples only the top N queues by depth and by publish rate, plus the watched ones, whatever the broker holds', async () => {
    const sampler = new MetricsSampler(store, { topN: 5, now: () => clock })
    const watched = { vhost: '/', name: `${prefix}-03` }
    sampler.watch('queue', watched)
    sampler.watch('exchange', { vhost: '/', name: `${prefix}-x` })
    await sampler.sampleObjects('p1', source())
    const names = sampledQueues()
    // the 5 deepest are there, with their depth
    for (let i = COUNT - 5; i < COUNT; i++) expect(names).toContain(`${prefix}-${i}`)
    const deepest = store.history('p1', 'queue', { vhost: '/', name: `${prefix}-${COUNT - 1}` }, 60_000, 5000)
    expect(deepest.series.messages).toEqual([COUNT - 1])
    expect(deepest.series.ready).toEqual([COUNT - 1])
    expect(names).toContain(watched.name)
    expect(store.history('p1', 'queue', watched, 60_000, 5000).series.messages).toEqual([3])
    // top 5 by depth + top 5 by rate + 1 watched: bounded, not all 30
    expect(names.length).toBeLessThanOrEqual(11)
    expect(names).not.toContain(`${prefix}-10`)
    expect(store.history('p1', 'exchange', { vhost: '/', name: `${prefix}-x` }, 60_000, 5000).t).toHaveLength(1)
    expect(sampler.isSampled('queue', watched)).toBe(true)
    expect(sampler.isSampled('queue', { vhost: '/', name: `${prefix}-11` })).toBe(false)
  })

  it('samples watched objects once per interval, a new watch right away, and the top lists less often', async () => {
    const sampler = new MetricsSampler(store, { topN: 2, objectIntervalMs: 5000, topIntervalMs: 15_000, now: () => clock })
    const rows = () => (db.prepare('SELECT COUNT(*) AS n FROM metrics_queue').get() as { n: number }).n
    await sampler.sampleObjects('p1', source())
    const first = rows()
    expect(first).toBeGreaterThan(0)
    clock += 1000
    await sampler.sampleObjects('p1', source())
    expect(rows()).toBe(first)
    sampler.watch('queue', { vhost: '/', name: `${prefix}-07` })
    await sampler.sampleObjects('p1', source())
    expect(rows()).toBe(first + 1) // only the new watch: the top lists wait for their own interval
    expect(sampledQueues()).toContain(`${prefix}-07`)
    clock += 5000
    await sampler.sampleObjects('p1', source())
    expect(rows()).toBe(first + 2)
    clock += 15_000
    await sampler.sampleObjects('p1', source())
    expect(rows()).toBeGreaterThanOrEqual(first * 2 + 2) // top lists again, plus the watch (unless it is among them)
  })

  it('keeps at most maxWatched watches, drops expired ones and those whose object is gone', async () => {
    const sampler = new MetricsSampler(store, { topN: 1, maxWatched: 3, watchMs: 60_000, now: () => clock })
    for (const i of [4, 5, 6, 7]) sampler.watch('queue', { vhost: '/', name: `${prefix}-0${i}` })
    sampler.watch('queue', { vhost: '/', name: `${prefix}-gone` })
    await sampler.sampleObjects('p1', source())
    const names = sampledQueues()
    expect(names).not.toContain(`${prefix}-04`)
    expect(names).not.toContain(`${prefix}-05`)
    expect(names).toContain(`${prefix}-06`)
    expect(names).toContain(`${prefix}-07`)
    expect(sampler.isSampled('queue', { vhost: '/', name: `${prefix}-gone` })).toBe(false)
    // an hour later, without being asked for again, the watches have lapsed
    clock += 3_600_000
    await sampler.sampleObjects('p1', source())
    expect(sampler.isSampled('queue', { vhost: '/', name: `${prefix}-06` })).toBe(false)
  })

  it('stays bounded with 10,000 queues: rows per round do not grow with the broker', async () => {
    const ch = await conn.createChannel()
    const many = `${prefix}-many`
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => ch.assertQueue(`${many}-${i}`, { durable: false })))
    const sampler = new MetricsSampler(store, { topN: 20, now: () => clock })
    sampler.watch('queue', { vhost: '/', name: `${many}-5000` })
    const started = Date.now()
    await sampler.sampleObjects('p1', source())
    const elapsed = Date.now() - started
    const rows = (db.prepare('SELECT COUNT(*) AS n FROM metrics_queue').get() as { n: number }).n
    expect(rows).toBeLessThanOrEqual(41)
    expect(sampledQueues()).toContain(`${many}-5000`)
    expect(elapsed, `one round took ${elapsed} ms`).toBeLessThan(10_000)
    // (the queues go with the broker at the end of the file; the tests above ran before they existed)
    await ch.close()
  }, 120_000)

  it('reports an unreachable broker and stores nothing', async () => {
    const sampler = new MetricsSampler(store, { now: () => clock })
    const dead = new HttpObjectSource({ managementUrl: 'http://127.0.0.1:1', username: 'guest', password: 'guest' })
    await expect(sampler.sampleObjects('p1', dead)).rejects.toThrow(/did not answer/)
    expect(store.rows()).toBe(0)
  })
})
