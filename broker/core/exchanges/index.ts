import type { RoutingTable } from './exchange-type'
import { DirectRoutingTable } from './direct'
import { FanoutRoutingTable } from './fanout'
import { HeadersRoutingTable } from './headers'
import { TopicRoutingTable } from './topic'

export type { RoutingTable } from './exchange-type'
export { headersMatchMode } from './headers'

const routingTables: Record<string, () => RoutingTable> = {
  direct: () => new DirectRoutingTable(),
  fanout: () => new FanoutRoutingTable(),
  topic: () => new TopicRoutingTable(),
  headers: () => new HeadersRoutingTable(),
}

export const exchangeTypes = Object.keys(routingTables)

/** The routing table of an exchange type, or undefined for a type the broker does not know. */
export function createRoutingTable(type: string): RoutingTable | undefined {
  // own keys only: a type named "__proto__" or "constructor" is just an unknown type (found by test/soak/fuzz-http)
  return Object.hasOwn(routingTables, type) ? routingTables[type]() : undefined
}
