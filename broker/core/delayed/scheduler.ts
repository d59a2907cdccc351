import type { ScheduledCursor, ScheduledMessage, Store } from '../../store/store'
import { UnroutedLog, type DueOutcome, type UnroutedLogOptions } from './unrouted'

export interface DelayedSchedulerOptions {
  /** How many of the next due messages are kept in memory (the window refills from the store). Default 1000. */
  windowSize?: number
  /** Bytes of bodies the window may hold before it is trimmed back. Default 64 MiB. */
  windowBytes?: number
  /** At most this many due messages are delivered per turn of the event loop. Default 2000. */
  deliveryBatch?: number
  /** Clock, for tests. */
  now?: () => number
  /** A due message could not be delivered (routing threw); the others go on. Default: a process warning. */
  onError?: (error: unknown, message: ScheduledMessage) => void
  /** bounds of the record of due messages that reached no queue */
  unrouted?: UnroutedLogOptions
}

interface Entry {
  message: ScheduledMessage
  /** cancelled or moved while in the heap: skipped when it comes up */
  dead: boolean
}

const compareDue = (a: ScheduledCursor, b: ScheduledCursor) => a.dueAt - b.dueAt || a.id - b.id
const entryBefore = (a: Entry, b: Entry) => compareDue(a.message, b.message) < 0

/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Holds the messages of every delayed-message exchange until they fall due, then hands them to `deliver`.
 *
 * All scheduled messages live in the store; memory holds only a window: a min-heap of the earliest ones, exactly
 * those whose (dueAt, id) is at or before `loadedUpTo` (all of them while `complete`). Publishing a message due
 * later than the window costs one store write and nothing in memory. The window is refilled from the store (in due
 * order) when it runs low, and trimmed when it grows past twice its size. One timer is armed for the earliest
 * message of the window, never one per message.
 */
export class DelayedScheduler {
  private readonly windowSize: number
  private readonly windowBytes: number
  private readonly deliveryBatch: number
  private readonly now: () => number
  private readonly onError: (error: unknown, message: ScheduledMessage) => void

  private heap: Entry[] = []
  private readonly live = new Map<number, Entry>()
  private liveBytes = 0
  /** every stored message with (dueAt, id) <= loadedUpTo is in the window */
  private loadedUpTo: ScheduledCursor | undefined
  /** every stored message is in the window */
  private complete = false
  private started = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private timerDue = Infinity
  private immediate: NodeJS.Immediate | undefined
  /** due messages that reached no queue (the plugin drops them silently; Warren shows them) */
  readonly unrouted: UnroutedLog

  /**
   * `deliver` routes a due message; when it returns an outcome saying the message reached no queue, the message is
   * recorded in `unrouted`.
   */
  constructor(
    private readonly store: Store,
    private readonly deliver: (message: ScheduledMessage) => unknown,
    options: DelayedSchedulerOptions = {},
  ) {
    this.unrouted = new UnroutedLog(options.unrouted)
    this.windowSize = Math.max(1, options.windowSize ?? 1000)
    this.windowBytes = Math.max(1, options.windowBytes ?? 64 * 1024 * 1024)
    this.deliveryBatch = Math.max(1, options.deliveryBatch ?? 2000)
    this.now = options.now ?? Date.now
    this.onError =
      options.onError ??
      ((error, message) => process.emitWarning(`delayed message ${message.id} of exchange '${message.exchange}' could not be delivered: ${String(error)}`))
  }

  /** Loads the first window and arms the timer; messages that fell due while the broker was down go out at once. */
  start(): void {
    if (this.started) return
    this.started = true
    this.fill()
    this.arm()
  }

  /** Stops the timer; nothing is delivered afterwards (the store keeps every scheduled message). */
  stop(): void {
    this.stopped = true
    this.clearTimer()
    if (this.immediate) clearImmediate(this.immediate)
    this.immediate = undefined
  }

  /** Messages currently held in memory (for tests and the scale check). */
  get windowCount(): number {
    return this.live.size
  }

  /** Stores a message and, when it falls inside the window, adds it there. */
  schedule(message: ScheduledMessage): void {
    this.store.addScheduled(message)
    if (this.inWindowRange(message)) {
      this.push(message)
      if (this.live.size > 2 * this.windowSize || this.liveBytes > this.windowBytes) this.trim()
      this.arm()
    }
  }

  /** Removes a scheduled message; false when there is none. */
  cancel(id: number): boolean {
    if (!this.store.removeScheduled(id)) return false
    this.forget(id)
    this.arm()
    return true
  }

  /** Moves a scheduled message to a new due time; false when there is none. */
  reschedule(id: number, dueAt: number): boolean {
    const inMemory = this.live.get(id)?.message
    if (!this.store.rescheduleScheduled(id, dueAt)) return false
    this.forget(id)
    const moved = inMemory ? { ...inMemory, dueAt: Math.round(dueAt) } : this.store.getScheduled(id)
    if (moved && this.inWindowRange(moved)) this.push(moved)
    this.arm()
    return true
  }

  /** Delivers a scheduled message now, whatever its due time; false when there is none. */
  deliverNow(id: number): boolean {
    const message = this.live.get(id)?.message ?? this.store.getScheduled(id)
    if (!message || !this.store.removeScheduled(id)) return false
    this.forget(id)
    this.hand(message)
    this.arm()
    return true
  }

  /** Drops every scheduled message of an exchange (or of a whole vhost); returns how many. */
  drop(vhost: string, exchange?: string): number {
    const dropped = this.store.dropScheduled(vhost, exchange)
    if (dropped === 0) return 0
    for (const entry of [...this.live.values()]) {
      const m = entry.message
      if (m.vhost === vhost && (exchange === undefined || m.exchange === exchange)) this.forget(m.id)
    }
    this.arm()
    return dropped
  }

