// Warren's HTTP extensions for scheduled messages used by the console: offset and reverse paging, the timeline,
// and the record of scheduled messages that found no route when they fell due (alternate exchange honoured).
import { describe, expect, it } from 'vitest'
import { confirmChannel, connect } from '../helpers/amqp'
import { sleep, uniq, waitFor } from '../helpers/broker'
import { enc, useHttpBroker } from '../helpers/http'

const ctx = useHttpBroker()
const api = (x: string, rest = '') => `/api/exchanges/${enc('/')}/${enc(x)}/scheduled${rest}`

describe('scheduled messages over the HTTP API', () => {
  it('pages by offset in both directions and counts due times per slot', async () => {
    const { b } = ctx
    const conn = await connect(b.amqpUrl)
    const ch = await confirmChannel(conn)
    const x = uniq('dx')
    await ch.assertExchange(x, 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct' }, autoDelete: true })
    for (let i = 0; i < 250; i++) ch.publish(x, `k${i}`, Buffer.from(String(i)), { headers: { 'x-delay': 60_000 + i * 1000 } })
    await ch.waitForConfirms()
    const first = (await b.get(api(x, '?limit=100'))).body
    expect(first.total).toBe(250)
    expect(first.items.map((m: { routing_key: string }) => m.routing_key).slice(0, 2)).toEqual(['k0', 'k1'])
    const third = (await b.get(api(x, '?limit=100&offset=200'))).body
    expect(third.items).toHaveLength(50)
    expect(third.items[0].routing_key).toBe('k200')
    expect(third.next).toBeUndefined()
    const reversed = (await b.get(api(x, '?limit=100&offset=10&sort_reverse=true'))).body
    expect(reversed.items[0].routing_key).toBe('k239')
    expect(reversed.items[99].routing_key).toBe('k140')
    const lastReversed = (await b.get(api(x, '?limit=100&offset=200&sort_reverse=true'))).body
    expect(lastReversed.items.map((m: { routing_key: string }) => m.routing_key).at(-1)).toBe('k0')
    expect((await b.get(api(x, '?offset=-1'))).status).toBe(400)

    const t = (await b.get(api(x, '-timeline?slots=5'))).body
    expect(t.total).toBe(250)
    expect(t.counts).toHaveLength(5)
    expect(t.counts.reduce((a: number, n: number) => a + n, 0)).toBe(250)
    expect(t.counts[0]).toBe(50)
    await conn.close()
  })

  it('records a due message that reaches no queue, and honours an alternate exchange', async () => {
    const { b } = ctx
    const conn = await connect(b.amqpUrl)
    const ch = await confirmChannel(conn)
    const x = uniq('dx')
    const ae = uniq('ae')
    await ch.assertExchange(x, 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct' }, autoDelete: false })
    const { queue } = await ch.assertQueue('', { exclusive: true })
    await ch.bindQueue(queue, x, 'bound')
    ch.publish(x, 'nowhere', Buffer.from('lost'), { headers: { 'x-delay': 100, tenant: 'acme' } })
    ch.publish(x, 'bound', Buffer.from('found'), { headers: { 'x-delay': 100 } })
    await ch.waitForConfirms()
    const records = await waitFor(async () => {
      const r = (await b.get(api(x, '-unrouted'))).body
      return r.length > 0 ? r : undefined
    }, 5000)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ routing_key: 'nowhere', reason: 'no-route', payload: 'lost', exchange: x })
    expect(records[0].properties.headers.tenant).toBe('acme')
    expect(records[0].unrouted_at_ms).toBeGreaterThanOrEqual(records[0].due_at_ms)
    expect((await ch.get(queue, { noAck: true })) && true).toBe(true)

    // with an alternate exchange on a second delayed exchange, the unroutable one goes there and is not recorded
    const x2 = uniq('dx')
    await ch.assertExchange(ae, 'fanout', { autoDelete: false })
    const { queue: aeQueue } = await ch.assertQueue('', { exclusive: true })
    await ch.bindQueue(aeQueue, ae, '')
    await ch.assertExchange(x2, 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct', 'alternate-exchange': ae }, autoDelete: false })
    ch.publish(x2, 'nowhere', Buffer.from('caught'), { headers: { 'x-delay': 50 } })
    await ch.waitForConfirms()
    const caught = (await waitFor(async () => (await ch.get(aeQueue, { noAck: true })) || undefined, 5000))!
    expect(caught.content.toString()).toBe('caught')
    await sleep(50)
    expect((await b.get(api(x2, '-unrouted'))).body).toEqual([])

    // deliver-now of a message with no route is recorded too; DELETE clears the record
    ch.publish(x, 'nowhere-2', Buffer.from('now'), { headers: { 'x-delay': 60_000 } })
    await ch.waitForConfirms()
    const pending = (await b.get(api(x))).body.items
    expect(pending).toHaveLength(1)
    expect((await b.call('POST', api(x, `/${pending[0].id}/deliver`))).status).toBe(204)
    expect((await b.get(api(x, '-unrouted'))).body.map((r: { routing_key: string }) => r.routing_key)).toEqual(['nowhere-2', 'nowhere'])
    expect((await b.call('DELETE', api(x, '-unrouted'))).status).toBe(204)
    expect((await b.get(api(x, '-unrouted'))).body).toEqual([])
    await ch.deleteExchange(x)
    await ch.deleteExchange(x2)
    await ch.deleteExchange(ae)
    await conn.close()
  })
})
