import type { ScheduledCursor, ScheduledMessage, ScheduledScope } from '../store'

const CHUNK_MAX = 1024

/** (dueAt, id) order. */
export function compareDue(a: ScheduledCursor, b: ScheduledCursor): number {
  return a.dueAt - b.dueAt || a.id - b.id
}

/**
 * A sorted list kept as chunks of at most CHUNK_MAX items: insert and remove cost O(log n + CHUNK_MAX) whatever
 * order items arrive in (delays are random, so a flat sorted array would move half of itself per insert).
 */
class SortedChunks<T extends ScheduledCursor> {
  private chunks: T[][] = []
  size = 0

  /** Index of the first chunk whose last item is >= key (the last chunk when none is). */
  private chunkFor(key: ScheduledCursor): number {
    let lo = 0
    let hi = this.chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = this.chunks[mid]
      if (compareDue(chunk[chunk.length - 1], key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** First index in chunk whose item is > key (strict) or >= key. */
  private static position(chunk: ScheduledCursor[], key: ScheduledCursor, strict: boolean): number {
    let lo = 0
    let hi = chunk.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = compareDue(chunk[mid], key)
      if (c < 0 || (strict && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(item: T): void {
    this.size++
    if (this.chunks.length === 0) {
      this.chunks.push([item])
      return
    }
    const at = this.chunkFor(item)
    const chunk = this.chunks[at]
    chunk.splice(SortedChunks.position(chunk, item, false), 0, item)
    if (chunk.length > CHUNK_MAX) this.chunks.splice(at + 1, 0, chunk.splice(chunk.length >>> 1))
  }

  remove(key: ScheduledCursor): void {
    if (this.chunks.length === 0) return
    const at = this.chunkFor(key)
    const chunk = this.chunks[at]
    const i = SortedChunks.position(chunk, key, false)
    if (i >= chunk.length || compareDue(chunk[i], key) !== 0) return
    chunk.splice(i, 1)
    this.size--
    if (chunk.length === 0) this.chunks.splice(at, 1)
  }

  *after(cursor: ScheduledCursor | undefined): Generator<T> {
    let at = 0
    let i = 0
    if (cursor) {
      if (this.chunks.length === 0) return
      at = this.chunkFor(cursor)
      i = SortedChunks.position(this.chunks[at], cursor, true)
    }
    for (; at < this.chunks.length; at++, i = 0) {
      const chunk = this.chunks[at]
      for (; i < chunk.length; i++) yield chunk[i]
    }
  }
}

function exchangeKey(vhost: string, exchange: string): string {
  return JSON.stringify([vhost, exchange])
}

/** The scheduled messages of the memory store: by id, in global due order, and in due order per exchange. */
export class MemoryScheduled {
  private readonly byId = new Map<number, ScheduledMessage>()
  private readonly all = new SortedChunks<ScheduledMessage>()
  private readonly byExchange = new Map<string, { vhost: string; exchange: string; list: SortedChunks<ScheduledMessage> }>()

  add(message: ScheduledMessage): void {
    const { id } = message
    if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`message id must be a positive integer, got ${id}`)
    if (this.byId.has(id)) throw new Error(`scheduled message ${id} is already stored`)
    const copy = { ...message }
    this.byId.set(id, copy)
    this.all.insert(copy)
    const key = exchangeKey(message.vhost, message.exchange)
    let group = this.byExchange.get(key)
    if (!group) this.byExchange.set(key, (group = { vhost: message.vhost, exchange: message.exchange, list: new SortedChunks() }))
    group.list.insert(copy)
  }

  remove(id: number): boolean {
    const message = this.byId.get(id)
    if (!message) return false
    this.byId.delete(id)
    this.all.remove(message)
    const key = exchangeKey(message.vhost, message.exchange)
    const group = this.byExchange.get(key)!
    group.list.remove(message)
    if (group.list.size === 0) this.byExchange.delete(key)
    return true
  }

  reschedule(id: number, dueAt: number): boolean {
    const message = this.byId.get(id)
    if (!message) return false
    this.remove(id)
    this.add({ ...message, dueAt })
    return true
  }

  get(id: number): ScheduledMessage | undefined {
    const message = this.byId.get(id)
    return message && { ...message }
  }

  read(after: ScheduledCursor | undefined, limit: number, scope?: ScheduledScope): ScheduledMessage[] {
    const result: ScheduledMessage[] = []
    if (limit <= 0) return result
    let source: Iterable<ScheduledMessage>
    if (scope?.exchange !== undefined) {
      const group = this.byExchange.get(exchangeKey(scope.vhost, scope.exchange))
      if (!group) return result
      source = group.list.after(after)
    } else {
      source = this.all.after(after)
    }
    for (const message of source) {
      if (scope && message.vhost !== scope.vhost) continue
      result.push({ ...message })
      if (result.length >= limit) break
    }
    return result
  }

  count(vhost: string, exchange?: string): number {
    if (exchange !== undefined) return this.byExchange.get(exchangeKey(vhost, exchange))?.list.size ?? 0
    let n = 0
    for (const group of this.byExchange.values()) if (group.vhost === vhost) n += group.list.size
    return n
  }

  drop(vhost: string, exchange?: string): number {
    let n = 0
    for (const group of [...this.byExchange.values()]) {
      if (group.vhost !== vhost || (exchange !== undefined && group.exchange !== exchange)) continue
      for (const message of [...group.list.after(undefined)]) if (this.remove(message.id)) n++
    }
    return n
  }

  exchanges(): Array<{ vhost: string; exchange: string; count: number }> {
    return [...this.byExchange.values()].map((g) => ({ vhost: g.vhost, exchange: g.exchange, count: g.list.size }))
  }

}
