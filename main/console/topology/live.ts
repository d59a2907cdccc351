/**
 * The active broker's topology, read over its management HTTP API (RabbitMQ and the embedded broker alike):
 * exchanges, queues (with message counts and rates) and bindings of one vhost, plus its definitions export.
 */
import type { ArgTable, DesignBinding, DesignExchange, DesignQueue, LiveStats, LiveTopology, NodeStats, RabbitDefinitions } from '../../contract'
import { ManagementHttp, type ManagementTarget } from '../management-backend'
import { exchangeId, queueId } from './design'

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const rate = (stats: unknown, key: string): number => num(obj(obj(stats)[`${key}_details`]).rate)
const enc = encodeURIComponent

/** A live binding as the broker lists it: with the properties key needed to delete it. */
export interface LiveBinding extends DesignBinding {
  propertiesKey: string
}

export interface LiveQueue extends DesignQueue {
  exclusive: boolean
  messages: number
}

/** What the planner compares a design with. */
export interface LiveState {
  vhost: string
  product: string
  exchanges: DesignExchange[]
  queues: LiveQueue[]
  bindings: LiveBinding[]
  stats: Record<string, NodeStats>
}

export class ManagementClient {
  private readonly http: ManagementHttp

  constructor(
    readonly target: ManagementTarget,
    fetchImpl: typeof fetch = fetch,
  ) {
    this.http = new ManagementHttp(target, { fetchImpl })
  }

  request(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.http.request(method, path, body)
  }

  private async array(path: string): Promise<Json[]> {
    const answer = await this.request('GET', path)
    if (Array.isArray(answer)) return answer.map(obj)
    const items = obj(answer).items
    return Array.isArray(items) ? items.map(obj) : []
  }

  async product(): Promise<string> {
    const o = obj(await this.request('GET', '/api/overview'))
    return `${str(o.product_name) || 'RabbitMQ'} ${str(o.product_version) || str(o.rabbitmq_version)}`.trim()
  }

  async definitions(vhost?: string): Promise<RabbitDefinitions> {
    return (await this.request('GET', vhost === undefined ? '/api/definitions' : `/api/definitions/${enc(vhost)}`)) as RabbitDefinitions
  }

  async load(vhost: string): Promise<LiveState> {
    const v = enc(vhost)
    const [product, exchanges, queues, bindings] = await Promise.all([
      this.product().catch(() => 'unknown broker'),
      this.array(`/api/exchanges/${v}`),
      this.array(`/api/queues/${v}`),
      this.array(`/api/bindings/${v}`),
    ])
    const stats: Record<string, NodeStats> = {}
    const state: LiveState = { vhost, product, exchanges: [], queues: [], bindings: [], stats }
    for (const x of exchanges) {
      const name = str(x.name)
      if (name === '') continue // the default exchange
      state.exchanges.push({ name, type: str(x.type), durable: x.durable === true, autoDelete: x.auto_delete === true, internal: x.internal === true, arguments: obj(x.arguments) as ArgTable })
      stats[exchangeId(name)] = { publishInRate: rate(x.message_stats, 'publish_in'), publishOutRate: rate(x.message_stats, 'publish_out') }
    }
    for (const q of queues) {
      const name = str(q.name)
      const args = { ...(obj(q.arguments) as ArgTable) }
      const type = str(q.type)
      if (type && type !== 'classic' && args['x-queue-type'] === undefined) args['x-queue-type'] = type
      state.queues.push({ name, durable: q.durable === true, autoDelete: q.auto_delete === true, exclusive: q.exclusive === true, arguments: args, messages: num(q.messages) })
      stats[queueId(name)] = {
        messages: num(q.messages),
        messagesReady: num(q.messages_ready),
        messagesUnacked: num(q.messages_unacknowledged),
        consumers: num(q.consumers),
        publishRate: rate(q.message_stats, 'publish'),
        deliverRate: rate(q.message_stats, 'deliver_get'),
      }
    }
    for (const b of bindings) {
      const source = str(b.source)
      if (source === '') continue // the default exchange's implicit bindings
      state.bindings.push({
        source,
        destination: str(b.destination),
        destinationType: b.destination_type === 'exchange' ? 'exchange' : 'queue',
        routingKey: str(b.routing_key),
        arguments: obj(b.arguments) as ArgTable,
        propertiesKey: str(b.properties_key) || '~',
      })
    }
    return state
  }
}

/** The live state as a design for the canvas: amq.* exchanges only when something binds to or from them. */
export function liveTopology(state: LiveState): LiveTopology {
  const used = new Set<string>()
  for (const b of state.bindings) {
    used.add(b.source)
    if (b.destinationType === 'exchange') used.add(b.destination)
  }
  for (const x of state.exchanges) if (typeof x.arguments['alternate-exchange'] === 'string') used.add(x.arguments['alternate-exchange'])
  for (const q of state.queues) if (typeof q.arguments['x-dead-letter-exchange'] === 'string') used.add(q.arguments['x-dead-letter-exchange'])
  const exclusive = new Set(state.queues.filter((q) => q.exclusive).map((q) => q.name))
  return {
    design: {
      format: 'warren-topology',
      version: 1,
      vhost: state.vhost,
      exchanges: state.exchanges.filter((x) => !x.name.startsWith('amq.') || used.has(x.name)),
      queues: state.queues.filter((q) => !q.exclusive).map(({ name, durable, autoDelete, arguments: args }) => ({ name, durable, autoDelete, arguments: args })),
      bindings: state.bindings.filter((b) => !(b.destinationType === 'queue' && exclusive.has(b.destination))).map(({ source, destination, destinationType, routingKey, arguments: args }) => ({ source, destination, destinationType, routingKey, arguments: args })),
      layout: {},
    },
    stats: state.stats,
    at: Date.now(),
    product: state.product,
  }
}

export function liveStats(state: LiveState): LiveStats {
  return { stats: state.stats, at: Date.now() }
}
