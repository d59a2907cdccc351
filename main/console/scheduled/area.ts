/**
 * The console's scheduled area: schedule delayed messages and manage pending ones (see ../../contract/scheduled.ts).
 *
 * The mechanism follows the broker: Warren (the embedded broker) → its x-delayed-message store, listed through its
 * HTTP API (warren.ts); RabbitMQ with rabbitmq_delayed_message_exchange → the plugin, which cannot list or cancel;
 * RabbitMQ without it → TTL + dead-letter delay queues, one per delay bucket (ttl.ts, buckets.ts), recorded in the
 * console's database (registry.ts) so they can be listed, cancelled, rescheduled and delivered now.
 */
import { randomUUID } from 'node:crypto'
import type {
  ArgTable,
  MessageProperties,
  RouteCheck,
  ScheduleMechanism,
  ScheduledCapabilities,
  ScheduledCommands,
  ScheduledDetail,
  ScheduledItem,
  ScheduledPage,
  ScheduledSource,
  UnroutedScheduled,
} from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'
import { BrokerReplyError, encodeBody } from '../management-backend'
import { ConsoleError } from '../profiles'
import { AmqpLink } from './amqp-link'
import { describeMs, dueTimeOf, HOLDER_EXCHANGE, histogram, DELAY_PREFIX, worstLatenessMs } from './buckets'
import { ManagementHttp } from '../management-backend'
import { arr, enc, obj, str } from './http'
import { ScheduledRegistry, type RegistryRow } from './registry'
import { reachableQueues, type ExchangeFacts } from './route-check'
import { cancelTtl, deliverTtlNow, rescheduleTtl, scheduleTtl } from './ttl'
import { exchangeOfSource, exchangeSource, scheduleDelayed, WarrenScheduled } from './warren'

interface Probe {
  product: string
  warren: boolean
  delayedType: boolean
}

const TTL_SOURCE = 'ttl'
const PLUGIN_LOG = 'plugin-log'

const isNotFound = (e: unknown): boolean => e instanceof BrokerReplyError && e.replyCode === 404

