/**
 * The x-delayed-message path: the embedded broker (any Warren broker), and RabbitMQ with the
 * rabbitmq_delayed_message_exchange plugin.
 *
 * A target exchange that is itself x-delayed-message gets the message directly, with `x-delay`. Any other target is
 * reached through the console's holder exchange `warren.delay` (x-delayed-message routing as `headers`), bound to
 * the target with `{x-match: all, warren-delay-target: <target>}`: the message keeps its routing key, which the
 * target then routes on. On Warren the holder's scheduled messages are listed, cancelled, rescheduled, delivered now
 * and, when they reach no queue at due time, shown (GET …/scheduled-unrouted); with the plugin none of that exists.
 */
import type amqp from 'amqplib'
import type { MessageProperties, ScheduledDetail, ScheduledItem, ScheduledPage, ScheduledTimeline, UnroutedScheduled } from '../../contract'
import { publishOptions, toProperties } from '../management-backend'
import { ConsoleError } from '../profiles'
import type { AmqpLink } from './amqp-link'
import { HOLDER_EXCHANGE, TARGET_HEADER } from './buckets'
import type { ManagementHttp } from '../management-backend'
import { arr, enc, num, obj, str, type Json } from './http'

/** The plugin's (and Warren's) longest delay: Erlang's longest timer. */
export const MAX_PLUGIN_DELAY_MS = 4294967295

export const exchangeSource = (exchange: string): string => `exchange:${exchange}`
export const exchangeOfSource = (source: string): string | undefined => (source.startsWith('exchange:') ? source.slice('exchange:'.length) : undefined)

/** Publishes a message to fall due after `delayMs` through the x-delayed-message mechanism; returns the exchange holding it. */
export async function scheduleDelayed(
  link: AmqpLink,
  req: { vhost: string; exchange: string; routingKey: string; properties: MessageProperties; body: Buffer },
  targetType: string,
  dueAt: number,
  now: () => number = Date.now,
): Promise<string> {
  if (dueAt - now() > MAX_PLUGIN_DELAY_MS) throw new ConsoleError('INVALID', `a delay of more than ${MAX_PLUGIN_DELAY_MS} ms (about 49 days) is not held by x-delayed-message`)
  const direct = targetType === 'x-delayed-message'
  if (!direct && req.exchange === '') {
    throw new ConsoleError('INVALID', 'the default exchange cannot be reached through a delayed exchange (it takes no bindings): schedule to a named exchange such as amq.direct')
  }
  const holder = direct ? req.exchange : HOLDER_EXCHANGE
  await link.withChannel(req.vhost, async (ch) => {
    if (!direct) {
      await ch.assertExchange(HOLDER_EXCHANGE, 'x-delayed-message', { durable: true, autoDelete: false, arguments: { 'x-delayed-type': 'headers' } })
      await ch.bindExchange(req.exchange, HOLDER_EXCHANGE, '', { 'x-match': 'all', [TARGET_HEADER]: req.exchange })
    }
    // x-delay is relative: measured at the last moment, so the declares above do not make the message late
    const headers = { ...(req.properties.headers ?? {}), 'x-delay': Math.max(1, Math.round(dueAt - now())), ...(direct ? {} : { [TARGET_HEADER]: req.exchange }) }
    const options: amqp.Options.Publish = { ...publishOptions({ deliveryMode: 2, ...req.properties }), headers, mandatory: false }
    ch.publish(holder, req.routingKey, req.body, options)
    await ch.waitForConfirms()
  })
  return holder
}

function itemOf(vhost: string, exchange: string, m: Json): ScheduledItem {
  const properties = toProperties(obj(m.properties))
  const target = exchange === HOLDER_EXCHANGE ? str(properties.headers?.[TARGET_HEADER]) : exchange
  return {
    id: String(m.id),
    source: exchangeSource(exchange),
    mechanism: 'warren',
    vhost,
    exchange: target,
    routingKey: str(m.routing_key),
    dueAt: num(m.due_at_ms),
    properties,
    payloadBytes: num(m.payload_bytes),
    manageable: true,
  }
}

const base = (vhost: string, exchange: string) => `/api/exchanges/${enc(vhost)}/${enc(exchange)}/scheduled`

/** The scheduled messages of a Warren delayed exchange, through Warren's HTTP API. */
export class WarrenScheduled {
  constructor(private readonly api: ManagementHttp) {}

  async list(vhost: string, exchange: string, page: number, pageSize: number, reverse: boolean): Promise<ScheduledPage> {
    const size = Math.min(1000, Math.max(1, Math.floor(pageSize)))
    const p = Math.max(1, Math.floor(page))
    const params = new URLSearchParams({ limit: String(size), offset: String((p - 1) * size) })
    if (reverse) params.set('sort_reverse', 'true')
    const answer = obj(await this.api.get(`${base(vhost, exchange)}?${params}`))
    const total = num(answer.total)
    return { items: arr(answer.items).map((m) => itemOf(vhost, exchange, m)), page: p, pageSize: size, filteredCount: total, totalCount: total, sorts: ['dueAt'] }
  }

  async count(vhost: string, exchange: string): Promise<number> {
    return num(obj(await this.api.get(`${base(vhost, exchange)}?limit=1`)).total)
  }

  async get(vhost: string, exchange: string, id: string): Promise<ScheduledDetail> {
    const m = obj(await this.api.get(`${base(vhost, exchange)}/${enc(id)}?encoding=base64`))
    const payload = str(m.payload)
    return { ...itemOf(vhost, exchange, m), payloadBase64: m.payload_encoding === 'base64' ? payload : Buffer.from(payload, 'utf8').toString('base64') }
  }

  async cancel(vhost: string, exchange: string, id: string): Promise<void> {
    await this.api.request('DELETE', `${base(vhost, exchange)}/${enc(id)}`)
  }

  async reschedule(vhost: string, exchange: string, id: string, dueAt: number): Promise<void> {
    await this.api.request('POST', `${base(vhost, exchange)}/${enc(id)}/reschedule`, { due_at: dueAt })
  }

  async deliverNow(vhost: string, exchange: string, id: string): Promise<void> {
    await this.api.request('POST', `${base(vhost, exchange)}/${enc(id)}/deliver`, {})
  }

  async timeline(vhost: string, exchange: string, slots: number): Promise<ScheduledTimeline> {
    const t = obj(await this.api.get(`${base(vhost, exchange)}-timeline?slots=${Math.floor(slots)}`))
    return { from: num(t.from), to: num(t.to), slotMs: num(t.slot_ms), counts: Array.isArray(t.counts) ? (t.counts as number[]) : [], total: num(t.total) }
  }

  async unrouted(vhost: string, exchange: string): Promise<UnroutedScheduled[]> {
    const list = arr(await this.api.get(`${base(vhost, exchange)}-unrouted?encoding=base64`))
    return list.map((r) => {
      const properties = toProperties(obj(r.properties))
      const payload = str(r.payload)
      return {
        id: String(r.id),
        exchange,
        target: exchange === HOLDER_EXCHANGE ? str(properties.headers?.[TARGET_HEADER]) : exchange,
        routingKey: str(r.routing_key),
        dueAt: num(r.due_at_ms),
        at: num(r.unrouted_at_ms),
        reason: str(r.reason),
        properties,
        payloadBase64: r.payload_encoding === 'base64' ? payload : Buffer.from(payload, 'utf8').toString('base64'),
        payloadBytes: num(r.payload_bytes),
      }
    })
  }

  async clearUnrouted(vhost: string, exchange: string): Promise<void> {
    await this.api.request('DELETE', `${base(vhost, exchange)}-unrouted`)
  }
}
