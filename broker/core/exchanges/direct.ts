import type { FieldTable } from '../../protocol'
import type { Binding } from '../binding'
import type { RoutingTable } from './exchange-type'

/** direct: the routing key equals the binding key (AMQP 0-9-1 §3.1.3.1). */
export class DirectRoutingTable implements RoutingTable {
  private readonly byKey = new Map<string, Set<Binding>>()

  add(binding: Binding): void {
    let set = this.byKey.get(binding.routingKey)
    if (!set) this.byKey.set(binding.routingKey, (set = new Set()))
    set.add(binding)
  }

  remove(binding: Binding): void {
    const set = this.byKey.get(binding.routingKey)
    if (!set) return
    set.delete(binding)
    if (set.size === 0) this.byKey.delete(binding.routingKey)
  }

  route(routingKey: string, _headers: FieldTable | undefined, matches: Set<Binding>): void {
    const set = this.byKey.get(routingKey)
    if (set) for (const binding of set) matches.add(binding)
  }
}
