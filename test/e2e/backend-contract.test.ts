// The console's contract handlers (main/console/service.ts over ManagementBackend), run against BOTH backends it
// serves: the embedded broker (its RabbitMQ-compatible HTTP API) and a real RabbitMQ 3.10 with the management plugin.
import amqp from 'amqplib'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { dispatchCommand, type CommandHandlers, type CommandName, type CommandRequest, type CommandResponse, type Result } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { startRabbitMQNode, type RabbitMQNode } from './helpers/rabbitmq'

interface Target {
  amqpUrl: string
  managementUrl: string
  /** embedded: the console's own broker; remote: a profile added and activated like a user would */
  kind: 'embedded' | 'remote'
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (ok(v) || Date.now() > deadline) return v
    await new Promise((r) => setTimeout(r, 250))
  }
}

function contractSuite(name: string, start: () => Promise<{ target: Target; stop: () => Promise<void> }>) {
  describe(`console contract against ${name}`, () => {
    let target: Target
    let stop: () => Promise<void>
    let service: ConsoleService
    let profiles: ProfileStore
    let handlers: CommandHandlers
    const q = `contract-${randomBytes(4).toString('hex')}`
    const x = `${q}-x`

    async function call<K extends CommandName>(command: K, request: CommandRequest<K>): Promise<Result<CommandResponse<K>>> {
      return (await dispatchCommand(handlers, command, request)) as Result<CommandResponse<K>>
    }
    async function value<K extends CommandName>(command: K, request: CommandRequest<K>): Promise<CommandResponse<K>> {
      const r = await call(command, request)
      if (!r.ok) throw new Error(`${command} failed: ${r.error.code} ${r.error.message}`)
      return r.value
    }

    beforeAll(async () => {
      ;({ target, stop } = await start())
      profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), {
        amqpUrl: target.kind === 'embedded' ? target.amqpUrl : 'amqp://127.0.0.1:1',
        managementUrl: target.kind === 'embedded' ? target.managementUrl : 'http://127.0.0.1:1',
      })
      service = createConsoleService({ profiles, emit: () => {} })
      handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' }) }
      if (target.kind === 'remote') {
        const p = await value('profiles.add', {
          name: 'rabbit',
          amqpUrl: target.amqpUrl,
          managementUrl: target.managementUrl,
          username: 'guest',
          password: 'guest',
          vhost: '/',
          production: true,
          readOnly: false,
        })
        expect(profiles.rawSealedPassword(p.id)).not.toContain('guest')
        await value('profiles.activate', { id: p.id })
      }
    }, 120_000)

    afterAll(async () => {
      await service?.close()
      await stop?.()
    })

    it('tests the active profile and reads the overview', async () => {
      const state = await value('profiles.list', undefined)
      const test = await value('profiles.test', { id: state.activeId })
      expect(test.amqp.ok, test.amqp.message).toBe(true)
      expect(test.management.ok, test.management.message).toBe(true)
      const o = await value('overview.get', undefined)
      expect(o.product).toBe(target.kind === 'embedded' ? 'Warren' : 'RabbitMQ')
      expect(o.browseMode).toBe(target.kind === 'embedded' ? 'peek' : 'requeue')
      expect(o.totals.exchanges).toBeGreaterThanOrEqual(7)
      expect(o.nodes.length).toBeGreaterThanOrEqual(1)
      expect(await value('vhosts.list', undefined)).toContain('/')
    })

    it('creates a queue with typed arguments and finds it with server-side filter, sort and paging', async () => {
      await value('queues.create', { vhost: '/', name: q, durable: true, autoDelete: false, arguments: { 'x-max-length': 1000, 'x-overflow': 'reject-publish' } })
      await value('queues.create', { vhost: '/', name: `${q}-b`, durable: false, autoDelete: false, arguments: {} })
      const page = await value('queues.list', { page: 1, pageSize: 1, filter: q, sort: 'name', sortReverse: true })
      expect(page.filteredCount).toBe(2)
      expect(page.items.map((i) => i.name)).toEqual([`${q}-b`])
      const second = await value('queues.list', { page: 2, pageSize: 1, filter: q, sort: 'name', sortReverse: true })
      expect(second.items[0]).toMatchObject({ name: q, durable: true, arguments: { 'x-max-length': 1000, 'x-overflow': 'reject-publish' } })
      const regex = await value('queues.list', { page: 1, pageSize: 10, filter: `^${q}-b$`, regex: true })
      expect(regex.items.map((i) => i.name)).toEqual([`${q}-b`])
    })

    it('refuses an inequivalent redeclaration with the broker reply', async () => {
      const r = await call('queues.create', { vhost: '/', name: q, durable: false, autoDelete: false, arguments: {} })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.message).toMatch(/inequivalent arg 'durable'/)
    })

    it('creates an exchange and binds it to the queue; details show the binding', async () => {
      await value('exchanges.create', { vhost: '/', name: x, type: 'topic', durable: true, autoDelete: false, internal: false, arguments: { 'alternate-exchange': 'amq.fanout' } })
      await value('bindings.create', { vhost: '/', source: x, destination: q, destinationType: 'queue', routingKey: 'orders.*', arguments: {} })
      const details = await value('exchanges.get', { vhost: '/', name: x })
      expect(details).toMatchObject({ type: 'topic', arguments: { 'alternate-exchange': 'amq.fanout' } })
      expect(details.outgoing.map((b) => [b.destination, b.routingKey])).toEqual([[q, 'orders.*']])
      const queue = await value('queues.get', { vhost: '/', name: q })
      expect(queue.bindings.map((b) => b.source).sort()).toEqual(['', x])
    })

    it('publishes with properties, headers and a repeat count, and reports routing', async () => {
      const r = await value('messages.publish', {
        vhost: '/',
        exchange: x,
        routingKey: 'orders.new',
        properties: { contentType: 'application/json', deliveryMode: 2, messageId: 'm-1', headers: { tenant: 'acme', attempt: 1 } },
        body: '{"order": 42}',
        bodyEncoding: 'json',
        repeat: 3,
      })
      expect(r).toEqual({ published: 3, routed: 3 })
      const binary = await value('messages.publish', { vhost: '/', exchange: '', routingKey: q, properties: {}, body: Buffer.from([0, 1, 2, 255]).toString('base64'), bodyEncoding: 'base64' })
      expect(binary.routed).toBe(1)
      const unroutable = await value('messages.publish', { vhost: '/', exchange: x, routingKey: 'nobody.listens.here', properties: {}, body: 'x', bodyEncoding: 'text' })
      expect(unroutable).toEqual({ published: 1, routed: 0 })
      const bad = await call('messages.publish', { vhost: '/', exchange: '', routingKey: q, properties: {}, body: '{oops', bodyEncoding: 'json' })
      expect(bad.ok).toBe(false)
    })

    it('errors cross as data with the broker reply code and text', async () => {
      const missing = await call('messages.publish', { vhost: '/', exchange: `${x}-missing`, routingKey: '', properties: {}, body: 'x', bodyEncoding: 'text' })
      expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', replyCode: 404 } })
      if (!missing.ok) expect(missing.error.message).toContain(`no exchange '${x}-missing' in vhost '/'`)
      const noQueue = await call('queues.get', { vhost: '/', name: `${q}-missing` })
      expect(noQueue).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', replyCode: 404 } })
    })

    it('browses messages page by page, saying what it costs', async () => {
      const first = await eventually(
        () => value('messages.browse', { vhost: '/', queue: q, offset: 0, limit: 2 }),
        (b) => b.messages.length === 2 && b.total >= 4,
      )
      expect(first.mode).toBe(target.kind === 'embedded' ? 'peek' : 'requeue')
      expect(first.messages[0]).toMatchObject({ index: 0, exchange: x, routingKey: 'orders.new', properties: { contentType: 'application/json', messageId: 'm-1', headers: { tenant: 'acme', attempt: 1 } } })
      expect(Buffer.from(first.messages[0]!.payloadBase64, 'base64').toString()).toBe('{"order": 42}')
      if (target.kind === 'remote') expect(first.notice).toMatch(/redelivered/)
      const rest = await value('messages.browse', { vhost: '/', queue: q, offset: 2, limit: 10 })
      expect(rest.messages.map((m) => m.index)).toEqual([2, 3])
      const last = rest.messages[1]!
      expect(Buffer.from(last.payloadBase64, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]))
      // the embedded broker's peek leaves messages untouched; RabbitMQ's get+requeue marks them redelivered
      const again = await value('messages.browse', { vhost: '/', queue: q, offset: 0, limit: 1 })
      expect(again.messages[0]!.redelivered).toBe(target.kind === 'remote')
    })

    it('gets (and acks) a message, then purges the queue', async () => {
      const got = await value('messages.get', { vhost: '/', queue: q, count: 1, ackMode: 'ack_requeue_false' })
      expect(got).toHaveLength(1)
      const after = await eventually(
        () => value('queues.get', { vhost: '/', name: q }),
        (d) => d.messagesReady === 3,
      )
      expect(after.messagesReady).toBe(3)
      await value('queues.purge', { vhost: '/', name: q })
      const purged = await eventually(
        () => value('queues.get', { vhost: '/', name: q }),
        (d) => d.messages === 0,
      )
      expect(purged.messages).toBe(0)
    })

    it('lists client connections and channels, and closes a connection', async () => {
      const url = new URL(target.amqpUrl)
      url.username = 'guest'
      url.password = 'guest'
      const client = await amqp.connect(url.toString(), { clientProperties: { connection_name: q } })
      const closed = new Promise<Error | undefined>((resolve) => client.on('close', resolve))
      client.on('error', () => {})
      const ch = await client.createChannel()
      await ch.consume(q, () => {})
      const conns = await eventually(
        () => value('connections.list', { page: 1, pageSize: 100 }),
        (p) => p.items.length > 0,
      )
      expect(conns.items.length).toBeGreaterThan(0)
      const channels = await eventually(
        () => value('channels.list', { page: 1, pageSize: 100 }),
        (p) => p.items.some((c) => c.consumers === 1),
      )
      expect(channels.items.some((c) => c.consumers === 1)).toBe(true)
      const details = await eventually(
        () => value('queues.get', { vhost: '/', name: q }),
        (d) => d.consumerDetails.length === 1,
      )
      expect(details.consumerDetails).toHaveLength(1)
      for (const c of conns.items) await value('connections.close', { name: c.name, reason: 'contract test' })
      await closed
    })

    it('refuses every change on a read-only profile', async () => {
      const before = await value('profiles.list', undefined)
      const active = before.profiles.find((p) => p.id === before.activeId)!
      const ro = await value('profiles.add', {
        name: 'read only',
        amqpUrl: active.amqpUrl,
        managementUrl: active.managementUrl,
        username: 'guest',
        password: 'guest',
        vhost: '/',
        production: false,
        readOnly: true,
      })
      await value('profiles.activate', { id: ro.id })
      expect(await call('queues.delete', { vhost: '/', name: q })).toMatchObject({ ok: false, error: { code: 'READ_ONLY' } })
      expect(await call('messages.publish', { vhost: '/', exchange: '', routingKey: q, properties: {}, body: 'x', bodyEncoding: 'text' })).toMatchObject({ ok: false, error: { code: 'READ_ONLY' } })
      expect((await value('queues.list', { page: 1, pageSize: 5, filter: q })).filteredCount).toBe(2)
      await value('profiles.activate', { id: before.activeId })
      await value('profiles.delete', { id: ro.id })
    })

    it('deletes the binding, the exchange and the queues', async () => {
      const details = await value('exchanges.get', { vhost: '/', name: x })
      await value('bindings.delete', details.outgoing[0]!)
      expect((await value('exchanges.get', { vhost: '/', name: x })).outgoing).toEqual([])
      await value('exchanges.delete', { vhost: '/', name: x })
      await value('queues.delete', { vhost: '/', name: q })
      await value('queues.delete', { vhost: '/', name: `${q}-b` })
      expect((await value('queues.list', { page: 1, pageSize: 5, filter: q })).filteredCount).toBe(0)
    })
  })
}

contractSuite('the embedded broker', async () => {
  const broker: BrokerHandle = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0 })
  if (broker.httpPort === undefined) throw new Error('the embedded broker started without its HTTP API')
  return {
    target: { kind: 'embedded', amqpUrl: `amqp://127.0.0.1:${broker.port}`, managementUrl: `http://127.0.0.1:${broker.httpPort}` },
    stop: () => broker.close(),
  }
})

contractSuite('RabbitMQ with the management plugin', async () => {
  const node: RabbitMQNode = await startRabbitMQNode()
  return { target: { kind: 'remote', amqpUrl: node.amqpUrl, managementUrl: node.managementUrl }, stop: () => node.stop() }
})
