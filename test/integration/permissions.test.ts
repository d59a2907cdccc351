// Users, vhosts and per-vhost permissions over AMQP: each operation is checked against the user's configure, write
// and read patterns (RabbitMQ's access control), and a user without access to a vhost cannot open it.
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isLoopback } from '../../broker/amqp/connection'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { channel, closed, connect } from '../helpers/amqp'

let broker: BrokerHandle
const url = (user: string, vhost = '%2F') => `amqp://${user}:${user === 'guest' ? 'guest' : 'secret'}@127.0.0.1:${broker.port}/${vhost}`

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1' })
  const core = broker.core
  core.addVhost({ name: 'other', description: '', tags: [] })
  core.putUser('limited', 'secret', [])
  // configure only app.* resources, write only to app.* exchanges/queues, read only app.* queues and amq.direct
  core.setPermission({ user: 'limited', vhost: '/', configure: '^app\\.', write: '^app\\.', read: '^(app\\..*|amq\\.direct)$' })
  core.putUser('nobody', 'secret', [])
  // a queue outside the limited user's patterns, declared by guest (full permissions)
  const admin = await amqp.connect(url('guest'))
  await (await admin.createChannel()).assertQueue('billing')
  await admin.close()
})
afterAll(async () => {
  await broker?.close()
})

/** Runs one operation on a fresh channel; returns the channel's close code, or 'ok'. */
async function attempt(user: string, operation: (ch: amqp.Channel) => Promise<unknown>): Promise<number | 'ok'> {
  const conn = await connect(url(user))
  const ch = await channel(conn)
  const closing = closed(ch)
  try {
    await operation(ch)
    await ch.close()
    return 'ok'
  } catch {
    return (await closing).code ?? -1
  } finally {
    await conn.close().catch(() => {})
  }
}

describe('permissions', () => {
  it('configure: declaring or deleting outside the pattern is 403', async () => {
    expect(await attempt('limited', (ch) => ch.assertQueue('app.orders'))).toBe('ok')
    expect(await attempt('limited', (ch) => ch.assertQueue('billing'))).toBe(403)
    expect(await attempt('limited', (ch) => ch.assertExchange('billing.x', 'direct'))).toBe(403)
    expect(await attempt('guest', (ch) => ch.assertQueue('billing'))).toBe('ok')
    expect(await attempt('limited', (ch) => ch.deleteQueue('billing'))).toBe(403)
  })

  it('write: publishing to an exchange outside the pattern is 403; binding needs write on the queue', async () => {
    expect(await attempt('limited', (ch) => ch.assertExchange('app.events', 'fanout'))).toBe('ok')
    expect(await attempt('limited', (ch) => ch.bindQueue('app.orders', 'amq.direct', 'k'))).toBe('ok')
    expect(await attempt('limited', async (ch) => {
      ch.publish('amq.fanout', '', Buffer.from('x'))
      await ch.checkQueue('app.orders') // a round trip, so the publish's channel error arrives first
    })).toBe(403)
    // binding to billing needs write on billing
    expect(await attempt('limited', (ch) => ch.bindQueue('billing', 'amq.direct', 'k'))).toBe(403)
  })

  it('read: consuming, getting or purging outside the pattern is 403; binding needs read on the source exchange', async () => {
    expect(await attempt('limited', (ch) => ch.get('app.orders'))).toBe('ok')
    expect(await attempt('limited', (ch) => ch.get('billing'))).toBe(403)
    expect(await attempt('limited', (ch) => ch.consume('billing', () => {}))).toBe(403)
    expect(await attempt('limited', (ch) => ch.purgeQueue('billing'))).toBe(403)
    expect(await attempt('limited', (ch) => ch.bindQueue('app.orders', 'amq.fanout', ''))).toBe(403)
  })

  it('a user without permissions in a vhost cannot open it (530); nor can anyone open a missing vhost', async () => {
    await expect(amqp.connect(url('nobody'))).rejects.toThrow()
    await expect(amqp.connect(url('limited', 'other'))).rejects.toThrow()
    await expect(amqp.connect(url('guest', 'missing'))).rejects.toThrow()
    const conn = await amqp.connect(url('limited'))
    await conn.close()
  })

  it('guest may log in from loopback only (RabbitMQ loopback_users)', () => {
    for (const address of ['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address)).toBe(true)
    for (const address of ['10.0.0.5', '192.168.1.2', '::ffff:10.1.1.1', 'fe80::1', undefined]) expect(isLoopback(address)).toBe(false)
  })
})
