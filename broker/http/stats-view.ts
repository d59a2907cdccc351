/** message_stats objects as RabbitMQ shows them, with `*_details: {rate}` from the sampler. */
import type { BrokerCore } from '../core/broker'
import type { Queue } from '../core/queue'
import { MessageStats } from '../core/stats'
import type { Vhost } from '../core/vhost'
import type { RateSampler, Sampled } from './sampler'

/** counter field → JSON name; the index is the sampled value's position */
const FIELDS: [keyof MessageStats, string][] = [
  ['publish', 'publish'],
  ['publishIn', 'publish_in'],
  ['publishOut', 'publish_out'],
  ['confirm', 'confirm'],
  ['returnUnroutable', 'return_unroutable'],
  ['dropUnroutable', 'drop_unroutable'],
  ['deliver', 'deliver'],
  ['deliverNoAck', 'deliver_no_ack'],
  ['get', 'get'],
  ['getNoAck', 'get_no_ack'],
  ['getEmpty', 'get_empty'],
  ['redeliver', 'redeliver'],
  ['ack', 'ack'],
]
const DELIVER_GET = FIELDS.length

export type StatsKind = 'queue' | 'exchange' | 'channel' | 'vhost'

const SHOWN: Record<StatsKind, string[]> = {
  queue: ['publish', 'deliver', 'deliver_no_ack', 'get', 'get_no_ack', 'get_empty', 'redeliver', 'ack', 'deliver_get'],
  exchange: ['publish_in', 'publish_out'],
  channel: ['publish', 'confirm', 'return_unroutable', 'drop_unroutable', 'deliver', 'deliver_no_ack', 'get', 'get_no_ack', 'get_empty', 'redeliver', 'ack', 'deliver_get'],
  vhost: ['publish', 'confirm', 'return_unroutable', 'drop_unroutable', 'deliver', 'deliver_no_ack', 'get', 'get_no_ack', 'get_empty', 'redeliver', 'ack', 'deliver_get'],
}

export function statsValues(stats: MessageStats): number[] {
  const values = FIELDS.map(([field]) => stats[field] as number)
  values.push(stats.deliver + stats.deliverNoAck + stats.get + stats.getNoAck)
  return values
}

const INDEX = new Map<string, number>([...FIELDS.map(([, name], i) => [name, i] as [string, number]), ['deliver_get', DELIVER_GET]])

/**
 * message_stats for an object, or undefined while nothing has happened to it (RabbitMQ leaves message_stats out of
 * objects without activity). `key` is what the sampler knows the values by.
 */
export function messageStatsJson(kind: StatsKind, stats: MessageStats, sampler: RateSampler, key: object = stats): Record<string, unknown> | undefined {
  const values = statsValues(stats)
  const shown = SHOWN[kind]
  if (shown.every((name) => values[INDEX.get(name)!] === 0)) return undefined
  const out: Record<string, unknown> = {}
  for (const name of shown) {
    const index = INDEX.get(name)!
    out[name] = values[index]
    out[`${name}_details`] = { rate: sampler.rate(key, index) }
  }
  return out
}

/** A vhost's totals: its publishes and confirms, and the deliveries and acks of its queues (deleted ones included). */
export function vhostTotals(vhost: Vhost): MessageStats {
  const totals = new MessageStats()
  totals.addFrom(vhost.retiredQueueStats)
  for (const queue of vhost.queues.values()) totals.addFrom(queue.stats)
  totals.publish = vhost.stats.publish
  totals.publishIn = 0
  totals.publishOut = 0
  totals.confirm = vhost.stats.confirm
  totals.returnUnroutable = vhost.stats.returnUnroutable
  totals.dropUnroutable = vhost.stats.dropUnroutable
  return totals
}

export function brokerTotals(core: BrokerCore, vhosts: Iterable<Vhost> = core.vhosts.values()): MessageStats {
  const totals = new MessageStats()
  for (const vhost of vhosts) totals.addFrom(vhostTotals(vhost))
  return totals
}

/** queue depth gauges: messages, ready, unacknowledged */
export function depthValues(queue: Queue): number[] {
  return [queue.messageCount + queue.unackedCount, queue.messageCount, queue.unackedCount]
}

export function depthJson(values: number[], sampler: RateSampler, key: object): Record<string, unknown> {
  const names = ['messages', 'messages_ready', 'messages_unacknowledged']
  const out: Record<string, unknown> = {}
  names.forEach((name, i) => {
    out[name] = values[i]
    out[`${name}_details`] = { rate: sampler.rate(key, i) }
  })
  return out
}

/** Sampling keys for aggregates that have no object of their own. */
export const aggregateKeys = {
  vhostDepth: new WeakMap<Vhost, object>(),
  vhostTotals: new WeakMap<Vhost, object>(),
  vhostOctets: new WeakMap<Vhost, object>(),
  brokerDepth: new WeakMap<BrokerCore, object>(),
  brokerTotals: new WeakMap<BrokerCore, object>(),
}

export function keyFor<K extends object>(map: WeakMap<K, object>, owner: K): object {
  let key = map.get(owner)
  if (!key) map.set(owner, (key = {}))
  return key
}

export function vhostDepth(vhost: Vhost): number[] {
  const depth = [0, 0, 0]
  for (const queue of vhost.queues.values()) depthValues(queue).forEach((value, i) => (depth[i] += value))
  return depth
}

/** Everything the sampler reads every interval. */
export function* sampledValues(
  core: BrokerCore,
  channels: Iterable<{ stats: MessageStats }>,
  connections: Iterable<{ key: object; values: number[] }>,
  vhostOctets: (vhost: Vhost) => number[],
): Iterable<Sampled> {
  const brokerDepth = [0, 0, 0]
  for (const vhost of core.vhosts.values()) {
    for (const queue of vhost.queues.values()) {
      yield { key: queue.stats, values: statsValues(queue.stats) }
      yield { key: queue, values: depthValues(queue) }
    }
    for (const exchange of vhost.exchanges.values()) yield { key: exchange.stats, values: statsValues(exchange.stats) }
    yield { key: vhost.defaultExchangeStats, values: statsValues(vhost.defaultExchangeStats) }
    yield { key: keyFor(aggregateKeys.vhostTotals, vhost), values: statsValues(vhostTotals(vhost)) }
    const depth = vhostDepth(vhost)
    depth.forEach((value, i) => (brokerDepth[i] += value))
    yield { key: keyFor(aggregateKeys.vhostDepth, vhost), values: depth }
    yield { key: keyFor(aggregateKeys.vhostOctets, vhost), values: vhostOctets(vhost) }
  }
  yield { key: keyFor(aggregateKeys.brokerTotals, core), values: statsValues(brokerTotals(core)) }
  yield { key: keyFor(aggregateKeys.brokerDepth, core), values: brokerDepth }
  for (const channel of channels) yield { key: channel.stats, values: statsValues(channel.stats) }
  for (const connection of connections) yield connection
}
