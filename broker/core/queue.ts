import type { FieldTable } from '../protocol'
import { plainFieldValue } from '../protocol'
import type { QueueRef, RecoveredMessage, Store } from '../store/store'
import type { Binding } from './binding'
import { messageExpiration, queueSettings, type DeathReason, type QueueSettings } from './lifecycle'
import type { MemoryAccount } from './memory'
import type { QueueEntry } from './message'
import { messageFromStore, PagedReadyList, type PagingLimits } from './paging'
import { PriorityReadyList, type ReadyList } from './ready-list'
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
  /** the ready list when it pages to the store (FIFO queues; priority queues stay in memory) */
  readonly paging: PagedReadyList | undefined
  /** body bytes of the ready messages of a priority queue (a paged list counts its own: PagedReadyList.bytes) */
  private readyBytes = 0
  /** effective TTL, expiry, dead-letter and length settings (arguments combined with the policy in force) */
  settings: QueueSettings
  /** the head's message-TTL timer, and when it fires */
  private expiryTimer: NodeJS.Timeout | undefined
  private expiryTimerAt = 0
  /** x-expires: the queue goes when unused for this long */
  private unusedTimer: NodeJS.Timeout | undefined
  /** set at broker shutdown: timers are not started again */
  private stopped = false
  /** called when an auto-delete queue loses its last consumer, or an x-expires queue was unused long enough */
  onUnused: (queue: Queue) => void = () => {}
  /** called for each message the queue dead-letters (after it left the queue); set by the vhost */
  onDeadLetter: (queue: Queue, entry: QueueEntry, reason: DeathReason) => void = () => {}

  constructor(
    definition: QueueDefinition,
    readonly vhost: string,
    readonly owner: QueueOwner | undefined,
    private readonly store: Store,
    private readonly memory: MemoryAccount,
    pagingLimits: PagingLimits = { windowCount: Infinity, windowBytes: Infinity },
  ) {
    this.name = definition.name
    this.durable = definition.durable
    this.exclusive = definition.exclusive
    this.autoDelete = definition.autoDelete
    this.arguments = definition.arguments
    this.ref = { vhost, name: this.name }
    const maxPriority = Number(plainFieldValue(definition.arguments['x-max-priority'] ?? 0))
    if (maxPriority > 0) this.ready = new PriorityReadyList(Math.min(maxPriority, 255))
    else this.ready = this.paging = new PagedReadyList(store, this.ref, memory, pagingLimits, (stored) => this.revive(stored))
    this.settings = queueSettings(definition.arguments, undefined)
  }

  /** New effective settings (a policy changed): limits apply at once, message TTL to new messages (RabbitMQ). */
  applySettings(settings: QueueSettings): void {
    const expiresChanged = settings.expires !== this.settings.expires
    this.settings = settings
    if (this.deleted) return
    this.dropOverflow()
    this.dropExpired()
    if (expiresChanged) this.touch()
  }

  /** The queue was used (declared, basic.get): restarts its x-expires countdown. */
  touch(): void {
    if (this.unusedTimer) clearTimeout(this.unusedTimer)
    this.unusedTimer = undefined
    const expires = this.settings.expires
    if (expires === undefined || this.deleted || this.stopped || this.consumers.length > 0) return
    this.unusedTimer = setTimeout(() => {
      this.unusedTimer = undefined
      if (!this.deleted && this.consumers.length === 0) this.onUnused(this)
    }, expires)
    this.unusedTimer.unref?.()
  }

  /** The broker is shutting down: no more expiry of messages or of the queue. */
  stopTimers(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    if (this.unusedTimer) clearTimeout(this.unusedTimer)
    this.expiryTimer = this.unusedTimer = undefined
    this.stopped = true
  }

  /** reject-publish(-dlx): whether taking this message would exceed x-max-length / x-max-length-bytes (will_overflow). */
  wouldOverflow(size: number): boolean {
    const { maxLength, maxLengthBytes, overflow } = this.settings
    if (overflow === 'drop-head') return false
    return (maxLength !== undefined && this.ready.length + 1 > maxLength) || (maxLengthBytes !== undefined && this.messageBytes + size > maxLengthBytes)
  }

  private overLimit(): boolean {
    const { maxLength, maxLengthBytes } = this.settings
    return (maxLength !== undefined && this.ready.length > maxLength) || (maxLengthBytes !== undefined && this.messageBytes > maxLengthBytes)
  }

  /** drop-head: the oldest ready messages go (dead-lettered as maxlen) until the queue is within its limits. */
  private dropOverflow(): void {
    if (this.settings.overflow !== 'drop-head') return
    while (this.ready.length > 0 && this.overLimit()) this.deadLetter(this.shiftReady()!, 'maxlen')
  }

  /** Expired messages at the head go (dead-lettered as expired); a message's TTL takes effect at the head (RabbitMQ). */
  private dropExpired(now = Date.now()): void {
    for (;;) {
      const head = this.ready.peek()
      if (!head || head.expiresAt === undefined || head.expiresAt > now) break
      this.deadLetter(this.shiftReady()!, 'expired')
    }
    this.scheduleExpiry()
  }

  private scheduleExpiry(): void {
    const at = this.ready.peek()?.expiresAt
    if (at === undefined || this.deleted || this.stopped) {
      if (this.expiryTimer) clearTimeout(this.expiryTimer)
      this.expiryTimer = undefined
      return
    }
    if (this.expiryTimer && this.expiryTimerAt <= at) return
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.expiryTimerAt = at
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined
      if (this.deleted) return
      this.dropExpired()
      this.dispatch()
    }, Math.max(0, at - Date.now()))
    this.expiryTimer.unref?.()
  }

  private deadLetter(entry: QueueEntry, reason: DeathReason): void {
    this.discard(entry)
    if (this.settings.deadLetterExchange !== undefined) this.onDeadLetter(this, entry, reason)
  }

  private shiftReady(): QueueEntry | undefined {
    const entry = this.ready.shift()
    if (entry) this.readyBytes -= entry.message.body.length
    return entry
  }

  private pushReady(entry: QueueEntry, restore: boolean): void {
    if (restore) this.ready.restore(entry)
    else this.ready.push(entry)
    this.readyBytes += entry.message.body.length
  }

  get messageCount(): number {
    return this.ready.length
  }

  get consumerCount(): number {
    return this.consumers.length
  }

  /** Body bytes of the ready messages, paged-out ones included (x-max-length-bytes, management). */
  get messageBytes(): number {
    return this.paging ? this.paging.bytes : this.readyBytes
  }

  /** How many ready messages are persistent (paged-out ones are all persistent). */
  get persistentCount(): number {
    let count = this.paging?.paged.count ?? 0
    for (const entry of this.ready) if (entry.message.persistent) count++
    return count
  }

  /**
   * The ready messages held in memory, in delivery order (delivery state at shutdown, counts). With a paged region
   * this is not every ready message: browse() reads those too.
   */
  readyEntries(): Iterable<QueueEntry> {
    return this.ready
  }

  /** Up to `limit` ready messages from `offset` in delivery order, paged-out ones read from the store; takes nothing. */
  browse(offset: number, limit: number): QueueEntry[] {
    if (this.paging) return this.paging.browse(offset, limit)
    const out: QueueEntry[] = []
    let position = 0
    for (const entry of this.ready) {
      if (position >= offset + limit) break
      if (position >= offset) out.push(entry)
      position++
    }
    return out
  }

  /** When a message expires in this queue: x-message-ttl or its expiration, counted from when it entered the queue. */
  private setExpiry(entry: QueueEntry): void {
    const ttl = this.settings.messageTtl
    const perMessage = messageExpiration(entry.message.properties)
    const effective = ttl === undefined ? perMessage : perMessage === undefined ? ttl : Math.min(ttl, perMessage)
    if (effective !== undefined && entry.expiresAt === undefined) entry.expiresAt = (entry.enqueuedAt ?? Date.now()) + effective
  }

  /** The entry of a message read back from the store (a page of the paged region, or browsing it). */
  private revive(stored: RecoveredMessage): QueueEntry {
    const entry: QueueEntry = { message: messageFromStore(stored), redelivered: stored.redelivered, stored: true, enqueuedAt: stored.enqueuedAt }
    this.setExpiry(entry)
    return entry
  }

  /**
   * Recovery: the queue's stored messages after `afterId` (those not read at start-up), summarised by the store, are
   * the paged-out part; they are read back page by page as the queue drains.
   */
  recoverPaged(summary: { count: number; lastId: number }, afterId: number): void {
    this.paging?.recoverPaged(summary, afterId)
  }

  enqueue(entry: QueueEntry, recovered = false): void {
    this.memory.add(entry.message.body.length)
    this.stats.publish++
    this.setExpiry(entry)
    // a message that a waiting consumer can take right away goes to it, even with a TTL of 0 (RabbitMQ)
    if (!recovered && this.ready.length === 0 && this.consumers.length > 0 && !this.dispatching && !this.deleted) {
      const consumer = this.pickConsumer()
      if (consumer) {
        this.handOut(consumer, entry)
        return
      }
    }
    this.pushReady(entry, false)
    if (recovered) return
    this.dropOverflow()
    this.dropExpired()
    if (this.consumers.length > 0) this.dispatch()
  }

  /** basic.get: takes the next message, or undefined when the queue is empty. */
  take(noAck: boolean): QueueEntry | undefined {
    this.touch()
    this.dropExpired()
    const entry = this.shiftReady()
    if (!entry) {
      this.stats.getEmpty++
      return undefined
    }
    if (noAck) this.stats.getNoAck++
    else this.stats.get++
    if (entry.redelivered) this.stats.redeliver++
    if (noAck) this.discard(entry)
    else this.unackedCount++
    // the get-ok count is taken after expired messages that became the head are dropped (RabbitMQ's fetch)
    this.dropExpired()
    return entry
  }

  /** The consumer acked a delivered message (or it was rejected without requeue). */
  settle(entry: QueueEntry): void {
    this.unackedCount--
    this.stats.ack++
    this.discard(entry)
  }

  /** basic.reject / basic.nack with requeue=false: the message leaves, dead-lettered as rejected. */
  reject(entry: QueueEntry): void {
    this.unackedCount--
    if (this.deleted) return this.discard(entry)
    this.deadLetter(entry, 'rejected')
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
      this.pushReady(entry, true)
    }
    this.dropOverflow()
    this.dropExpired()
    this.dispatch()
  }

  purge(): number {
    const count = this.ready.length
    // the paged-out part goes from the store in one call; what is in memory one by one
    if (!this.deleted) this.paging?.purgePaged()
    const entries = this.ready.clear()
    this.readyBytes = 0
    for (const entry of entries) this.discard(entry)
    this.scheduleExpiry()
    return count
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer)
    this.hadConsumer = true
    if (this.unusedTimer) clearTimeout(this.unusedTimer)
    this.unusedTimer = undefined
    this.dispatch()
  }

  removeConsumer(consumer: Consumer): void {
    const index = this.consumers.indexOf(consumer)
    if (index < 0) return
    this.consumers.splice(index, 1)
    if (this.nextConsumer > index) this.nextConsumer--
    if (this.autoDelete && this.hadConsumer && this.consumers.length === 0) return this.onUnused(this)
    if (this.consumers.length === 0) this.touch()
    // single active consumer: the next one in line takes over
    else if (this.settings.singleActiveConsumer && index === 0) this.dispatch()
  }

  /** Delivers ready messages to consumers in round robin while any can take one. */
  dispatch(): void {
    if (this.dispatching || this.deleted) return
    this.dispatching = true
    try {
      const now = Date.now()
      while (this.ready.length > 0) {
        const consumer = this.pickConsumer()
        if (!consumer) break
        // (peek may read a page back from the store; it comes back empty only if the store lost messages)
        const head = this.ready.peek()
        if (!head) break
        if (head.expiresAt !== undefined && head.expiresAt <= now) {
          this.dropExpired(now)
          continue
        }
        this.handOut(consumer, this.shiftReady()!)
      }
    } finally {
      this.dispatching = false
    }
  }

  private handOut(consumer: Consumer, entry: QueueEntry): void {
    if (consumer.noAck) this.stats.deliverNoAck++
    else this.stats.deliver++
    if (entry.redelivered) this.stats.redeliver++
    if (consumer.noAck) this.discard(entry)
    else this.unackedCount++
    consumer.deliver(this, entry)
  }

  private pickConsumer(): Consumer | undefined {
    // single active consumer: only the longest-registered consumer receives (RabbitMQ x-single-active-consumer)
    if (this.settings.singleActiveConsumer) return this.consumers.length > 0 && this.consumers[0].canAccept() ? this.consumers[0] : undefined
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
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    if (this.unusedTimer) clearTimeout(this.unusedTimer)
    this.expiryTimer = this.unusedTimer = undefined
    const count = this.ready.length
    this.readyBytes = 0
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
