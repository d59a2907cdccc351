import type { FieldTable } from '../protocol'
import type { Exchange } from './exchange'
import type { Queue } from './queue'

export type BindingDestination = { kind: 'queue'; queue: Queue } | { kind: 'exchange'; exchange: Exchange }

export interface Binding {
  readonly source: Exchange
  readonly destination: BindingDestination
  readonly routingKey: string
  readonly arguments: FieldTable
  /** identity of the binding: destination, routing key and arguments (a binding is a set member, AMQP §3.1.3.4) */
  readonly key: string
}

export function destinationName(destination: BindingDestination): string {
  return destination.kind === 'queue' ? destination.queue.name : destination.exchange.name
}
