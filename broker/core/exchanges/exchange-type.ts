import type { FieldTable } from '../../protocol'
import type { Binding } from '../binding'

/**
 * One routing algorithm. Each exchange type keeps its own index of bindings, so routing never scans bindings
 * that cannot match (LavinMQ and RabbitMQ keep per-type routing tables the same way).
 */
export interface RoutingTable {
  add(binding: Binding): void
  remove(binding: Binding): void
  /** Adds every binding matching the message to `matches`. */
  route(routingKey: string, headers: FieldTable | undefined, matches: Set<Binding>): void
}
