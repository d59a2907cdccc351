/**
 * Plain helpers over topology designs: ids, canonical comparison of arguments, normalising untrusted JSON into a
 * design. No I/O; unit-tested.
 */
import type { ArgTable, ArgValue, DesignBinding, DesignExchange, DesignQueue, TopologyDesign } from '../../contract'
import { ConsoleError } from '../profiles'

/** The exchanges every vhost has (RabbitMQ predeclares them; they cannot be created or deleted). */
export const PREDECLARED_EXCHANGES: Record<string, string> = {
  'amq.direct': 'direct',
  'amq.fanout': 'fanout',
  'amq.topic': 'topic',
  'amq.headers': 'headers',
  'amq.match': 'headers',
  'amq.rabbitmq.trace': 'topic',
}

export const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message']

export const isPredeclared = (name: string): boolean => Object.prototype.hasOwnProperty.call(PREDECLARED_EXCHANGES, name)
export const isReserved = (name: string): boolean => name.startsWith('amq.')

export const exchangeId = (name: string): string => `exchange:${name}`
export const queueId = (name: string): string => `queue:${name}`

/** JSON with object keys sorted: two equal tables give the same text. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

export function sameArgs(a: ArgTable | undefined, b: ArgTable | undefined): boolean {
  return canonical(a ?? {}) === canonical(b ?? {})
}

/** Identity of a binding, as the broker has it: source, destination, routing key, arguments. */
export function bindingKey(b: Pick<DesignBinding, 'source' | 'destination' | 'destinationType' | 'routingKey' | 'arguments'>): string {
  return `${b.source}\u0000${b.destinationType}\u0000${b.destination}\u0000${b.routingKey}\u0000${canonical(b.arguments ?? {})}`
}

export function describeBinding(b: DesignBinding): string {
  return `${b.source} → ${b.destinationType === 'exchange' ? 'exchange ' : ''}${b.destination}${b.routingKey ? ` (${b.routingKey})` : ''}`
}

export function emptyDesign(vhost = '/'): TopologyDesign {
  return { format: 'warren-topology', version: 1, vhost, exchanges: [], queues: [], bindings: [], layout: {} }
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const str = (v: unknown, what: string): string => {
  if (typeof v === 'string') return v
  if (v === undefined || v === null) return ''
  throw new ConsoleError('INVALID', `${what} must be a string`)
}
const bool = (v: unknown, fallback: boolean): boolean => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : fallback)

export function argsOf(v: unknown, what: string): ArgTable {
  if (v === undefined || v === null) return {}
  if (Array.isArray(v) && v.length === 0) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConsoleError('INVALID', `${what}: arguments must be an object`)
  return v as Record<string, ArgValue>
}

export function normalizeExchange(raw: unknown): DesignExchange {
  const x = obj(raw)
  const name = str(x.name, 'exchange name')
  return {
    name,
    type: str(x.type, `type of exchange ${name}`) || 'direct',
    durable: bool(x.durable, true),
    autoDelete: bool(x.autoDelete ?? x.auto_delete, false),
    internal: bool(x.internal, false),
    arguments: argsOf(x.arguments, `exchange ${name}`),
  }
}

export function normalizeQueue(raw: unknown): DesignQueue {
  const q = obj(raw)
  const name = str(q.name, 'queue name')
  const args = { ...argsOf(q.arguments, `queue ${name}`) }
  // definitions of RabbitMQ 3.10+ may carry the queue type outside the arguments
  if (typeof q.type === 'string' && q.type !== '' && q.type !== 'classic' && args['x-queue-type'] === undefined) args['x-queue-type'] = q.type
  return { name, durable: bool(q.durable, true), autoDelete: bool(q.autoDelete ?? q.auto_delete, false), arguments: args }
}

export function normalizeBinding(raw: unknown): DesignBinding {
  const b = obj(raw)
  const type = b.destinationType ?? b.destination_type
  return {
    source: str(b.source, 'binding source'),
    destination: str(b.destination, 'binding destination'),
    destinationType: type === 'exchange' ? 'exchange' : 'queue',
    routingKey: str(b.routingKey ?? b.routing_key, 'routing key'),
    arguments: argsOf(b.arguments, 'binding'),
  }
}

/** Checks and copies a design received from the UI or a file (unknown fields dropped, defaults filled in). */
export function normalizeDesign(raw: unknown, fallbackVhost = '/'): TopologyDesign {
  const d = obj(raw)
  const list = (v: unknown, what: string): unknown[] => {
    if (v === undefined) return []
    if (!Array.isArray(v)) throw new ConsoleError('INVALID', `${what} must be a list`)
    return v
  }
  const layout: Record<string, { x: number; y: number }> = {}
  for (const [id, p] of Object.entries(obj(d.layout))) {
    const pos = obj(p)
    if (typeof pos.x === 'number' && typeof pos.y === 'number' && Number.isFinite(pos.x) && Number.isFinite(pos.y)) layout[id] = { x: pos.x, y: pos.y }
  }
  return {
    format: 'warren-topology',
    version: 1,
    vhost: typeof d.vhost === 'string' && d.vhost !== '' ? d.vhost : fallbackVhost,
    exchanges: list(d.exchanges, 'exchanges').map(normalizeExchange),
    queues: list(d.queues, 'queues').map(normalizeQueue),
    bindings: list(d.bindings, 'bindings').map(normalizeBinding),
    layout,
  }
}

/** Short text of a table for step descriptions: "x-message-ttl=60000, x-dead-letter-exchange=dlx". */
export function describeArgs(args: ArgTable): string {
  return Object.entries(args)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ')
}
