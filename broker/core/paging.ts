/**
 * Paging of queue messages to the store, so a long queue holds only a bounded window of ready messages in memory
 * and a restart does not read whole queues.
 *
 * A FIFO queue's ready messages are kept in three parts, always in this delivery order:
 *
 *   head   — in memory (a FifoReadyList): at most a window of messages (PagingLimits: count and body bytes), plus
 *            whatever comes back from consumers (requeues; those messages were in memory anyway);
 *   paged  — NOT in memory: the queue's stored messages with ids in (pagedAfter, pagedLast]. Only counted (count,
 *            body bytes, id range); the store has them, and they are read back in id order;
 *   tail   — in memory: messages that arrived behind the paged region but cannot be paged out because the store does
 *            not have them (transient messages, or persistent ones in a non-durable queue), and everything that
 *            arrives after such a message, so the order stays right. It joins the head once the region has drained.
 *
 * Arrival: with no paged region, a message joins the head while the head is within its window; a stored message
 * (persistent, durable queue: QueueEntry.stored) that arrives with the head full starts the region instead, and later
 * stored arrivals extend it — the message is dropped from memory at once (MemoryAccount adjusted). Messages only ever
 * enter the region at its end, so the region is always "every stored entry of this queue with an id in the range".
 *
 * Read back: when the head falls below half its window (or is empty when the head is looked at), the next page is read
 * from the store (readMessages after pagedAfter, only ids up to pagedLast) and appended to the head. Message ids are
 * broker-wide and increasing, so id order is the queue's order (FifoReadyList.restore relies on it too).
 *
 * Group commit: a message is paged out right after Store.addMessage, before its batch is committed. That is safe
 * because both stores read their pending writes: readMessages/countMessages include messages queued for commit
 * (test/unit/core/paging.test.ts covers it with a long batch delay). Nothing waits for whenCommitted here.
 *
 * Requeue: a delivered message came from the head, and the head's ids are all <= pagedAfter (the region only grows
 * at its end and pagedAfter only grows), so a requeued message goes back into the head at its id's place. Should one
 * ever fall inside the region's range it is marked delivered in the store and counted into the region, so it pages
 * back in its place with redelivered set.
 *
 * Purge removes the region with one store call (Store.removeMessageRange); queue delete leaves it to
 * Store.deleteQueue. Browsing (the HTTP API's GET .../messages) reads the region from the store without changing
 * anything. Recovery (BrokerCore.recover) reads the first window and only a summary (count, bytes, last id: Store.
 * queueSummary) of the rest, so start-up time does not grow with the length of queues.
 *
 * Limits: priority queues (x-max-priority) are not paged (one FIFO per level, all in memory). A transient message
 * behind a paged region makes every later message stay in memory until the region has drained (the tail); the memory
 * alarm (connection.blocked) still bounds that. With a store that keeps bodies in memory (the memory store) paging
 * is off unless asked for (it would only hide those bodies from the memory alarm).
 */
import { decodeBasicProperties } from '../protocol'
import type { QueueRef, RecoveredMessage, Store } from '../store/store'
import type { MemoryAccount } from './memory'
import type { Message, QueueEntry } from './message'
import { FifoReadyList, type ReadyList } from './ready-list'

export interface PagingOptions {
  /** ready messages a queue keeps in memory before stored ones are paged out (default DEFAULT_WINDOW_COUNT) */
  windowCount?: number
  /** body bytes of ready messages a queue keeps in memory before stored ones are paged out (default DEFAULT_WINDOW_BYTES) */
  windowBytes?: number
}

export interface PagingLimits {
  readonly windowCount: number
  readonly windowBytes: number
}

/** The in-memory window of a queue's ready messages (per queue). */
export const DEFAULT_WINDOW_COUNT = 4096
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024
/** Messages recovery reads first, before it knows their size. */
const FIRST_RECOVERY_CHUNK = 64
/** Messages read from the store per call when browsing or skipping. */
const BROWSE_PAGE = 1000

/**
 * The limits in force: the given ones, else the defaults — except over a store that keeps bodies in memory anyway
 * (the memory store), where paging is off unless a window is given explicitly (tests).
 */
export function pagingLimits(options: PagingOptions | undefined, store: Store): PagingLimits {
  const explicit = options?.windowCount !== undefined || options?.windowBytes !== undefined
  if (!explicit && store.holdsBodiesInMemory) return { windowCount: Infinity, windowBytes: Infinity }
  return {
    windowCount: Math.max(1, options?.windowCount ?? DEFAULT_WINDOW_COUNT),
    windowBytes: Math.max(1, options?.windowBytes ?? DEFAULT_WINDOW_BYTES),
  }
}