export function createScheduledArea(ctx: ConsoleContext): ConsoleArea<keyof ScheduledCommands> {
  const registry = new ScheduledRegistry(ctx.db)
  let link: AmqpLink | undefined
  let probed: { profileId: string; at: number; value: Promise<Probe> } | undefined
  let lastSweep = 0

  const target = () => ctx.activeTarget()
  const api = () => new ManagementHttp(target())
  const amqp = () => (link ??= new AmqpLink(target))
  const warren = () => new WarrenScheduled(api())
  const profileId = () => target().profileId

  /** What the broker is and whether it has x-delayed-message (cached for 10 s). */
  function probe(): Promise<Probe> {
    const id = profileId()
    if (probed && probed.profileId === id && Date.now() - probed.at < 10_000) return probed.value
    const t = target()
    const value = api()
      .get('/api/overview')
      .then((answer): Probe => {
        const o = obj(answer)
        const product = str(o.product_name) || 'RabbitMQ'
        const types = arr(o.exchange_types as unknown).map((x) => str(obj(x).name))
        const plain = Array.isArray(o.exchange_types) ? (o.exchange_types as unknown[]).filter((x) => typeof x === 'string').map(String) : []
        const warren = t.embedded || /warren/i.test(product)
        // Warren always implements x-delayed-message (older builds did not list it among the exchange types)
        return { product, warren, delayedType: warren || [...types, ...plain].includes('x-delayed-message') }
      })
    value.catch(() => (probed = undefined))
    probed = { profileId: id, at: Date.now(), value }
    return value
  }

  function mechanismsOf(p: Probe): ScheduleMechanism[] {
    if (p.warren) return ['warren', 'ttl']
    return p.delayedType ? ['plugin', 'ttl'] : ['ttl']
  }

  async function exchangeFacts(vhost: string, name: string): Promise<ExchangeFacts | undefined> {
    try {
      const x = await ctx.backend().getExchange({ vhost, name })
      return {
        name: x.name,
        type: x.type,
        arguments: x.arguments,
        bindings: x.outgoing.map((b) => ({ destination: b.destination, destinationType: b.destinationType, routingKey: b.routingKey, arguments: b.arguments })),
      }
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  async function checkRoute(vhost: string, exchange: string, routingKey: string, headers?: ArgTable): Promise<RouteCheck> {
    if (exchange === '') {
      try {
        await api().get(`/api/queues/${enc(vhost)}/${enc(routingKey)}`)
        return { routed: true, queues: [routingKey], message: `routes to queue ${routingKey}` }
      } catch (e) {
        if (isNotFound(e)) return { routed: false, queues: [], message: `the default exchange routes by queue name, and there is no queue '${routingKey}'` }
        throw e
      }
    }
    const queues = await reachableQueues((name) => exchangeFacts(vhost, name), exchange, routingKey, headers)
    if (!queues) return { routed: false, queues: [], message: `there is no exchange '${exchange}' in vhost '${vhost}'` }
    if (queues.length === 0) return { routed: false, queues, message: `exchange '${exchange}' routes '${routingKey}' to no queue now: unless a binding is added before it falls due, the message will reach no queue` }
    const shown = queues.slice(0, 5).join(', ') + (queues.length > 5 ? ` and ${queues.length - 5} more` : '')
    return { routed: true, queues, message: `routes to ${shown}` }
  }

  async function capabilities(vhost: string): Promise<ScheduledCapabilities> {
    const p = await probe()
    const mechanisms = mechanismsOf(p)
    const mechanism = mechanisms[0]
    const sources: ScheduledSource[] = []
    if (p.warren) {
      const list = arr(await api().get(`/api/exchanges/${enc(vhost)}`))
      const delayed = list.filter((x) => str(x.type) === 'x-delayed-message').map((x) => str(x.name))
      const names = [HOLDER_EXCHANGE, ...delayed.filter((n) => n !== HOLDER_EXCHANGE).sort()].slice(0, 50)
      const w = warren()
      for (const name of names) {
        const pending = delayed.includes(name) ? await w.count(vhost, name).catch(() => undefined) : 0
        sources.push({ id: exchangeSource(name), label: name === HOLDER_EXCHANGE ? `${name} (scheduled from the console)` : name, mechanism: 'warren', pending, manageable: true })
      }
    }
    const logged = registry.count(profileId(), vhost, 'plugin')
    if ((!p.warren && p.delayedType) || logged > 0) {
      sources.push({ id: PLUGIN_LOG, label: 'Scheduled through the plugin (log only)', mechanism: 'plugin', pending: logged, manageable: false })
    }
    sources.push({ id: TTL_SOURCE, label: 'TTL delay queues (warren.delay.ttl.*)', mechanism: 'ttl', pending: registry.count(profileId(), vhost, 'ttl'), manageable: true })
    const bucketLate = `1 s for delays up to 32 s, then about 3 % of the delay, e.g. ${describeMs(worstLatenessMs(3_600_000))} for an hour`
    const ttlPrecision =
      'Each message carries its exact remaining delay as per-message TTL, in the delay queue of its bucket; RabbitMQ expires messages only at the head of a queue, ' +
      `so one may wait behind a longer delay of the same bucket: at most one bucket width late (${bucketLate}).`
    let notice: string
    let precision: string
    if (p.warren) {
      notice = `${p.product} holds scheduled messages in its own store (they survive a restart) and lists them: cancel, reschedule and deliver now work, and a message that reaches no queue when it falls due is shown under "Fell due with no route".`
      precision = `Delivered within a few milliseconds of the due time. (TTL delay queues, if chosen instead: at most one bucket width late — ${bucketLate}.)`
    } else if (p.delayedType) {
      notice =
        'This RabbitMQ has the delayed-message plugin: scheduling goes through it, but RabbitMQ cannot list or cancel the messages the plugin holds. ' +
        'The console shows a log of what it scheduled itself; to cancel or reschedule, use the TTL delay queues instead.'
      precision = `The plugin delivers close to the due time (Erlang timers), but drops a message that reaches no queue then. (TTL delay queues, if chosen instead: at most one bucket width late — ${bucketLate}.)`
    } else {
      notice =
        'This RabbitMQ has no delayed-message plugin: the console builds delays from per-message TTL and dead-lettering, with one delay queue per delay bucket ' +
        `(${DELAY_PREFIX}.ttl.*), records what it scheduled, and can cancel, reschedule or deliver now from those queues.`
      precision = ttlPrecision
    }
    return { profileId: profileId(), vhost, product: p.product, mechanism, mechanisms, delayedExchangeType: p.delayedType, sources, notice, precision }
  }

  function rowItem(row: RegistryRow): ScheduledItem {
    return {
      id: row.id,
      source: row.mechanism === 'ttl' ? TTL_SOURCE : PLUGIN_LOG,
      mechanism: row.mechanism,
      vhost: row.vhost,
      exchange: row.exchange,
      routingKey: row.routingKey,
      dueAt: row.dueAt,
      properties: row.properties,
      payloadBytes: row.payloadBytes,
      bucket: row.queue ?? undefined,
      manageable: row.mechanism === 'ttl',
    }
  }

  /**
   * Recorded messages whose due time has passed (plus the most they can be late) are checked once: routable now →
   * delivered, forgotten; not → kept as unrouted (RabbitMQ drops a dead letter that reaches no queue).
   */
  async function sweep(): Promise<void> {
    const now = Date.now()
    if (now - lastSweep < 2000) return
    lastSweep = now
    const id = profileId()
    const checks = new Map<string, Promise<boolean>>()
    for (const row of registry.overdue(id, now - 2000)) {
      const grace = row.mechanism === 'ttl' ? worstLatenessMs(Math.max(1, row.dueAt - row.createdAt)) : 0
      if (now < row.dueAt + grace + 2000) continue
      const key = JSON.stringify([row.vhost, row.exchange, row.routingKey])
      let routed = checks.get(key)
      if (!routed) {
        routed = checkRoute(row.vhost, row.exchange, row.routingKey, row.properties.headers)
          .then((r) => r.routed)
          .catch(() => true)
        checks.set(key, routed)
      }
      if (await routed) registry.remove(id, row.id)
      else registry.markUnrouted(id, row.id, now)
    }
  }

  function registryRow(ref: { source: string; id: string }): RegistryRow {
    const row = registry.get(profileId(), ref.id)
    if (!row || row.state !== 'pending') throw new ConsoleError('NOT_FOUND', `no pending scheduled message ${ref.id} (delivered or cancelled already?)`)
    return row
  }

  function refuseLog(source: string): void {
    if (source === PLUGIN_LOG) throw new ConsoleError('NOT_SUPPORTED', 'RabbitMQ cannot cancel, reschedule or deliver early a message the delayed-message plugin holds')
  }

  function holderOf(source: string): string {
    const exchange = exchangeOfSource(source)
    if (exchange === undefined) throw new ConsoleError('INVALID', `unknown source ${source}`)
    return exchange
  }

  const gone = (id: string) => new ConsoleError('NOT_FOUND', `scheduled message ${id} is no longer in its delay queue (delivered already?)`)

  return {
    handlers: {
      'scheduled.capabilities': ({ vhost }) => capabilities(vhost),
      'scheduled.checkRoute': ({ vhost, exchange, routingKey, headers }) => checkRoute(vhost, exchange, routingKey, headers),

      'scheduled.schedule': async (req) => {
        ctx.writable()
        if (typeof req.vhost !== 'string' || req.vhost === '') throw new ConsoleError('INVALID', 'a vhost is required')
        if (req.exchange.startsWith(DELAY_PREFIX)) throw new ConsoleError('INVALID', `exchanges named ${DELAY_PREFIX}* are the console's own delay machinery, not a target`)
        const body = encodeBody(req)
        let dueAt: number
        try {
          dueAt = dueTimeOf(req, Date.now())
        } catch (e) {
          throw new ConsoleError('INVALID', e instanceof Error ? e.message : String(e))
        }
        const p = await probe()
        const mechanisms = mechanismsOf(p)
        const mechanism = req.mechanism ?? mechanisms[0]
        // the plugin path works wherever x-delayed-message does (Warren implements it like the plugin)
        if (!mechanisms.includes(mechanism) && !(mechanism === 'plugin' && p.delayedType)) {
          throw new ConsoleError('NOT_SUPPORTED', `this broker cannot schedule with '${mechanism}' (it offers ${mechanisms.join(', ')})`)
        }
        const properties: MessageProperties = req.properties ?? {}
        let facts: ExchangeFacts | undefined
        if (req.exchange !== '') {
          facts = await exchangeFacts(req.vhost, req.exchange)
          if (!facts) throw new BrokerReplyError('NOT_FOUND', `404 NOT_FOUND - no exchange '${req.exchange}' in vhost '${req.vhost}'`, 404)
        }
        const route = await checkRoute(req.vhost, req.exchange, req.routingKey, properties.headers).catch((e: unknown) => ({
          routed: true,
          queues: [],
          message: `could not check the route: ${e instanceof Error ? e.message : String(e)}`,
        }))
        const routeWarning = route.routed ? undefined : route.message
        const message = { vhost: req.vhost, exchange: req.exchange, routingKey: req.routingKey, properties, body }
        const record = (id: string, m: ScheduleMechanism, queue: string | null, due: number) =>
          registry.add({ id, profileId: profileId(), vhost: req.vhost, mechanism: m, exchange: req.exchange, routingKey: req.routingKey, dueAt: due, queue, properties, payloadBytes: body.length, payloadBase64: body.toString('base64'), createdAt: Date.now() })

        if (mechanism === 'ttl') {
          const done = await scheduleTtl(amqp(), { ...message, dueAt })
          record(done.id, 'ttl', done.queue, dueAt)
          return { id: done.id, source: TTL_SOURCE, mechanism, dueAt, bucket: done.queue, ...(routeWarning ? { routeWarning } : {}) }
        }
        const holder = await scheduleDelayed(amqp(), message, facts?.type ?? 'direct', dueAt)
        // on Warren the broker lists it; asked for 'plugin' explicitly, it is logged as the plugin path would be
        if (p.warren && mechanism !== 'plugin') return { id: '', source: exchangeSource(holder), mechanism: 'warren', dueAt, ...(routeWarning ? { routeWarning } : {}) }
        const id = randomUUID().slice(0, 8)
        record(id, 'plugin', null, dueAt)
        return { id, source: PLUGIN_LOG, mechanism: 'plugin', dueAt, ...(routeWarning ? { routeWarning } : {}) }
      },

      'scheduled.list': async (req): Promise<ScheduledPage> => {
        const page = Math.max(1, Math.floor(req.page || 1))
        const pageSize = Math.min(1000, Math.max(1, Math.floor(req.pageSize || 100)))
        if (req.source === TTL_SOURCE || req.source === PLUGIN_LOG) {
          await sweep()
          const mechanism: ScheduleMechanism = req.source === TTL_SOURCE ? 'ttl' : 'plugin'
          const total = registry.count(profileId(), req.vhost, mechanism)
          const rows = registry.page(profileId(), req.vhost, mechanism, { offset: (page - 1) * pageSize, limit: pageSize, sort: req.sort, reverse: req.sortReverse })
          return {
            items: rows.map(rowItem),
            page,
            pageSize,
            filteredCount: total,
            totalCount: total,
            sorts: ['dueAt', 'routingKey', 'exchange'],
            ...(mechanism === 'plugin' ? { notice: 'RabbitMQ cannot list or cancel the messages its delayed-message plugin holds: this is the console’s own log of what it scheduled.' } : {}),
          }
        }
        try {
          return await warren().list(req.vhost, holderOf(req.source), page, pageSize, req.sortReverse === true)
        } catch (e) {
          // the holder exchange does not exist until the first message is scheduled: nothing pending
          if (isNotFound(e)) return { items: [], page, pageSize, filteredCount: 0, totalCount: 0, sorts: ['dueAt'] }
          throw e
        }
      },

      'scheduled.get': async (ref): Promise<ScheduledDetail> => {
        if (ref.source === TTL_SOURCE || ref.source === PLUGIN_LOG) {
          const row = registryRow(ref)
          return { ...rowItem(row), payloadBase64: row.payloadBase64 }
        }
        return warren().get(ref.vhost, holderOf(ref.source), ref.id)
      },

      'scheduled.cancel': async (ref) => {
        ctx.writable()
        refuseLog(ref.source)
        if (ref.source === TTL_SOURCE) {
          const row = registryRow(ref)
          const taken = await cancelTtl(amqp(), row.vhost, row.queue ?? '', row.id)
          registry.remove(profileId(), row.id)
          if (!taken) throw gone(row.id)
          return
        }
        await warren().cancel(ref.vhost, holderOf(ref.source), ref.id)
      },

      'scheduled.reschedule': async (req) => {
        ctx.writable()
        refuseLog(req.source)
        let dueAt: number
        try {
          dueAt = dueTimeOf(req, Date.now())
        } catch (e) {
          throw new ConsoleError('INVALID', e instanceof Error ? e.message : String(e))
        }
        if (req.source === TTL_SOURCE) {
          const row = registryRow(req)
          const next = await rescheduleTtl(amqp(), row.vhost, row.queue ?? '', row.id, row.exchange, dueAt)
          if (next === undefined) {
            registry.remove(profileId(), row.id)
            throw gone(row.id)
          }
          if (next === '') registry.remove(profileId(), row.id)
          else registry.move(profileId(), row.id, dueAt, next)
          return
        }
        await warren().reschedule(req.vhost, holderOf(req.source), req.id, dueAt)
      },

      'scheduled.deliverNow': async (ref) => {
        ctx.writable()
        refuseLog(ref.source)
        if (ref.source === TTL_SOURCE) {
          const row = registryRow(ref)
          const done = await deliverTtlNow(amqp(), row.vhost, row.queue ?? '', row.id, row.exchange)
          registry.remove(profileId(), row.id)
          if (!done) throw gone(row.id)
          return
        }
        await warren().deliverNow(ref.vhost, holderOf(ref.source), ref.id)
      },

      'scheduled.timeline': async ({ vhost, source, slots }) => {
        const n = Math.min(1000, Math.max(1, Math.floor(slots ?? 60)))
        if (source === TTL_SOURCE || source === PLUGIN_LOG) {
          await sweep()
          return histogram(registry.dues(profileId(), vhost, source === TTL_SOURCE ? 'ttl' : 'plugin'), n)
        }
        const exchange = holderOf(source)
        try {
          return await warren().timeline(vhost, exchange, n)
        } catch (e) {
          // the holder exchange does not exist until the first message is scheduled
          if (isNotFound(e)) return { from: 0, to: 0, slotMs: 0, counts: [], total: 0 }
          throw e
        }
      },

      'scheduled.unrouted': async ({ vhost, source }): Promise<UnroutedScheduled[]> => {
        if (source === TTL_SOURCE || source === PLUGIN_LOG) {
          await sweep()
          return registry.unrouted(profileId(), vhost, source === TTL_SOURCE ? 'ttl' : 'plugin').map((row) => ({
            id: row.id,
            exchange: row.queue ?? row.exchange,
            target: row.exchange,
            routingKey: row.routingKey,
            dueAt: row.dueAt,
            at: row.checkedAt ?? row.dueAt,
            reason: 'no-route (checked by the console when it fell due)',
            properties: row.properties,
            payloadBase64: row.payloadBase64,
            payloadBytes: row.payloadBytes,
          }))
        }
        try {
          return await warren().unrouted(vhost, holderOf(source))
        } catch (e) {
          if (isNotFound(e)) return []
          throw e
        }
      },

      'scheduled.clearUnrouted': async ({ vhost, source }) => {
        ctx.writable()
        if (source === TTL_SOURCE || source === PLUGIN_LOG) {
          registry.clearUnrouted(profileId(), vhost, source === TTL_SOURCE ? 'ttl' : 'plugin')
          return
        }
        await warren().clearUnrouted(vhost, holderOf(source))
      },
    },
    profileChanged() {
      void link?.close()
      link = undefined
      probed = undefined
    },
    async close() {
      await link?.close()
      link = undefined
    },
  }
}

