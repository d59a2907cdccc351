import type { FieldTable } from '../protocol'
import { plainFieldValue } from '../protocol'
import type { QueueRef, Store } from '../store/store'
import type { Binding } from './binding'
import type { MemoryAccount } from './memory'
import type { QueueEntry } from './message'
import { FifoReadyList, PriorityReadyList, type ReadyList } from './ready-list'
import { MessageStats } from './stats'

export interface QueueDefinition {
  name: string
  durable: boolean
  exclusive: boolean
  autoDelete: boolean
  arguments: FieldTable
}

/** What a queue needs of a consumer; the AMQP channel implements it. */
export interface Consumer {
  readonly tag: string
  readonly noAck: boolean
  readonly exclusive: boolean
  /** false while prefetch is used up, flow is off or the client's socket is backed up */
  canAccept(): boolean
  /** Takes the entry; with noAck=false the consumer holds it until it is acked, rejected or returned. */
  deliver(queue: Queue, entry: QueueEntry): void
  /** The queue went away (deleted): consumer_cancel_notify clients get basic.cancel. */
  cancelledByServer(queue: Queue): void
}

/** The connection that owns an exclusive queue. */
export type QueueOwner = object

export class Queue implements QueueDefinition {
  readonly name: string
  readonly durable: boolean
  readonly exclusive: boolean
  readonly autoDelete: boolean
  readonly arguments: FieldTable
  readonly ref: QueueRef
  readonly bindings = new Set<Binding>()
  readonly consumers: Consumer[] = []
  deleted = false
  /** messages delivered and not yet acked, rejected or returned */
  unackedCount = 0
  /** message_stats of the management API (plain counters; rates are sampled elsewhere) */
  readonly stats = new MessageStats()
  /** an auto-delete queue goes when its last consumer leaves, but only once it has had one (RabbitMQ) */
  private hadConsumer = false
  private nextConsumer = 0
  private dispatching = false
  private readonly ready: ReadyList
  /** called when an auto-delete queue loses its last consumer */
  onUnused: (queue: Queue) => void = () => {}

  constructor(
    definition: QueueDefinition,
    readonly vhost: string,
    readonly owner: QueueOwner | undefined,
    private readonly store: Store,
    private readonly memory: MemoryAccount,
  ) {
    this.name = definition.name
    this.durable = definition.durable
    this.exclusive = definition.exclusive
    this.autoDelete = definition.autoDelete
    this.arguments = definition.arguments
    this.ref = { vhost, name: this.name }
    const maxPriority = Number(plainFieldValue(definition.arguments['x-max-priority'] ?? 0))
    this.ready = maxPriority > 0 ? new PriorityReadyList(Math.min(maxPriority, 255)) : new FifoReadyList()
  }

  get messageCount(): number {
    return this.ready.length
  }

  get consumerCount(): number {
    return this.consumers.length
  }

  /** The ready messages, in delivery order (for browsing; does not take them). */
  readyEntries(): Iterable<QueueEntry> {
    return this.ready
  }

  enqueue(entry: QueueEntry): void {
    this.memory.add(entry.message.body.length)
    this.stats.publish++
    this.ready.push(entry)
    if (this.consumers.length > 0) this.dispatch()
  }

  /** basic.get: takes the next message, or undefined when the queue is empty. */
  take(noAck: boolean): QueueEntry | undefined {
    const entry = this.ready.shift()
    if (!entry) {
      this.stats.getEmpty++
      return undefined
    }
    if (noAck) this.stats.getNoAck++
    else this.stats.get++
    if (entry.redelivered) this.stats.redeliver++
    if (noAck) this.discard(entry)
    else this.unackedCount++
    return entry
  }

  /** The consumer acked a delivered message (or it was rejected without requeue). */
  settle(entry: QueueEntry): void {
    this.unackedCount--
    this.stats.ack++
    this.discard(entry)
  }

  /** Unacked messages come back to their original place, marked redelivered (basic.reject/nack/recover, close). */
  requeue(entries: QueueEntry[]): void {
    if (this.deleted) {
      this.unackedCount -= entries.length
      return
    }
    for (const entry of entries) {
      this.unackedCount--
      entry.redelivered = true
      this.ready.restore(entry)
    }
    this.dispatch()
  }

  purge(): number {
    const entries = this.ready.clear()
    for (const entry of entries) this.discard(entry)
    return entries.length
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer)
    this.hadConsumer = true
    this.dispatch()
  }

  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer)
    if (index < 0) return
    this.consumers.splice(index, 1)
    if (this.nextConsumer > index) this.nextConsumer--
    if (this.autoDelete && this.hadConsumer && this.consumers.length === 0) this.onUnused(this)
  }

  /** Delivers ready messages to consumers in round robin while any can take one. */
  dispatch(): void {
    if (this.dispatching || this.deleted) return
    this.dispatching = true
    try {
      while (this.ready.length > 0) {
        const consumer = this.pickConsumer()
        if (!consumer) break
        const entry = this.ready.shift()!
        if (consumer.noAck) this.stats.deliverNoAck++
        else this.stats.deliver++
        if (entry.redelivered) this.stats.redeliver++
        if (consumer.noAck) this.discard(entry)
        else this.unackedCount++
        consumer.deliver(this, entry)
      }
    } finally {
      this.dispatching = false
    }
  }

  private pickConsumer(): Consumer | undefined {
    const count = this.consumers.length
    for (let i = 0; i < count; i++) {
      const index = (this.nextConsumer + i) % count
      const consumer = this.consumers[index]
      if (consumer.canAccept()) {
        this.nextConsumer = (index + 1) % count
        return consumer
      }
    }
    return undefined
  }

  /** The queue is being deleted: consumers are cancelled, messages dropped; returns the ready count. */
  destroy(): number {
    this.deleted = true
    const count = this.ready.length
    for (const entry of this.ready.clear()) this.memory.remove(entry.message.body.length)
    for (const consumer of this.consumers.splice(0)) consumer.cancelledByServer(this)
    return count
  }

  /** A message leaves the queue for good. */
  private discard(entry: QueueEntry): void {
    this.memory.remove(entry.message.body.length)
    if (entry.stored && !this.deleted) {
      entry.stored = false
      this.store.removeMessage(this.ref, entry.message.id)
    }
  }
}
