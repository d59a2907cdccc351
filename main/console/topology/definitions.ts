/**
 * RabbitMQ definitions (the JSON of GET /api/definitions and `rabbitmqctl export_definitions`) ⇄ designs.
 * A design is one vhost; definitions may hold several, so import picks one. No I/O; unit-tested.
 */
import type { RabbitDefinitions, TopologyDesign } from '../../contract'
import { ConsoleError } from '../profiles'
import { isPredeclared, normalizeBinding, normalizeDesign, normalizeExchange, normalizeQueue } from './design'

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : [])

/** Parses a definitions file or a Warren design file into a design. */
export function importText(text: string, vhost?: string): TopologyDesign {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw new ConsoleError('INVALID', `not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  const root = obj(parsed)
  if (root.format === 'warren-topology') return normalizeDesign(root, vhost)
  if (!Array.isArray(root.queues) && !Array.isArray(root.exchanges) && !Array.isArray(root.bindings)) {
    throw new ConsoleError('INVALID', 'neither a RabbitMQ definitions file (queues, exchanges, bindings) nor a Warren design file')
  }
  return fromDefinitions(root, vhost)
}

/** Which vhost of a definitions file to take: the asked one, else '/', else the first one named anywhere. */
function pickVhost(defs: Json, asked?: string): { vhost: string; perVhost: boolean } {
  const items = [...list(defs.queues), ...list(defs.exchanges), ...list(defs.bindings)]
  // /api/definitions/{vhost} exports have no vhost fields
  const perVhost = items.length > 0 && items.every((i) => i.vhost === undefined)
  if (asked) return { vhost: asked, perVhost }
  const named = [...new Set(items.map((i) => i.vhost).filter((v): v is string => typeof v === 'string'))]
  if (named.length === 0) return { vhost: '/', perVhost }
  return { vhost: named.includes('/') ? '/' : named[0]!, perVhost }
}

export function fromDefinitions(defs: Json, vhost?: string): TopologyDesign {
  const picked = pickVhost(defs, vhost)
  const inVhost = (i: Json): boolean => picked.perVhost || i.vhost === picked.vhost
  return {
    format: 'warren-topology',
    version: 1,
    vhost: picked.vhost,
    exchanges: list(defs.exchanges)
      .filter(inVhost)
      .filter((x) => x.name !== '' && !isPredeclared(String(x.name)))
      .map(normalizeExchange),
    queues: list(defs.queues).filter(inVhost).map(normalizeQueue),
    bindings: list(defs.bindings).filter(inVhost).map(normalizeBinding),
    layout: {},
  }
}

/** A design as RabbitMQ definitions (its vhost declared, so importing creates it when missing). */
export function toDefinitions(design: TopologyDesign, product = { name: 'Warren', version: '' }): RabbitDefinitions {
  const vhost = design.vhost
  return {
    product_name: product.name,
    product_version: product.version,
    rabbit_version: '3.10.8',
    rabbitmq_version: '3.10.8',
    vhosts: [{ name: vhost }],
    queues: design.queues.map((q) => ({ name: q.name, vhost, durable: q.durable, auto_delete: q.autoDelete, arguments: { ...q.arguments } })),
    exchanges: design.exchanges
      .filter((x) => !isPredeclared(x.name))
      .map((x) => ({ name: x.name, vhost, type: x.type, durable: x.durable, auto_delete: x.autoDelete, internal: x.internal, arguments: { ...x.arguments } })),
    bindings: design.bindings.map((b) => ({
      source: b.source,
      vhost,
      destination: b.destination,
      destination_type: b.destinationType,
      routing_key: b.routingKey,
      arguments: { ...b.arguments },
    })),
  }
}
