import type { FieldTable } from '../../protocol'
import type { Binding } from '../binding'
import type { RoutingTable } from './exchange-type'

/** fanout: every binding matches, whatever the routing key (AMQP 0-9-1 §3.1.3.2). */
export class FanoutRoutingTable implements RoutingTable {
  private readonly bindings = new Set<Binding>()

  add(binding: Binding): void {
    this.bindings.add(binding)
  }

  remove(binding: Binding): void {
    this.bindings.delete(binding)
  }

  route(_routingKey: string, _headers: FieldTable | undefined, matches: Set<Binding>): void {
    for (const binding of this.bindings) matches.add(binding)
  }
}
