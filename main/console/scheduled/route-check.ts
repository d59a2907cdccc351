/**
 * Does an exchange route a routing key (and headers) to at least one queue right now? The console asks before it
 * schedules a message, from the management API's exchanges and bindings. The matching is RabbitMQ's: direct, fanout,
 * topic, headers (all / any / all-with-x / any-with-x), x-delayed-message by its x-delayed-type, exchange-to-exchange
 * bindings followed once each, and an `alternate-exchange` argument when nothing matches. (An alternate exchange set
 * by policy is not seen.)
 */
import type { ArgTable } from '../../contract'
import { bindingMatches, routingType } from '../routing'

export interface ExchangeFacts {
  name: string
  type: string
  arguments: ArgTable
  bindings: Array<{ destination: string; destinationType: 'queue' | 'exchange'; routingKey: string; arguments: ArgTable }>
}

/** The queues reached from `exchange` (undefined when it does not exist); `lookup` fetches an exchange's facts. */
export async function reachableQueues(
  lookup: (name: string) => Promise<ExchangeFacts | undefined>,
  exchange: string,
  key: string,
  headers: ArgTable | undefined,
): Promise<string[] | undefined> {
  const queues = new Set<string>()
  const visited = new Set<string>()
  const start = await lookup(exchange)
  if (!start) return undefined
  const walk = async (x: ExchangeFacts, allowAlternate: boolean): Promise<void> => {
    visited.add(x.name)
    const type = routingType(x)
    const matched = x.bindings.filter((b) => bindingMatches(type, b, key, headers))
    if (matched.length === 0 && allowAlternate) {
      const alternate = x.arguments['alternate-exchange']
      if (typeof alternate === 'string' && !visited.has(alternate)) {
        const ae = await lookup(alternate)
        if (ae) await walk(ae, true)
      }
      return
    }
    for (const b of matched) {
      if (b.destinationType === 'queue') queues.add(b.destination)
      else if (!visited.has(b.destination)) {
        const next = await lookup(b.destination)
        if (next) await walk(next, true)
      }
    }
  }
  await walk(start, true)
  return [...queues].sort()
}
