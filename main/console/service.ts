/**
 * The contract's handlers for the management part of the console: profiles, and every broker command, run against
 * the active profile's BrokerBackend. Shared by the desktop app (over IPC) and the web console (over HTTP).
 */
import type { CommandHandlers, EventName, OverviewTick, ProfileInput, WarrenEvents } from '../contract'
import type { BrokerBackend } from './backend'
import { ManagementBackend, type ManagementTarget } from './management-backend'
import { ConsoleError, EMBEDDED_PROFILE_ID, type ProfileStore, type ProfileWithSecret } from './profiles'
import type { ConsoleArea, ConsoleContext } from './context'
import { createDeadLetterArea } from './dead-letters/area'
import { createMetricsArea, type MetricsAreaOptions } from './metrics/area'
import { createScheduledArea } from './scheduled/area'
import { createTopologyArea } from './topology/area'
import { createClusterArea } from './cluster/area'

export type ManagementHandlers = Omit<CommandHandlers, 'broker.status'>

export interface ConsoleServiceOptions {
  profiles: ProfileStore
  emit: <E extends EventName>(event: E, payload: WarrenEvents[E]) => void
  /** default: ManagementBackend */
  createBackend?: (target: ManagementTarget) => BrokerBackend
  /** interval of overview.tick events; default 2000 ms */
  tickMs?: number
  /** whether anyone listens to events now (ticks are skipped otherwise); default always */
  hasListeners?: () => boolean
  log?: (level: 'info' | 'warn' | 'error', message: string) => void
  /** the metrics history's sampler (defaults: see metrics/sampler.ts) */
  metrics?: MetricsAreaOptions
}

export interface ConsoleService {
  readonly handlers: ManagementHandlers
  /** the active profile's backend (created on first use) */
  backend(): BrokerBackend
  startTicks(): void
  stopTicks(): void
  close(): Promise<void>
}

function targetOf(p: ProfileWithSecret): ManagementTarget {
  return {
    profileId: p.id,
    amqpUrl: p.amqpUrl,
    managementUrl: p.managementUrl,
    username: p.username,
    password: p.password,
    vhost: p.vhost,
    embedded: p.id === EMBEDDED_PROFILE_ID,
  }
}

function inputTarget(input: ProfileInput): ManagementTarget {
  return {
    profileId: 'test',
    amqpUrl: input.amqpUrl,
    managementUrl: input.managementUrl,
    username: input.username,
    password: input.password ?? '',
    vhost: input.vhost,
    embedded: false,
  }
}