  // ------------------------------------------------------------------------------------------------ the window

  private inWindowRange(message: ScheduledCursor): boolean {
    return this.complete || (this.loadedUpTo !== undefined && compareDue(message, this.loadedUpTo) <= 0)
  }

  private push(message: ScheduledMessage): void {
    const entry: Entry = { message, dead: false }
    this.live.set(message.id, entry)
    this.liveBytes += message.body.length
    const heap = this.heap
    heap.push(entry)
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (!entryBefore(heap[i], heap[parent])) break
      ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  /** The earliest live entry, without taking it (dead entries on top are dropped on the way). */
  private peek(): Entry | undefined {
    while (this.heap.length > 0 && this.heap[0].dead) this.popTop()
    return this.heap[0]
  }

  private popTop(): Entry | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last) {
      heap[0] = last
      for (let i = 0; ; ) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < heap.length && entryBefore(heap[left], heap[smallest])) smallest = left
        if (right < heap.length && entryBefore(heap[right], heap[smallest])) smallest = right
        if (smallest === i) break
        ;[heap[i], heap[smallest]] = [heap[smallest], heap[i]]
        i = smallest
      }
    }
    return top
  }

  private forget(id: number): void {
    const entry = this.live.get(id)
    if (!entry) return
    entry.dead = true
    this.live.delete(id)
    this.liveBytes -= entry.message.body.length
    // many dead entries (cancels, reschedules): rebuild rather than let the heap fill with corpses
    if (this.heap.length > 64 && this.heap.length > 2 * this.live.size) this.rebuild([...this.live.values()])
  }

  private rebuild(entries: Entry[]): void {
    entries.sort((a, b) => compareDue(a.message, b.message))
    this.heap = entries // a sorted array is a valid heap
  }

  /** Keeps the earliest windowSize entries (within windowBytes); the rest stay in the store only. */
  private trim(): void {
    const entries = [...this.live.values()].sort((a, b) => compareDue(a.message, b.message))
    let keep = 0
    let bytes = 0
    while (keep < entries.length && keep < this.windowSize && (keep === 0 || bytes + entries[keep].message.body.length <= this.windowBytes / 2)) {
      bytes += entries[keep].message.body.length
      keep++
    }
    if (keep >= entries.length) return
    for (let i = keep; i < entries.length; i++) {
      entries[i].dead = true
      this.live.delete(entries[i].message.id)
    }
    entries.length = keep
    this.liveBytes = bytes
    const last = entries[keep - 1].message
    this.loadedUpTo = { dueAt: last.dueAt, id: last.id }
    this.complete = false
    this.rebuild(entries)
  }

  /** Tops the window up from the store, in due order, after what it already covers. */
  private fill(): void {
    if (this.complete || this.stopped) return
    const want = this.windowSize - this.live.size
    if (want <= 0) return
    // the window already holds every stored message: reading would only walk past rows still being deleted (an
    // exchange deleted with a million scheduled messages), for nothing
    let stored = 0
    for (const group of this.store.scheduledExchanges()) stored += group.count
    if (this.live.size >= stored) {
      this.complete = true
      return
    }
    const page = this.store.readScheduled(this.loadedUpTo, want)
    for (const message of page) if (!this.live.has(message.id)) this.push(message)
    if (page.length > 0) {
      const last = page[page.length - 1]
      this.loadedUpTo = { dueAt: last.dueAt, id: last.id }
    }
    if (page.length < want) this.complete = true
  }

  // ------------------------------------------------------------------------------------------------ delivery

  /** Arms the one timer for the earliest message (refilling the window first when it runs low). */
  private arm(): void {
    if (!this.started || this.stopped || this.immediate) return
    if (!this.complete && this.live.size < this.windowSize / 2) this.fill()
    const first = this.peek()
    if (!first) {
      this.clearTimer()
      return
    }
    const due = first.message.dueAt
    if (this.timer && this.timerDue <= due) return
    this.clearTimer()
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, due - this.now()))
    this.timerDue = due
    this.timer = setTimeout(() => this.fire(), wait)
    this.timer.unref?.()
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.timerDue = Infinity
  }

  /** Delivers what is due, a batch per turn so a backlog (after downtime) does not starve the sockets. */
  private fire(): void {
    this.timer = undefined
    this.timerDue = Infinity
    this.immediate = undefined
    if (this.stopped) return
    const now = this.now()
    let delivered = 0
    for (;;) {
      if (!this.complete && this.live.size < this.windowSize / 2) this.fill()
      const first = this.peek()
      if (!first || first.message.dueAt > now) break
      if (delivered >= this.deliveryBatch) {
        this.immediate = setImmediate(() => this.fire())
        return
      }
      this.popTop()
      const { message } = first
      this.live.delete(message.id)
      this.liveBytes -= message.body.length
      this.store.removeScheduled(message.id)
      delivered++
      this.hand(message)
    }
    this.arm()
  }

  /** Routes one due message; one that reaches no queue (or cannot be routed at all) is recorded, not lost silently. */
  private hand(message: ScheduledMessage): void {
    let outcome: DueOutcome | undefined
    try {
      const answer = this.deliver(message)
      if (typeof answer === 'object' && answer !== null && typeof (answer as DueOutcome).routed === 'boolean') outcome = answer as DueOutcome
    } catch (error) {
      // one message that cannot be routed must not stop the others
      this.onError(error, message)
      outcome = { routed: false, reason: 'error', detail: error instanceof Error ? error.message : String(error) }
    }
    if (outcome && !outcome.routed) this.unrouted.record(message, outcome, this.now())
  }
}
