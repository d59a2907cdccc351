import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { dispatchCommand, type CommandHandlers, type OverviewTick } from '../../../main/contract'
import type { BrokerBackend } from '../../../main/console/backend'
import type { ManagementTarget } from '../../../main/console/management-backend'
import { ProfileStore } from '../../../main/console/profiles'
import { AesGcmSecretBox } from '../../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../../main/console/service'

function fakeBackend(target: ManagementTarget): BrokerBackend {
  const tick: OverviewTick = { profileId: target.profileId, at: 1, totals: { queues: 1, exchanges: 7, connections: 0, channels: 0, consumers: 0, messages: 2, messagesReady: 2, messagesUnacked: 0 }, rates: { publish: 1, deliver: 0, ack: 0, redeliver: 0 } }
  return new Proxy({} as BrokerBackend, {
    get: (_t, prop) => {
      if (prop === 'tick') return async () => tick
      if (prop === 'close') return async () => {}
      if (prop === 'target') return target
      return async () => ({ called: prop, target: target.profileId })
    },
  })
}

let service: ConsoleService | undefined
afterEach(async () => {
  await service?.close()
  service = undefined
})

function setup() {
  const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl: 'amqp://127.0.0.1:5672', managementUrl: 'http://127.0.0.1:15672' })
  const emit = vi.fn()
  const created: ManagementTarget[] = []
  service = createConsoleService({
    profiles,
    emit,
    tickMs: 20,
    createBackend: (t) => {
      created.push(t)
      return fakeBackend(t)
    },
  })
  const handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  return { profiles, emit, created, handlers }
}

const remote = { name: 'ro', amqpUrl: 'amqp://mq:5672', managementUrl: 'http://mq:15672', username: 'u', password: 'pw', vhost: '/', production: true, readOnly: true }

describe('console service', () => {
  it('runs commands on the active profile, with the embedded one by default', async () => {
    const { handlers, created } = setup()
    expect(await dispatchCommand(handlers, 'queues.list', { page: 1, pageSize: 10 })).toMatchObject({ ok: true, value: { called: 'listQueues', target: 'embedded' } })
    expect(created[0]).toMatchObject({ embedded: true, username: 'guest' })
  })

  it('switches backends on activate and refuses changes on a read-only profile, reads still allowed', async () => {
    const { handlers, created, emit } = setup()
    const added = await dispatchCommand(handlers, 'profiles.add', remote)
    expect(added.ok).toBe(true)
    const id = (added as { value: { id: string } }).value.id
    expect(emit).toHaveBeenCalledWith('profiles.changed', expect.objectContaining({ activeId: 'embedded' }))
    await dispatchCommand(handlers, 'profiles.activate', { id })
    expect(await dispatchCommand(handlers, 'queues.get', { vhost: '/', name: 'q' })).toMatchObject({ ok: true, value: { target: id } })
    expect(created.at(-1)).toMatchObject({ embedded: false, password: 'pw', managementUrl: 'http://mq:15672' })
    for (const [command, request] of [
      ['queues.create', { vhost: '/', name: 'q', durable: true, autoDelete: false, arguments: {} }],
      ['queues.delete', { vhost: '/', name: 'q' }],
      ['queues.purge', { vhost: '/', name: 'q' }],
      ['messages.publish', { vhost: '/', exchange: '', routingKey: 'q', properties: {}, body: '', bodyEncoding: 'text' }],
      ['messages.get', { vhost: '/', queue: 'q', count: 1, ackMode: 'ack_requeue_false' }],
      ['connections.close', { name: 'c' }],
      ['exchanges.delete', { vhost: '/', name: 'x' }],
      ['bindings.create', { vhost: '/', source: 'x', destination: 'q', destinationType: 'queue', routingKey: '', arguments: {} }],
    ] as const) {
      expect(await dispatchCommand(handlers, command, request), command).toMatchObject({ ok: false, error: { code: 'READ_ONLY' } })
    }
    // a get that requeues takes nothing away
    expect(await dispatchCommand(handlers, 'messages.get', { vhost: '/', queue: 'q', count: 1, ackMode: 'ack_requeue_true' })).toMatchObject({ ok: true })
  })

  it('pushes overview ticks while someone listens', async () => {
    const { emit } = setup()
    service!.startTicks()
    await vi.waitFor(() => expect(emit).toHaveBeenCalledWith('overview.tick', expect.objectContaining({ profileId: 'embedded' })))
  })
})
