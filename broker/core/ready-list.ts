import type { QueueEntry } from './message'

/** The messages of a queue that wait for delivery, in delivery order. */
export interface ReadyList {
  readonly length: number
  push(entry: QueueEntry): void
  shift(): QueueEntry | undefined
  peek(): QueueEntry | undefined
  /** Puts a requeued entry back at the place its message id gives it (RabbitMQ keeps the original position). */
  restore(entry: QueueEntry): void
  /** Removes and returns everything. */
  clear(): QueueEntry[]
  [Symbol.iterator](): Iterator<QueueEntry>
}

/** FIFO with an advancing head index; compacted once the consumed prefix dominates, so shift is O(1) amortised. */
export class FifoReadyList implements ReadyList {
  private items: QueueEntry[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(entry: QueueEntry): void {
    this.items.push(entry)
  }

  shift(): QueueEntry | undefined {
    if (this.head >= this.items.length) return undefined
    const entry = this.items[this.head]
    this.items[this.head++] = undefined as unknown as QueueEntry
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return entry
  }

  peek(): QueueEntry | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  restore(entry: QueueEntry): void {
    const id = entry.message.id
    let low = this.head
    let high = this.items.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.items[mid].message.id < id) low = mid + 1
      else high = mid
    }
    if (low === this.head && this.head > 0) this.items[--this.head] = entry
    else this.items.splice(low, 0, entry)
  }

  clear(): QueueEntry[] {
    const all = this.items.slice(this.head)
    this.items = []
    this.head = 0
    return all
  }

  *[Symbol.iterator](): Iterator<QueueEntry> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]
  }
}

/**
 * Priority queue as RabbitMQ's x-max-priority: one FIFO per priority level, highest first; a message's priority
 * above the maximum counts as the maximum, a missing priority as 0.
 */
export class PriorityReadyList implements ReadyList {
  private readonly levels: FifoReadyList[]
  private count = 0

  constructor(readonly maxPriority: number) {
    this.levels = Array.from({ length: maxPriority + 1 }, () => new FifoReadyList())
  }

  get length(): number {
    return this.count
  }

  private levelOf(entry: QueueEntry): FifoReadyList {
    const priority = entry.message.properties.priority ?? 0
    return this.levels[Math.min(Math.max(priority, 0), this.maxPriority)]
  }

  push(entry: QueueEntry): void {
    this.levelOf(entry).push(entry)
    this.count++
  }

  private highest(): FifoReadyList | undefined {
    for (let i = this.maxPriority; i >= 0; i--) if (this.levels[i].length > 0) return this.levels[i]
    return undefined
  }

  shift(): QueueEntry | undefined {
    const entry = this.highest()?.shift()
    if (entry) this.count--
    return entry
  }

  peek(): QueueEntry | undefined {
    return this.highest()?.peek()
  }

  restore(entry: QueueEntry): void {
    this.levelOf(entry).restore(entry)
    this.count++
  }

  clear(): QueueEntry[] {
    this.count = 0
    return this.levels.toReversed().flatMap((level) => level.clear())
  }

  *[Symbol.iterator](): Iterator<QueueEntry> {
    for (let i = this.maxPriority; i >= 0; i--) yield* this.levels[i]
  }
}