/** A message as the core holds it, from its stored form (recovery, reading a page back). */
export function messageFromStore(stored: RecoveredMessage): Message {
  return {
    id: stored.id,
    exchange: stored.exchange,
    routingKey: stored.routingKey,
    properties: decodeBasicProperties(stored.properties),
    encodedProperties: stored.properties,
    body: stored.body,
    persistent: true,
  }
}

/** What the queue knows of the part of a queue that is not in memory. */
export interface PagedSummary {
  count: number
  bytes: number
  /** ids in (afterId, lastId] */
  afterId: number
  lastId: number
}

/** A FIFO ready list that pages stored messages out to the store beyond its window (see the top of this file). */
export class PagedReadyList implements ReadyList {
  private readonly head = new FifoReadyList()
  private headBytes = 0
  private readonly tail = new FifoReadyList()
  private tailBytes = 0
  private pagedCount = 0
  private pagedBytes = 0
  private pagedAfter = 0
  private pagedLast = 0
  /** store reads made to bring pages back (tests use it as timing-free evidence) */
  pageReads = 0

  constructor(
    private readonly store: Store,
    private readonly ref: QueueRef,
    private readonly memory: MemoryAccount,
    readonly limits: PagingLimits,
    /** makes the queue entry of a message read back from the store (expiry is the queue's business) */
    private readonly revive: (stored: RecoveredMessage) => QueueEntry,
  ) {}

  get length(): number {
    return this.head.length + this.pagedCount + this.tail.length
  }

  /** The paged-out part (count 0 when everything is in memory). */
  get paged(): PagedSummary {
    return { count: this.pagedCount, bytes: this.pagedBytes, afterId: this.pagedAfter, lastId: this.pagedLast }
  }

  /**
   * Body bytes of all ready messages. The paged region's share is exact, except after a restart: recovery estimates it
   * from the first window's average body size (summing a long queue's bodies would read the whole database); the
   * estimate goes away when the region has drained.
   */
  get bytes(): number {
    return this.headBytes + this.pagedBytes + this.tailBytes
  }

  /** Ready messages held in memory (head and tail). */
  get inMemory(): number {
    return this.head.length + this.tail.length
  }

  private headFull(): boolean {
    return this.head.length >= this.limits.windowCount || this.headBytes >= this.limits.windowBytes
  }

  push(entry: QueueEntry): void {
    const id = entry.message.id
    const size = entry.message.body.length
    if (this.pagedCount === 0) {
      if (!entry.stored || !this.headFull()) {
        this.head.push(entry)
        this.headBytes += size
        return
      }
      // the head is full: this stored message starts the paged region
      this.pagedAfter = id - 1
      this.pagedLast = id
      this.pagedCount = 1
      this.pagedBytes = size
      this.memory.remove(size)
      return
    }
    if (this.tail.length === 0 && entry.stored && id > this.pagedLast) {
      this.pagedLast = id
      this.pagedCount++
      this.pagedBytes += size
      this.memory.remove(size)
      return
    }
    this.tail.push(entry)
    this.tailBytes += size
  }

  shift(): QueueEntry | undefined {
    if (this.head.length === 0) this.refill()
    const entry = this.head.shift()
    if (!entry) return undefined
    this.headBytes -= entry.message.body.length
    if (this.pagedCount > 0 && this.head.length < this.limits.windowCount / 2 && this.headBytes < this.limits.windowBytes / 2) this.refill()
    return entry
  }

  peek(): QueueEntry | undefined {
    if (this.head.length === 0) this.refill()
    return this.head.peek()
  }

  restore(entry: QueueEntry): void {
    const id = entry.message.id
    const size = entry.message.body.length
    if (this.pagedCount === 0 || id <= this.pagedAfter) {
      this.head.restore(entry)
      this.headBytes += size
    } else if (id <= this.pagedLast && entry.stored) {
      // inside the paged range: the store has it; it comes back in its place, flagged redelivered
      if (entry.redelivered) this.store.markDelivered(this.ref, id)
      this.pagedCount++
      this.pagedBytes += size
      this.memory.remove(size)
    } else {
      this.tail.restore(entry)
      this.tailBytes += size
    }
  }

  /** Removes and returns the entries in memory; the paged region is forgotten (purgePaged removes it from the store). */
  clear(): QueueEntry[] {
    const all = [...this.head.clear(), ...this.tail.clear()]
    this.headBytes = this.tailBytes = 0
    this.resetPaged()
    return all
  }

  /** Purge: removes the paged region's messages from the store in one call. */
  purgePaged(): void {
    if (this.pagedCount > 0) this.store.removeMessageRange(this.ref, this.pagedAfter, this.pagedLast)
    this.resetPaged()
    this.mergeTail()
  }

