import type { FieldTable } from '../protocol'
import type { Binding } from './binding'
import type { RoutingTable } from './exchanges'
import { MessageStats } from './stats'

export interface ExchangeDefinition {
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  arguments: FieldTable
}

export class Exchange implements ExchangeDefinition {
  readonly name: string
  readonly type: string
  readonly durable: boolean
  readonly autoDelete: boolean
  readonly internal: boolean
  readonly arguments: FieldTable
  /** bindings where this exchange is the source, by binding key */
  readonly bindings = new Map<string, Binding>()
  /** bindings where this exchange is the destination (exchange-to-exchange) */
  readonly incoming = new Set<Binding>()
  /** management API counters (publish_in / publish_out) */
  readonly stats = new MessageStats()

  constructor(
    definition: ExchangeDefinition,
    readonly vhost: string,
    private readonly routing: RoutingTable,
  ) {
    this.name = definition.name
    this.type = definition.type
    this.durable = definition.durable
    this.autoDelete = definition.autoDelete
    this.internal = definition.internal
    this.arguments = definition.arguments
  }

  addBinding(binding: Binding): boolean {
    if (this.bindings.has(binding.key)) return false
    this.routing.add(binding)
    this.bindings.set(binding.key, binding)
    return true
  }

  removeBinding(binding: Binding): void {
    if (!this.bindings.delete(binding.key)) return
    this.routing.remove(binding)
  }

  route(routingKey: string, headers: FieldTable | undefined, matches: Set<Binding>): void {
    this.routing.route(routingKey, headers, matches)
  }
}