export function createConsoleService(options: ConsoleServiceOptions): ConsoleService {
  const { profiles, emit } = options
  const create = options.createBackend ?? ((t: ManagementTarget) => new ManagementBackend(t))
  let active: { id: string; backend: BrokerBackend } | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let ticking = false
  let polling: Promise<void> | undefined
  let failures = 0
  let retryAt = 0
  let lastFailure: string | undefined

  function backend(): BrokerBackend {
    const id = profiles.activeId()
    if (!active || active.id !== id) {
      void active?.backend.close()
      active = { id, backend: create(targetOf(profiles.withSecret(id))) }
    }
    return active.backend
  }

  function reset(): void {
    void active?.backend.close()
    active = undefined
    failures = 0
    retryAt = 0
    for (const area of areas) area.profileChanged?.()
  }

  /** Refuses changes when the active profile is read-only. */
  function writable(): BrokerBackend {
    const profile = profiles.get(profiles.activeId())
    if (profile.readOnly) throw new ConsoleError('READ_ONLY', `profile "${profile.name}" is read-only: changes are disabled`)
    return backend()
  }

  function changed(): void {
    emit('profiles.changed', profiles.state())
  }

  /**
   * One poll of the active profile feeds both the live overview.tick event (only while someone listens) and the
   * metrics history (always, while the console runs). Polls never overlap: a tick while one is running is skipped.
   * While the broker fails to answer, polls back off (one more interval per failure, up to 30 s), and the failure
   * is logged once, not every poll.
   */
  async function tick(): Promise<void> {
    const now = Date.now()
    if (ticking || now < retryAt) return
    ticking = true
    try {
      const t: OverviewTick = await backend().tick()
      failures = 0
      lastFailure = undefined
      if (!options.hasListeners || options.hasListeners()) emit('overview.tick', t)
      await metrics.onTick(t)
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e)
      failures++
      retryAt = Date.now() + Math.min(30_000, failures * (options.tickMs ?? 2000))
      if (text !== lastFailure) options.log?.('warn', `overview tick failed: ${text}`)
      lastFailure = text
    } finally {
      ticking = false
    }
  }

  const context: ConsoleContext = {
    profiles,
    db: profiles.database(),
    backend,
    writable,
    activeTarget: () => targetOf(profiles.withSecret(profiles.activeId())),
    emit,
    log: (level, message) => options.log?.(level, message),
  }
  const metrics = createMetricsArea(context, { ...options.metrics, tickMs: options.tickMs ?? 2000 })
  const deadLetters = createDeadLetterArea(context)
  const scheduled = createScheduledArea(context)
  const topology = createTopologyArea(context)
  const cluster = createClusterArea(context)
  const areas: Omit<ConsoleArea<never>, 'handlers'>[] = [metrics, deadLetters, scheduled, topology, cluster]

  const handlers: ManagementHandlers = {
    ...metrics.handlers,
    ...deadLetters.handlers,
    ...scheduled.handlers,
    ...topology.handlers,
    ...cluster.handlers,
    'profiles.list': () => profiles.state(),
    'profiles.add': (input) => {
      const p = profiles.add(input)
      changed()
      return p
    },
    'profiles.update': ({ id, changes }) => {
      const p = profiles.update(id, changes)
      if (active?.id === id) reset()
      changed()
      return p
    },
    'profiles.delete': ({ id }) => {
      profiles.delete(id)
      if (active?.id === id) reset()
      changed()
      return profiles.state()
    },
    'profiles.test': async (req) => {
      const target = 'id' in req ? targetOf(profiles.withSecret(req.id)) : inputTarget(req.input)
      const b = create(target)
      try {
        return await b.test()
      } finally {
        await b.close()
      }
    },
    'profiles.activate': ({ id }) => {
      profiles.setActive(id)
      reset()
      changed()
      return profiles.state()
    },
    'overview.get': () => backend().overview(),
    'vhosts.list': () => backend().vhosts(),
    'exchanges.list': (req) => backend().listExchanges(req),
    'exchanges.get': (ref) => backend().getExchange(ref),
    'exchanges.create': (spec) => writable().createExchange(spec),
    'exchanges.delete': (req) => writable().deleteExchange(req, req.ifUnused),
    'queues.list': (req) => backend().listQueues(req),
    'queues.get': (ref) => backend().getQueue(ref),
    'queues.create': (spec) => writable().createQueue(spec),
    'queues.delete': (req) => writable().deleteQueue(req, req),
    'queues.purge': (ref) => writable().purgeQueue(ref),
    'bindings.create': (spec) => writable().createBinding(spec),
    'bindings.delete': (spec) => writable().deleteBinding(spec),
    'messages.browse': (req) => backend().browse(req),
    // a get that acks takes messages away: that is a change
    'messages.get': (req) => (req.ackMode === 'ack_requeue_true' || req.ackMode === 'reject_requeue_true' ? backend() : writable()).get(req),
    'messages.publish': (req) => writable().publish(req),
    'connections.list': (req) => backend().listConnections(req),
    'connections.close': ({ name, reason }) => writable().closeConnection(name, reason),
    'channels.list': (req) => backend().listChannels(req),
    'channels.close': ({ name, reason }) => writable().closeChannel(name, reason),
  }

  return {
    handlers,
    backend,
    startTicks() {
      if (timer) return
      timer = setInterval(() => {
        if (!ticking) polling = tick()
      }, options.tickMs ?? 2000)
      timer.unref?.()
    },
    stopTicks() {
      if (timer) clearInterval(timer)
      timer = undefined
    },
    async close() {
      if (timer) clearInterval(timer)
      timer = undefined
      // let a running poll finish before the database closes under it
      await polling
      for (const area of areas) await area.close?.()
      await active?.backend.close()
      active = undefined
      profiles.close()
    },
  }
}
