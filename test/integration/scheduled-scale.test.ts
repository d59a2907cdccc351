// 100,000 pending scheduled messages on the embedded broker (SQLite store): a page of the list, by offset from the
// start or the end, and the timeline stay fast through the HTTP API the console uses.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { confirmChannel, connect } from '../helpers/amqp'
import { makeTempDir } from '../helpers/broker'
import { enc, startHttpBroker, type HttpBroker } from '../helpers/http'

const N = 100_000
let b: HttpBroker
let dir: string
const api = (rest: string) => `/api/exchanges/${enc('/')}/dx-scale/scheduled${rest}`

beforeAll(async () => {
  dir = makeTempDir('warren-sched-scale-')
  b = await startHttpBroker({ dataDir: dir })
  const conn = await connect(b.amqpUrl)
  const ch = await confirmChannel(conn)
  await ch.assertExchange('dx-scale', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } })
  for (let i = 0; i < N; i++) {
    if (!ch.publish('dx-scale', `k${i}`, Buffer.from(`m${i}`), { headers: { 'x-delay': 3_600_000 + i * 1000 } })) await new Promise((r) => ch.once('drain', r))
    if (i % 10_000 === 9999) await ch.waitForConfirms()
  }
  await ch.waitForConfirms()
  await conn.close()
}, 240_000)

afterAll(async () => {
  await b?.handle.close()
  rmSync(dir, { recursive: true, force: true })
})

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - t0 }
}

describe(`${N.toLocaleString()} pending scheduled messages`, () => {
  it('lists any page within a generous bound', async () => {
    const cases: Array<[string, string]> = [
      ['first page', '?limit=100'],
      ['middle page', '?limit=100&offset=50000'],
      ['last page', `?limit=100&offset=${N - 100}`],
      ['last page, reversed order (page 1 latest first)', '?limit=100&sort_reverse=true'],
      ['first page, reversed order (page 1000)', `?limit=100&offset=${N - 100}&sort_reverse=true`],
    ]
    for (const [what, query] of cases) {
      const { value, ms } = await timed(() => b.get(api(query)))
      expect(value.status, what).toBe(200)
      expect(value.body.total).toBe(N)
      expect(value.body.items).toHaveLength(100)
      console.log(`${what}: ${ms.toFixed(0)} ms`)
      expect(ms, what).toBeLessThan(2000)
    }
    expect((await b.get(api(`?limit=100&offset=${N - 100}`))).body.items[99].routing_key).toBe(`k${N - 1}`)
    expect((await b.get(api('?limit=100&sort_reverse=true'))).body.items[0].routing_key).toBe(`k${N - 1}`)
  }, 60_000)

  it('counts the timeline within a generous bound', async () => {
    const { value, ms } = await timed(() => b.get(api('-timeline?slots=60')))
    console.log(`timeline: ${ms.toFixed(0)} ms`)
    expect(value.body.total).toBe(N)
    expect(ms).toBeLessThan(3000)
  }, 60_000)
})
