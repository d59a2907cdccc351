// metrics.history and channels.close through the console service (main/console/service.ts), against BOTH backends:
// the embedded broker and a real RabbitMQ 3.10 with the management plugin. The service polls as it does in the app
// (faster here), the sampler stores into the console's SQLite database, and the history is read back.
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
  kind: 'embedded' | 'remote'
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (ok(v) || Date.now() > deadline) return v
    await new Promise((r) => setTimeout(r, 300))
  }
}

const values = (s: (number | null)[] | undefined): number[] => (s ?? []).filter((v): v is number => v !== null)

function metricsSuite(name: string, start: () => Promise<{ target: Target; stop: () => Promise<void> }>) {
  describe(`metrics history and channel close against ${name}`, () => {
    let target: Target
    let stop: () => Promise<void>
    let service: ConsoleService
    let handlers: CommandHandlers
    let client: amqp.ChannelModel
    const q = `metrics-${randomBytes(4).toString('hex')}`
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
      const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), {
        amqpUrl: target.kind === 'embedded' ? target.amqpUrl : 'amqp://127.0.0.1:1',
        managementUrl: target.kind === 'embedded' ? target.managementUrl : 'http://127.0.0.1:1',
      })
      service = createConsoleService({ profiles, emit: () => {}, tickMs: 500, metrics: { objectIntervalMs: 1000 } })
      handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' }) }
      if (target.kind === 'remote') {
        const p = await value('profiles.add', { name: 'rabbit', amqpUrl: target.amqpUrl, managementUrl: target.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })
        await value('profiles.activate', { id: p.id })
      }
      service.startTicks()
      const url = new URL(target.amqpUrl)
      url.username = 'guest'
      url.password = 'guest'
      client = await amqp.connect(url.toString())
      client.on('error', () => {})
    }, 120_000)

    afterAll(async () => {
      await client?.close().catch(() => {})
      await service?.close()
      await stop?.()
    })

    it('records the overview while the console runs, with no one listening', async () => {
      const h = await eventually(
        () => value('metrics.history', { scope: 'overview', rangeMs: 60_000 }),
        (v) => v.t.length >= 3,
      )
      expect(h.t.length).toBeGreaterThanOrEqual(3)
      expect(h.scope).toBe('overview')
      expect(h.sampled).toBe(true)
      expect(Object.keys(h.series).sort()).toEqual(['ack', 'deliver', 'messages', 'publish', 'ready', 'redeliver', 'unacked'])
      expect(h.t).toEqual([...h.t].sort((a, b) => a - b))
      expect(h.to - h.from).toBe(60_000)
    })

    it('records a queue opened in a details page: its depth and publish rate', async () => {
      const ch = await client.createConfirmChannel()
      await ch.assertExchange(x, 'fanout', { durable: false })
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, '')
      // ask first, as a details page does: from then on the queue is sampled even if it is not among the busiest
      await value('metrics.history', { scope: 'queue', ref: { vhost: '/', name: q }, rangeMs: 600_000 })
      await value('metrics.history', { scope: 'exchange', ref: { vhost: '/', name: x }, rangeMs: 600_000 })
      // publish for a few seconds so the broker's rates (RabbitMQ: every 5 s) see it
      const until = Date.now() + 7000
      let sent = 0
      while (Date.now() < until) {
        for (let i = 0; i < 20; i++, sent++) ch.publish(x, '', Buffer.from('m'))
        await ch.waitForConfirms()
        await new Promise((r) => setTimeout(r, 100))
      }
      const h = await eventually(
        () => value('metrics.history', { scope: 'queue', ref: { vhost: '/', name: q }, rangeMs: 600_000 }),
        (v) => values(v.series.messages).some((m) => m === sent) && values(v.series.publish).some((r) => r > 0),
      )
      expect(h.sampled).toBe(true)
      expect(Math.max(...values(h.series.messages))).toBe(sent)
      expect(Math.max(...values(h.series.publish))).toBeGreaterThan(0)
      expect(h.t.length).toBeLessThanOrEqual(500)
      const xh = await eventually(
        () => value('metrics.history', { scope: 'exchange', ref: { vhost: '/', name: x }, rangeMs: 600_000 }),
        (v) => values(v.series.publishIn).some((r) => r > 0),
      )
      expect(Math.max(...values(xh.series.publishIn))).toBeGreaterThan(0)
      await ch.close()
    }, 60_000)

    it('refuses a history request without an object, or longer than 24 h', async () => {
      expect(await call('metrics.history', { scope: 'queue', rangeMs: 60_000 })).toMatchObject({ ok: false, error: { code: 'INVALID' } })
      expect(await call('metrics.history', { scope: 'overview', rangeMs: 48 * 3_600_000 })).toMatchObject({ ok: false, error: { code: 'INVALID' } })
      const status = await value('metrics.status', undefined)
      expect(status.rows).toBeGreaterThan(0)
      expect(status.sampledQueues).toBeGreaterThanOrEqual(1)
    })

    it('closes one channel on the embedded broker; on RabbitMQ says it cannot', async () => {
      const victim = await client.createChannel()
      const survivor = await client.createChannel()
      const victimError = new Promise<{ code?: number }>((resolve) => victim.on('error', resolve))
      victim.on('close', () => {})
      const victimNumber = (victim as unknown as { ch: number }).ch
      const channels = await eventually(
        () => value('channels.list', { page: 1, pageSize: 100 }),
        (p) => p.items.some((c) => c.number === victimNumber),
      )
      const mine = channels.items.find((c) => c.number === victimNumber)
      expect(mine).toBeDefined()
      const r = await call('channels.close', { name: mine!.name })
      if (name.includes('embedded')) {
        expect(r).toMatchObject({ ok: true })
        expect((await victimError).code).toBe(320)
        await survivor.checkQueue(q)
      } else {
        expect(r).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } })
        if (!r.ok) expect(r.error.message).toMatch(/close its connection/)
        await victim.checkQueue(q)
        await victim.close()
      }
      await survivor.checkQueue(q)
      await survivor.deleteQueue(q)
      await survivor.deleteExchange(x)
    })
  })
}

metricsSuite('the embedded broker', async () => {
  const broker: BrokerHandle = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0, statsIntervalMs: 500 })
  if (broker.httpPort === undefined) throw new Error('the embedded broker started without its HTTP API')
  return {
    target: { kind: 'embedded', amqpUrl: `amqp://127.0.0.1:${broker.port}`, managementUrl: `http://127.0.0.1:${broker.httpPort}` },
    stop: () => broker.close(),
  }
})

metricsSuite('RabbitMQ with the management plugin', async () => {
  const node: RabbitMQNode = await startRabbitMQNode()
  return { target: { kind: 'remote', amqpUrl: node.amqpUrl, managementUrl: node.managementUrl }, stop: () => node.stop() }
})