  /**
   * Recovery: the queue's stored messages after `afterId` (not read) become the paged region. Their bytes are
   * estimated from the average body size of what recovery read (see `bytes`).
   */
  recoverPaged(summary: { count: number; lastId: number }, afterId: number): void {
    if (summary.count <= 0 || summary.lastId <= afterId) return
    const inMemory = this.head.length + this.pagedCount
    const average = inMemory > 0 ? (this.headBytes + this.pagedBytes) / inMemory : 0
    if (this.pagedCount === 0) this.pagedAfter = afterId
    this.pagedLast = Math.max(this.pagedLast, summary.lastId)
    this.pagedCount += summary.count
    this.pagedBytes += Math.round(summary.count * average)
  }

  /**
   * Recovery: how many messages to read next to fill the window (0: it is full, summarise the rest). The first read
   * is small, later ones are sized by the average body so far, so large messages do not overshoot windowBytes.
   */
  recoveryChunk(): number {
    if (this.pagedCount > 0 || this.headFull()) return 0
    const room = this.limits.windowCount - this.head.length
    if (this.head.length === 0) return Math.min(FIRST_RECOVERY_CHUNK, room)
    const average = this.headBytes / this.head.length
    const byBytes = average > 0 ? Math.floor((this.limits.windowBytes - this.headBytes) / average) : room
    return Math.max(1, Math.min(room, byBytes))
  }

  /** Entries in memory, in delivery order (head, then tail; the paged region between them is not included). */
  *[Symbol.iterator](): Iterator<QueueEntry> {
    yield* this.head
    yield* this.tail
  }

  /**
   * Up to `limit` ready messages from position `offset`, in delivery order, without changing the queue: the paged
   * region is read from the store (the entries returned for it are copies, not held by the queue).
   */
  browse(offset: number, limit: number): QueueEntry[] {
    const out: QueueEntry[] = []
    const end = offset + limit
    let position = 0
    for (const entry of this.head) {
      if (position >= end) return out
      if (position >= offset) out.push(entry)
      position++
    }
    if (this.pagedCount > 0 && position < end) {
      if (offset >= position + this.pagedCount) position += this.pagedCount
      else {
        let after = this.pagedAfter
        const regionEnd = position + this.pagedCount
        // skip to offset
        while (position < offset) {
          const page = this.store.readMessages(this.ref, after, Math.min(BROWSE_PAGE, offset - position))
          const inRange = page.filter((m) => m.id <= this.pagedLast)
          if (inRange.length === 0) break
          after = inRange[inRange.length - 1].id
          position += inRange.length
        }
        while (position < end && position < regionEnd) {
          const page = this.store.readMessages(this.ref, after, Math.min(BROWSE_PAGE, end - position, regionEnd - position))
          const inRange = page.filter((m) => m.id <= this.pagedLast)
          if (inRange.length === 0) break
          for (const stored of inRange) out.push(this.revive(stored))
          after = inRange[inRange.length - 1].id
          position += inRange.length
        }
        position = regionEnd
      }
    }
    for (const entry of this.tail) {
      if (position >= end) break
      if (position >= offset) out.push(entry)
      position++
    }
    return out
  }

  /** Reads the next page of the region back into the head, up to the window. */
  private refill(): void {
    if (this.pagedCount === 0) return
    const room = this.limits.windowCount - this.head.length
    const average = this.pagedBytes / this.pagedCount
    const byBytes = average > 0 ? Math.floor((this.limits.windowBytes - this.headBytes) / average) : room
    const want = Math.max(1, Math.min(this.pagedCount, room, byBytes))
    const page = this.store.readMessages(this.ref, this.pagedAfter, want)
    this.pageReads++
    let taken = 0
    for (const stored of page) {
      if (stored.id > this.pagedLast) break
      const entry = this.revive(stored)
      const size = entry.message.body.length
      this.head.push(entry)
      this.headBytes += size
      this.memory.add(size)
      this.pagedCount--
      this.pagedBytes = Math.max(0, this.pagedBytes - size)
      this.pagedAfter = stored.id
      taken++
      if (this.pagedCount === 0) break
    }
    // the store has fewer than counted (it should not happen): what it has is all there is
    if (taken === 0 || this.pagedCount <= 0) {
      this.resetPaged()
      this.mergeTail()
    }
  }

  private resetPaged(): void {
    this.pagedCount = 0
    this.pagedBytes = 0
    this.pagedAfter = 0
    this.pagedLast = 0
  }

  /** The region drained: the tail joins the head. */
  private mergeTail(): void {
    for (const entry of this.tail.clear()) this.head.push(entry)
    this.headBytes += this.tailBytes
    this.tailBytes = 0
  }
}
