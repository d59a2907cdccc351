import type { BasicProperties } from '../../protocol'
import { decodeBasicProperties } from '../../protocol'
import type { ScheduledCursor, ScheduledMessage, Store } from '../../store/store'
import type { DelayedScheduler } from './scheduler'

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

  /** One page in due order (ties by id), after `after` (the `next` of the previous page). */
  list(options: { after?: ScheduledCursor; limit?: number } = {}): ScheduledPage {
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(options.limit ?? DEFAULT_PAGE_SIZE)))
    // one more than asked tells whether a next page exists
    const rows = this.store.readScheduled(options.after, limit + 1, { vhost: this.vhost, exchange: this.exchange })
    const items = rows.slice(0, limit).map(summary)
    const page: ScheduledPage = { items, total: this.count() }
    if (rows.length > limit) page.next = { dueAt: items[limit - 1].dueAt, id: items[limit - 1].id }
    return page
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
