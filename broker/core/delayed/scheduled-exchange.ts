import type { BasicProperties } from '../../protocol'
import { decodeBasicProperties } from '../../protocol'
import type { ScheduledCursor, ScheduledMessage, Store } from '../../store/store'
import type { DelayedScheduler } from './scheduler'
import type { UnroutedRecord } from './unrouted'

/** One scheduled message as listings show it (the body is left out; `get` has it). */
export interface ScheduledSummary {
  id: number
  /** ms since the epoch */
  dueAt: number
  routingKey: string
  properties: BasicProperties
  bodySize: number
}

export interface ScheduledDetail extends ScheduledSummary {
  body: Buffer
}

export interface ScheduledPage {
  items: ScheduledSummary[]
  /** pass as `after` for the next page; absent on the last page */
  next?: ScheduledCursor
  /** how many messages the exchange has scheduled in all */
  total: number
}

/** How many messages fall due in each slot of a time range (the console's timeline chart). */
export interface ScheduledTimeline {
  /** start of the first slot and end of the last (ms since the epoch); both 0 when nothing is scheduled */
  from: number
  to: number
  slotMs: number
  counts: number[]
  total: number
}

/** Rows read per store call while skipping to an offset or counting for the timeline. */
const WALK_CHUNK = 5000

export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

function summary(message: ScheduledMessage): ScheduledSummary {
  return {
    id: message.id,
    dueAt: message.dueAt,
    routingKey: message.routingKey,
    properties: decodeBasicProperties(message.properties),
    bodySize: message.body.length,
  }
}

/**
 * The scheduled messages of one x-delayed-message exchange, for the management API and the console
 * (Vhost.scheduled(name)). Operations are not permission-checked here: the caller authorises its user.
 */
export class ScheduledExchange {
  constructor(
    readonly vhost: string,
    readonly exchange: string,
    private readonly store: Store,
    private readonly scheduler: DelayedScheduler,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many messages are scheduled. */
  count(): number {
    return this.store.countScheduled(this.vhost, this.exchange)
  }

  /**
   * One page in due order (ties by id), after `after` (the `next` of the previous page), or `offset` messages from
   * the start; `reverse` lists latest first (`offset` then counts from the end; `after` is ignored). A cursor is the
   * cheap way on: an offset walks the index from the start.
   */
  list(options: { after?: ScheduledCursor; limit?: number; offset?: number; reverse?: boolean } = {}): ScheduledPage {
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(options.limit ?? DEFAULT_PAGE_SIZE)))
    const total = this.count()
    if (options.reverse) {
      const offset = Math.max(0, Math.floor(options.offset ?? 0))
      const end = total - offset
      if (end <= 0) return { items: [], total }
      const start = Math.max(0, end - limit)
      const rows = this.store.readScheduled(this.skip(start), end - start, this.scope())
      return { items: rows.map(summary).reverse(), total }
    }
    const after = options.offset ? this.skip(Math.floor(options.offset), options.after) : options.after
    // one more than asked tells whether a next page exists
    const rows = this.store.readScheduled(after, limit + 1, this.scope())
    const items = rows.slice(0, limit).map(summary)
    const page: ScheduledPage = { items, total }
    if (rows.length > limit) page.next = { dueAt: items[limit - 1].dueAt, id: items[limit - 1].id }
    return page
  }

  /** How many messages fall due in each of `slots` equal slots between `from` and `to` (default: the first and last due times). */
  timeline(options: { slots?: number; from?: number; to?: number } = {}): ScheduledTimeline {
    const slots = Math.min(1000, Math.max(1, Math.floor(options.slots ?? 60)))
    let dues: number[]
    if (this.store.scheduledDueTimes) dues = this.store.scheduledDueTimes(this.scope())
    else {
      dues = []
      let after: ScheduledCursor | undefined
      for (;;) {
        const rows = this.store.readScheduled(after, WALK_CHUNK, this.scope())
        for (const row of rows) dues.push(row.dueAt)
        if (rows.length < WALK_CHUNK) break
        const last = rows[rows.length - 1]
        after = { dueAt: last.dueAt, id: last.id }
      }
    }
    if (dues.length === 0 && (options.from === undefined || options.to === undefined)) return { from: 0, to: 0, slotMs: 0, counts: [], total: 0 }
    const from = options.from ?? dues[0]
    const to = Math.max(from + 1, options.to ?? dues[dues.length - 1] + 1)
    const slotMs = Math.max(1, Math.ceil((to - from) / slots))
    const counts = new Array<number>(slots).fill(0)
    for (const due of dues) {
      if (due < from || due >= from + slotMs * slots) continue
      counts[Math.floor((due - from) / slotMs)]++
    }
    return { from, to: from + slotMs * slots, slotMs, counts, total: dues.length }
  }

  /** Due messages of this exchange that reached no queue, newest first (a bounded record; a restart clears it). */
  unrouted(): UnroutedRecord[] {
    return this.scheduler.unrouted.list(this.vhost, this.exchange)
  }

  /** Forgets the unrouted records of this exchange; returns how many. */
  clearUnrouted(): number {
    return this.scheduler.unrouted.clear(this.vhost, this.exchange)
  }

  private scope() {
    return { vhost: this.vhost, exchange: this.exchange }
  }

  /** The cursor `count` messages on from `after` (from the start when absent). */
  private skip(count: number, after?: ScheduledCursor): ScheduledCursor | undefined {
    if (count > 0 && after === undefined) {
      // the store's index answers without reading the messages (when it can)
      const fast = this.store.scheduledCursorAt?.(this.scope(), count)
      if (fast) return fast
    }
    let left = count
    let cursor = after
    while (left > 0) {
      const rows = this.store.readScheduled(cursor, Math.min(WALK_CHUNK, left), this.scope())
      if (rows.length === 0) break
      const last = rows[rows.length - 1]
      cursor = { dueAt: last.dueAt, id: last.id }
      left -= rows.length
    }
    return cursor
  }

  /** One scheduled message with its body, or undefined. */
  get(id: number): ScheduledDetail | undefined {
    const message = this.own(id)
    return message && { ...summary(message), body: message.body }
  }

  /** Removes a scheduled message unsent; false when the exchange has none with that id. */
  cancel(id: number): boolean {
    return this.own(id) !== undefined && this.scheduler.cancel(id)
  }

  /** Moves a scheduled message to a new due time (ms since the epoch; a past time delivers it at once). */
  reschedule(id: number, dueAt: number | Date): boolean {
    const at = dueAt instanceof Date ? dueAt.getTime() : dueAt
    if (!Number.isFinite(at)) throw new RangeError(`due time must be a finite number of ms, got ${at}`)
    return this.own(id) !== undefined && this.scheduler.reschedule(id, at)
  }

  /** Moves a scheduled message by `delayMs` from now. */
  rescheduleIn(id: number, delayMs: number): boolean {
    return this.reschedule(id, this.now() + delayMs)
  }

  /** Routes a scheduled message now, through the exchange's bindings as they are now. */
  deliverNow(id: number): boolean {
    return this.own(id) !== undefined && this.scheduler.deliverNow(id)
  }

  /** Cancels every scheduled message of the exchange; returns how many. */
  purge(): number {
    return this.scheduler.drop(this.vhost, this.exchange)
  }

  private own(id: number): ScheduledMessage | undefined {
    const message = this.store.getScheduled(id)
    return message && message.vhost === this.vhost && message.exchange === this.exchange ? message : undefined
  }
}
