// Message lifecycle features of the embedded broker that a comparison with RabbitMQ cannot show: persistence of
// policies and dead-lettered copies across restarts, expiry of recovered messages, and the core's policy API (the
// management HTTP API calls it). Behaviour itself is compared with RabbitMQ in test/conformance.
import amqp from 'amqplib'
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { AmqpError } from '../../broker/core/errors'
import { makeTempDir, sleep, uniq } from '../helpers/broker'

let handle: BrokerHandle | undefined
let dataDir: string | undefined
const connections: amqp.ChannelModel[] = []

async function start(): Promise<BrokerHandle> {
  dataDir ??= makeTempDir('warren-lifecycle-')
  handle = await startBroker({ port: 0, host: '127.0.0.1', dataDir })
  return handle
}

async function restart(): Promise<BrokerHandle> {
  for (const connection of connections.splice(0)) await connection.close().catch(() => {})
  await handle!.close()
  return start()
}

async function channel(): Promise<amqp.ConfirmChannel> {
  const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${handle!.port}`)
  connection.on('error', () => {})
  connections.push(connection)
  return connection.createConfirmChannel()
}

async function bodies(ch: amqp.Channel, queue: string): Promise<string[]> {
  const out: string[] = []
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(m.content.toString())
  return out
}

afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.close().catch(() => {})
  await handle?.close()
  handle = undefined
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  dataDir = undefined
})

describe('message lifecycle: persistence and core API', () => {
  it('policies survive a restart and keep applying to recovered and new queues', async () => {
    await start()
    const q = uniq('pol')
    let ch = await channel()
    await ch.assertQueue(q, { durable: true })
    for (const n of [1, 2, 3]) ch.sendToQueue(q, Buffer.from(String(n)), { persistent: true })
    await ch.waitForConfirms()
    handle!.core.setPolicy('/', { name: 'cap', pattern: `^${q}$`, applyTo: 'queues', priority: 1, definition: { 'max-length': 2 } })
    await restart()
    expect(handle!.core.listPolicies('/')).toEqual([{ vhost: '/', name: 'cap', pattern: `^${q}$`, applyTo: 'queues', priority: 1, definition: { 'max-length': 2 } }])
    ch = await channel()
    expect(await bodies(ch, q)).toEqual(['2', '3'])
    for (const n of [4, 5, 6]) ch.sendToQueue(q, Buffer.from(String(n)), { persistent: true })
    await ch.waitForConfirms()
    expect(await bodies(ch, q)).toEqual(['5', '6'])
    expect(handle!.core.deletePolicy('/', 'cap')).toBe(true)
    await restart()
    expect(handle!.core.listPolicies()).toEqual([])
  })

  it('a persistent message dead-lettered into a durable queue survives a restart; the original does not come back', async () => {
    await start()
    const q = uniq('src')
    const dlq = uniq('dlq')
    let ch = await channel()
    await ch.assertQueue(dlq, { durable: true })
    await ch.assertQueue(q, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })
    ch.sendToQueue(q, Buffer.from('dead'), { persistent: true, expiration: '60000' })
    await ch.waitForConfirms()
    const got = await ch.get(q, { noAck: false })
    expect(got).toBeTruthy()
    ch.reject(got as amqp.GetMessage, false)
    await sleep(50)
    await handle!.core.store.flush()
    await restart()
    ch = await channel()
    expect(await bodies(ch, q)).toEqual([])
    const dead = await ch.get(dlq, { noAck: true })
    expect(dead && dead.content.toString()).toBe('dead')
    const headers = (dead as amqp.GetMessage).properties.headers!
    expect(headers['x-first-death-reason']).toBe('rejected')
    expect(headers['x-death']?.[0]).toMatchObject({ count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q], 'original-expiration': '60000' })
    expect((dead as amqp.GetMessage).properties.expiration).toBeUndefined()
    expect((dead as amqp.GetMessage).properties.deliveryMode).toBe(2)
  })

  it('recovered messages still expire and are dead-lettered after a restart', async () => {
    await start()
    const q = uniq('ttl')
    const dlq = uniq('ttl-dlq')
    let ch = await channel()
    await ch.assertQueue(dlq, { durable: true })
    await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 400, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })
    ch.sendToQueue(q, Buffer.from('m'), { persistent: true })
    await ch.waitForConfirms()
    await restart()
    await sleep(700)
    ch = await channel()
    expect(await bodies(ch, q)).toEqual([])
    expect(await bodies(ch, dlq)).toEqual(['m'])
  })

  it('a recovered message keeps its TTL deadline: the time before the restart counts (RabbitMQ)', async () => {
    await start()
    const q = uniq('ttl-deadline')
    let ch = await channel()
    await ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 1500 } })
    ch.sendToQueue(q, Buffer.from('m'), { persistent: true })
    await ch.waitForConfirms()
    await sleep(1000)
    await restart()
    // 1.0 s before the restart + 0.9 s after it > 1.5 s: gone. Counting afresh from the restart, it would still be there.
    await sleep(900)
    ch = await channel()
    expect(await bodies(ch, q)).toEqual([])
  })

  it('a durable queue with x-expires goes after a restart if nobody uses it', async () => {
    await start()
    const q = uniq('exp')
    const ch = await channel()
    await ch.assertQueue(q, { durable: true, arguments: { 'x-expires': 300 } })
    await restart()
    expect(handle!.core.vhosts.get('/')!.queues.has(q)).toBe(true)
    await sleep(600)
    expect(handle!.core.vhosts.get('/')!.queues.has(q)).toBe(false)
  })

  it('setPolicy validates as RabbitMQ does and lists by vhost', async () => {
    await start()
    const core = handle!.core
    const refuse = (definition: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      try {
        core.setPolicy('/', { name: 'bad', pattern: '.*', applyTo: 'all', priority: 0, definition, ...extra } as never)
      } catch (error) {
        expect(error).toBeInstanceOf(AmqpError)
        return (error as AmqpError).replyCode
      }
      return 'accepted'
    }
    expect(refuse({ 'max-length': -1 })).toBe(406)
    expect(refuse({ expires: 0 })).toBe(406)
    expect(refuse({ overflow: 'sometimes' })).toBe(406)
    expect(refuse({ 'dead-letter-routing-key': 'k' })).toBe(406)
    expect(refuse({ 'no-such-key': 1 })).toBe(406)
    expect(refuse({})).toBe(406)
    expect(refuse({ 'message-ttl': 5 }, { pattern: '(' })).toBe(406)
    expect(refuse({ 'message-ttl': 5 }, { applyTo: 'bindings' })).toBe(406)
    expect(() => core.setPolicy('no-such-vhost', { name: 'p', pattern: '.*', applyTo: 'all', priority: 0, definition: { 'message-ttl': 5 } })).toThrow(/NOT_FOUND/)
    core.addVhost({ name: 'other', description: '', tags: [] })
    core.setPolicy('other', { name: 'p', pattern: '.*', applyTo: 'queues', priority: 3, definition: { 'message-ttl': 5 } })
    expect(core.listPolicies('/')).toEqual([])
    expect(core.listPolicies().map((p) => `${p.vhost}/${p.name}`)).toEqual(['other/p'])
    expect(core.vhosts.get('other')!.effectivePolicy('queue', 'anything')?.name).toBe('p')
    expect(core.vhosts.get('other')!.effectivePolicy('exchange', 'anything')).toBeUndefined()
    expect(core.deletePolicy('other', 'missing')).toBe(false)
  })
})
