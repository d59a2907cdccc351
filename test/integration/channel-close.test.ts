// DELETE /api/channels/{name}: Warren's extension of the management API that closes one channel from the server side
// (RabbitMQ's API can only close whole connections). Driven with amqplib: the closed channel sees channel.close 320,
// the connection and its other channels keep working.
import { describe, expect, it } from 'vitest'
import { channel, closed, connect, errorOf, withTimeout } from '../helpers/amqp'
import { uniq, waitFor } from '../helpers/broker'
import { enc, useHttpBroker, type Json } from '../helpers/http'

const ctx = useHttpBroker({ statsIntervalMs: 1000 })
const api = () => ctx.b

async function addUser(name: string, tags: string) {
  expect((await api().call('PUT', `/api/users/${enc(name)}`, { body: { password: name, tags } })).status).toBe(201)
  expect((await api().call('PUT', `/api/permissions/%2F/${enc(name)}`, { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBe(201)
}

/** The names /api/channels reports for a connection's channels, by channel number. */
async function channelNames(user: string, count: number): Promise<Map<number, string>> {
  return waitFor(async () => {
    const list = (await api().get('/api/channels')).body as Json[]
    const mine = list.filter((c) => c.user === user && c.connection_details?.peer_port !== undefined)
    if (mine.length < count) throw new Error('channels not listed yet')
    return new Map(mine.map((c) => [c.number as number, c.name as string]))
  })
}

describe('DELETE /api/channels/{name}', () => {
  it('closes that channel with 320 CONNECTION_FORCED and the X-Reason; the other channel on the connection keeps working', async () => {
    const user = uniq('chuser')
    await addUser(user, 'management')
    const conn = await connect(api().amqpUrl.replace('guest:guest', `${user}:${user}`))
    const victim = await channel(conn)
    const survivor = await channel(conn)
    const q = uniq('q')
    await survivor.assertQueue(q, { autoDelete: false })
    // an unacked delivery on the closed channel goes back to the queue
    await victim.prefetch(1)
    survivor.sendToQueue(q, Buffer.from('held'))
    const got = new Promise<void>((resolve) => void victim.consume(q, () => resolve(), { noAck: false }))
    await withTimeout(got, 5000, 'delivery to the victim channel')

    const names = await channelNames(user, 2)
    const victimName = [...names.entries()].find(([number]) => number === (victim as unknown as { ch: number }).ch)?.[1]
    expect(victimName).toBeDefined()
    const gone = closed(victim)
    const r = await api().call('DELETE', `/api/channels/${enc(victimName!)}`, { user, headers: { 'X-Reason': 'closed by the test' } })
    expect(r.status).toBe(204)
    const info = await withTimeout(gone, 5000)
    expect(info.code).toBe(320)
    expect(info.message).toContain('CONNECTION_FORCED - closed by the test')
    expect(errorOf(conn)).toBeUndefined()

    // same connection, other channel: still works, and the held message was requeued
    const back = await waitFor(async () => {
      const m = await survivor.get(q, { noAck: true })
      if (!m) throw new Error('not requeued yet')
      return m
    })
    expect(back.content.toString()).toBe('held')
    expect(back.fields.redelivered).toBe(true)
    await survivor.deleteQueue(q)
    await waitFor(async () => ((await api().get(`/api/channels/${enc(victimName!)}`)).status === 404 ? true : Promise.reject(new Error('still listed'))))
    expect((await api().call('DELETE', `/api/channels/${enc(victimName!)}`, { user })).status).toBe(404)
    await conn.close()
  })

  it('404 for an unknown channel; 401 without credentials; a monitoring user may see but not close; others see nothing (404)', async () => {
    expect(await api().call('DELETE', `/api/channels/${enc('127.0.0.1:1 -> 127.0.0.1:2 (1)')}`)).toMatchObject({ status: 404, body: { error: 'Object Not Found', reason: 'Not Found' } })

    const conn = await connect(api().amqpUrl)
    const ch = await channel(conn)
    const name = (await channelNames('guest', 1)).get((ch as unknown as { ch: number }).ch)!
    expect(name).toBeDefined()

    expect((await api().call('DELETE', `/api/channels/${enc(name)}`, { auth: false })).status).toBe(401)
    const mon = uniq('mon')
    await addUser(mon, 'monitoring')
    expect(await api().call('DELETE', `/api/channels/${enc(name)}`, { user: mon })).toMatchObject({ status: 401, body: { error: 'not_authorised', reason: 'Not administrator user' } })
    const mgmt = uniq('mgmt')
    await addUser(mgmt, 'management')
    expect((await api().call('DELETE', `/api/channels/${enc(name)}`, { user: mgmt })).status).toBe(404)
    const plain = uniq('plain')
    await addUser(plain, '')
    expect(await api().call('DELETE', `/api/channels/${enc(name)}`, { user: plain })).toMatchObject({ status: 401, body: { reason: 'Not management user' } })

    // none of these closed it
    await ch.checkExchange('amq.direct')
    expect((await api().get(`/api/channels/${enc(name)}`)).status).toBe(200)
    // an administrator may close anyone's channel
    const gone = closed(ch)
    expect((await api().call('DELETE', `/api/channels/${enc(name)}`)).status).toBe(204)
    expect((await gone).code).toBe(320)
    await conn.close()
  })
})
