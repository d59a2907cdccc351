import type Database from 'better-sqlite3'
import type { ScheduledCursor, ScheduledMessage, ScheduledScope } from '../store'

interface ScheduledRow {
  id: number
  vhost: string
  exchange: string
  routing_key: string
  properties: Buffer
  body: Buffer
  due_at: number
}

interface Group {
  vhost: string
  exchange: string
  count: number
}

export interface ScheduledBatchHooks {
  /** queues one op in the store's pending batch (called at most once per batch) */
  queueWrite(): void
  /** a deletion is still going on: queue a write again soon, unless the store is closing */
  continueLater(): void
  /** a new message id was used */
  noteId(id: number): void
}

const groupKey = (vhost: string, exchange: string) => `${vhost.length}:${vhost}${exchange}`

const fromRow = (r: ScheduledRow): ScheduledMessage => ({
  id: r.id,
  vhost: r.vhost,
  exchange: r.exchange,
  routingKey: r.routing_key,
  properties: r.properties,
  body: r.body,
  dueAt: r.due_at,
})

const inScope = (m: { vhost: string; exchange: string }, scope: ScheduledScope | undefined) =>
  !scope || (m.vhost === scope.vhost && (scope.exchange === undefined || m.exchange === scope.exchange))

const compareDue = (a: ScheduledCursor, b: ScheduledCursor) => a.dueAt - b.dueAt || a.id - b.id

/**
 * The scheduled messages of a deleted exchange (or vhost) that are still in the table: every row in scope with
 * id <= upToId is logically gone; write() deletes them DROP_CHUNK rows per commit, in id order after `after`.
 * Recorded in the meta row `scheduled_drops` in the same commit as the deletion's first step.
 */
interface PendingDrop extends ScheduledScope {
  upToId: number
  after: number
}

/**
 * Rows deleted per commit while a deleted exchange's scheduled messages go. Deleting a million rows (and their index
 * entries) in one transaction held the event loop for seconds (exchange.delete of a delayed exchange holding 1M
 * scheduled messages got no answer within 5 s); 5,000 take tens of milliseconds.
 */
const DROP_CHUNK = 5000
const DROPS_META_KEY = 'scheduled_drops'

/**
 * The `scheduled` table of warren.db, under the store's group commit. Writes go to an overlay (the batch's view of
 * each scheduled message it touched: the message as it will be, or null when it goes) and reach SQLite in one op
 * when the batch commits; reads merge the table with the overlay. Only per-exchange counts live in memory, never
 * the messages, so a million scheduled messages cost a few rows of RAM.
 */
export class SqliteScheduled {
  private readonly groups = new Map<string, Group>()
  /** id -> the message as the batch leaves it, or null when the batch removes it */
  private overlay = new Map<number, ScheduledMessage | null>()
  /** ids added by the batch (not in the table yet) */
  private added = new Set<number>()
  /** deleted exchanges/vhosts whose rows are still being deleted, as the last commit left them */
  private drops: PendingDrop[] = []
  /** read statements that skip the rows of pending drops, by SQL text */
  private readonly skippingDrops = new Map<string, Database.Statement>()
  /** the same after this batch's write(), applied by reset() once the batch committed */
  private dropsAfterWrite: PendingDrop[] | undefined
  private writeQueued = false
  private readonly s

  constructor(
    private readonly db: Database.Database,
    private readonly hooks: ScheduledBatchHooks,
  ) {
    this.s = {
      insert: db.prepare(
        'INSERT OR REPLACE INTO scheduled (id, vhost, exchange, routing_key, properties, body, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      updateDue: db.prepare('UPDATE scheduled SET due_at = ? WHERE id = ?'),
      delete: db.prepare('DELETE FROM scheduled WHERE id = ?'),
      get: db.prepare('SELECT * FROM scheduled WHERE id = ?'),
      droppedIdsOfExchange: db.prepare('SELECT id FROM scheduled WHERE id > ? AND id <= ? AND vhost = ? AND exchange = ? ORDER BY id LIMIT ?').pluck(),
      droppedIdsOfVhost: db.prepare('SELECT id FROM scheduled WHERE id > ? AND id <= ? AND vhost = ? ORDER BY id LIMIT ?').pluck(),
      maxId: db.prepare('SELECT max(id) FROM scheduled').pluck(),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      deleteMeta: db.prepare('DELETE FROM meta WHERE key = ?'),
      where: db.prepare('SELECT vhost, exchange FROM scheduled WHERE id = ?'),
      // row values keep the (due_at, id) range on the index
      readAll: db.prepare('SELECT * FROM scheduled WHERE (due_at, id) > (?, ?) ORDER BY due_at, id'),
      readExchange: db.prepare(
        'SELECT * FROM scheduled WHERE vhost = ? AND exchange = ? AND (due_at, id) > (?, ?) ORDER BY due_at, id',
      ),
      readVhost: db.prepare('SELECT * FROM scheduled WHERE vhost = ? AND (due_at, id) > (?, ?) ORDER BY due_at, id'),
      // the listings' reads walk scheduled_by_due in order and filter by exchange (there is no per-exchange index)
      duesExchange: db.prepare('SELECT exchange, due_at, id FROM scheduled WHERE vhost = ? AND exchange = ? ORDER BY due_at, id'),
      duesVhost: db.prepare('SELECT exchange, due_at, id FROM scheduled WHERE vhost = ? ORDER BY due_at, id'),
      // INDEXED BY: walk in due order and stop at the offset, rather than sort every row of the exchange first
      cursorExchange: db.prepare('SELECT due_at, id FROM scheduled INDEXED BY scheduled_by_due WHERE vhost = ? AND exchange = ? ORDER BY due_at, id LIMIT 1 OFFSET ?'),
    }
    this.finishDropsLeftByLastRun(db)
    for (const row of db
      .prepare('SELECT vhost, exchange, count(*) AS n FROM scheduled GROUP BY vhost, exchange')
      .iterate() as IterableIterator<{ vhost: string; exchange: string; n: number }>) {
      this.groups.set(groupKey(row.vhost, row.exchange), { vhost: row.vhost, exchange: row.exchange, count: row.n })
    }
  }

  /** The highest id in the table (0 when empty). */
  static maxId(db: Database.Database): number {
    return (db.prepare('SELECT max(id) FROM scheduled').pluck().get() as number | null) ?? 0
  }

  add(message: ScheduledMessage): void {
    const id = message.id
    if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`message id must be a positive integer, got ${id}`)
    if (!Number.isFinite(message.dueAt)) throw new RangeError(`dueAt must be a finite number, got ${message.dueAt}`)
    if (this.overlay.get(id)) throw new Error(`scheduled message ${id} is already stored`)
    this.hooks.noteId(id)
    this.overlay.set(id, { ...message, dueAt: Math.round(message.dueAt) })
    // a committed row removed in this batch and added again is rewritten, not inserted twice: INSERT OR REPLACE
    this.added.add(id)
    this.group(message.vhost, message.exchange).count++
    this.queueWrite()
  }

  remove(id: number): boolean {
    const pending = this.overlay.get(id)
    let current: { vhost: string; exchange: string } | undefined
    if (pending !== undefined) current = pending ?? undefined
    else {
      const row = this.s.where.get(id) as { vhost: string; exchange: string } | undefined
      current = row && !this.isDropped({ ...row, id }) ? row : undefined
    }
    if (!current) return false
    this.decrement(current.vhost, current.exchange)
    if (this.added.has(id) && !this.inTable(id)) {
      this.overlay.delete(id)
      this.added.delete(id)
    } else {
      this.overlay.set(id, null)
      this.queueWrite()
    }
    return true
  }

  reschedule(id: number, dueAt: number): boolean {
    if (!Number.isFinite(dueAt)) throw new RangeError(`dueAt must be a finite number, got ${dueAt}`)
    const current = this.current(id)
    if (!current) return false
    this.overlay.set(id, { ...current, dueAt: Math.round(dueAt) })
    this.queueWrite()
    return true
  }

  get(id: number): ScheduledMessage | undefined {
    const current = this.current(id)
    return current && { ...current }
  }

  read(after: ScheduledCursor | undefined, limit: number, scope?: ScheduledScope): ScheduledMessage[] {
    if (limit <= 0) return []
    const dueAt = after?.dueAt ?? -Number.MAX_SAFE_INTEGER
    const afterId = after?.id ?? -1
    const rows = (this.drops.length > 0 ? this.readSkippingDrops(dueAt, afterId, scope) : this.readStatement(scope, dueAt, afterId)) as IterableIterator<ScheduledRow>
    const fromTable: ScheduledMessage[] = []
    for (const row of rows) {
      if (this.overlay.has(row.id) || this.isDropped(row)) continue
      fromTable.push(fromRow(row))
      if (fromTable.length >= limit) break
    }
    const fromBatch: ScheduledMessage[] = []
    for (const message of this.overlay.values()) {
      if (message && inScope(message, scope) && (!after || compareDue(message, after) > 0)) fromBatch.push({ ...message })
    }
    if (fromBatch.length === 0) return fromTable
    fromBatch.sort(compareDue)
    const merged: ScheduledMessage[] = []
    let i = 0
    let j = 0
    while (merged.length < limit && (i < fromTable.length || j < fromBatch.length)) {
      if (j >= fromBatch.length || (i < fromTable.length && compareDue(fromTable[i], fromBatch[j]) < 0)) merged.push(fromTable[i++])
      else merged.push(fromBatch[j++])
    }
    return merged
  }

  private readStatement(scope: ScheduledScope | undefined, dueAt: number, afterId: number): IterableIterator<unknown> {
    if (scope === undefined) return this.s.readAll.iterate(dueAt, afterId)
    if (scope.exchange === undefined) return this.s.readVhost.iterate(scope.vhost, dueAt, afterId)
    return this.s.readExchange.iterate(scope.vhost, scope.exchange, dueAt, afterId)
  }

  /**
   * The same read while deleted exchanges' rows are still in the table: SQLite skips them, not JavaScript (skipping a
   * million rows one object at a time held the event loop for seconds). The statement is prepared per set of drops.
   */
  private readSkippingDrops(dueAt: number, afterId: number, scope: ScheduledScope | undefined): IterableIterator<unknown> {
    const skip = this.drops.map((d) => (d.exchange === undefined ? '(vhost = ? AND id <= ?)' : '(vhost = ? AND exchange = ? AND id <= ?)')).join(' OR ')
    const where = scope === undefined ? '' : scope.exchange === undefined ? 'vhost = ? AND ' : 'vhost = ? AND exchange = ? AND '
    const sql = `SELECT * FROM scheduled INDEXED BY scheduled_by_due WHERE ${where}(due_at, id) > (?, ?) AND NOT (${skip}) ORDER BY due_at, id`
    let statement = this.skippingDrops.get(sql)
    if (!statement) {
      if (this.skippingDrops.size > 32) this.skippingDrops.clear()
      this.skippingDrops.set(sql, (statement = this.db.prepare(sql)))
    }
    const scopeParams = scope === undefined ? [] : scope.exchange === undefined ? [scope.vhost] : [scope.vhost, scope.exchange]
    const dropParams = this.drops.flatMap((d) => (d.exchange === undefined ? [d.vhost, d.upToId] : [d.vhost, d.exchange, d.upToId]))
    return statement.iterate(...scopeParams, dueAt, afterId, ...dropParams)
  }

  /** Due times of a scope in due order, from the index (the batch's changes merged in). */
  dueTimes(scope: ScheduledScope): number[] {
    const rows = (
      scope.exchange === undefined ? this.s.duesVhost.all(scope.vhost) : this.s.duesExchange.all(scope.vhost, scope.exchange)
    ) as Array<{ exchange: string; due_at: number; id: number }>
    if (this.overlay.size === 0 && this.drops.length === 0) return rows.map((r) => r.due_at)
    const kept: ScheduledCursor[] = []
    for (const r of rows) {
      if (this.overlay.has(r.id) || this.isDropped({ vhost: scope.vhost, exchange: r.exchange, id: r.id })) continue
      kept.push({ dueAt: r.due_at, id: r.id })
    }
    for (const m of this.overlay.values()) if (m && inScope(m, scope)) kept.push({ dueAt: m.dueAt, id: m.id })
    return kept.sort(compareDue).map((c) => c.dueAt)
  }

  /** The cursor of the `offset`-th message (1-based) of one exchange, from the index; undefined while a batch is pending. */
  cursorAt(scope: ScheduledScope, offset: number): ScheduledCursor | undefined {
    if (offset <= 0 || scope.exchange === undefined || this.overlay.size > 0 || this.drops.length > 0) return undefined
    const row = this.s.cursorExchange.get(scope.vhost, scope.exchange, offset - 1) as { due_at: number; id: number } | undefined
    return row && { dueAt: row.due_at, id: row.id }
  }

  count(vhost: string, exchange?: string): number {
    if (exchange !== undefined) return this.groups.get(groupKey(vhost, exchange))?.count ?? 0
    let n = 0
    for (const group of this.groups.values()) if (group.vhost === vhost) n += group.count
    return n
  }

  drop(vhost: string, exchange?: string): number {
    const scope: ScheduledScope = exchange === undefined ? { vhost } : { vhost, exchange }
    let n = 0
    for (const [key, group] of this.groups) {
      if (!inScope(group, scope)) continue
      n += group.count
      this.groups.delete(key)
    }
    if (n === 0) return 0
    for (const [id, message] of this.overlay) {
      if (!message || !inScope(message, scope)) continue
      if (this.added.has(id)) {
        this.added.delete(id)
        this.overlay.delete(id)
      } else {
        this.overlay.set(id, null)
      }
    }
    const upToId = (this.s.maxId.get() as number | null) ?? 0
    if (upToId > 0) this.drops.push({ ...scope, upToId, after: 0 })
    this.queueWrite()
    return n
  }

  exchanges(): Array<{ vhost: string; exchange: string; count: number }> {
    return [...this.groups.values()].filter((g) => g.count > 0).map((g) => ({ ...g }))
  }

  /** Queues the next step of a deletion still going on (see PendingDrop). */
  continueDrops(): void {
    if (this.drops.length > 0) this.queueWrite()
  }

  /** Writes the batch's changes; runs inside the store's commit transaction. */
  write(): void {
    if (this.drops.length > 0) this.deleteDroppedChunk()
    for (const [id, m] of this.overlay) {
      if (m === null) this.s.delete.run(id)
      else if (this.added.has(id)) this.s.insert.run(m.id, m.vhost, m.exchange, m.routingKey, m.properties, m.body, m.dueAt)
      else this.s.updateDue.run(m.dueAt, id)
    }
  }

  /** The batch committed: the table now holds everything. */
  reset(): void {
    if (this.overlay.size > 0) this.overlay = new Map()
    if (this.added.size > 0) this.added = new Set()
    this.writeQueued = false
    if (this.dropsAfterWrite) {
      this.drops = this.dropsAfterWrite
      this.dropsAfterWrite = undefined
    }
    if (this.drops.length > 0) this.hooks.continueLater()
  }

  /** Deletes the next DROP_CHUNK rows of deleted exchanges (inside the commit); reset() keeps the progress. */
  private deleteDroppedChunk(): void {
    let budget = DROP_CHUNK
    const left: PendingDrop[] = []
    for (const drop of this.drops) {
      if (budget <= 0) {
        left.push(drop)
        continue
      }
      const ids = (
        drop.exchange === undefined
          ? this.s.droppedIdsOfVhost.all(drop.after, drop.upToId, drop.vhost, budget)
          : this.s.droppedIdsOfExchange.all(drop.after, drop.upToId, drop.vhost, drop.exchange, budget)
      ) as number[]
      for (const id of ids) this.s.delete.run(id)
      if (ids.length === budget) left.push({ ...drop, after: ids[ids.length - 1] })
      budget -= ids.length
    }
    if (left.length > 0) this.s.setMeta.run(DROPS_META_KEY, JSON.stringify(left))
    else this.s.deleteMeta.run(DROPS_META_KEY)
    this.dropsAfterWrite = left
  }

  /** A deletion the last run did not finish (it stopped or crashed meanwhile) is finished before anything is read. */
  private finishDropsLeftByLastRun(db: Database.Database): void {
    const recorded = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(DROPS_META_KEY) as string | undefined
    if (recorded === undefined) return
    db.transaction(() => {
      for (const drop of JSON.parse(recorded) as PendingDrop[]) {
        if (drop.exchange === undefined) db.prepare('DELETE FROM scheduled WHERE id > ? AND id <= ? AND vhost = ?').run(drop.after, drop.upToId, drop.vhost)
        else db.prepare('DELETE FROM scheduled WHERE id > ? AND id <= ? AND vhost = ? AND exchange = ?').run(drop.after, drop.upToId, drop.vhost, drop.exchange)
      }
      this.s.deleteMeta.run(DROPS_META_KEY)
    })()
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private queueWrite(): void {
    if (this.writeQueued) return
    this.writeQueued = true
    this.hooks.queueWrite()
  }

  private group(vhost: string, exchange: string): Group {
    const key = groupKey(vhost, exchange)
    let group = this.groups.get(key)
    if (!group) this.groups.set(key, (group = { vhost, exchange, count: 0 }))
    return group
  }

  private decrement(vhost: string, exchange: string): void {
    const key = groupKey(vhost, exchange)
    const group = this.groups.get(key)
    if (group && --group.count <= 0) this.groups.delete(key)
  }

  private isDropped(m: { vhost: string; exchange: string; id: number }): boolean {
    return this.drops.length > 0 && this.drops.some((drop) => m.id <= drop.upToId && inScope(m, drop))
  }

  private inTable(id: number): boolean {
    return this.s.where.get(id) !== undefined
  }

  /** The message as the store logically holds it now (table + batch), or undefined. */
  private current(id: number): ScheduledMessage | undefined {
    const pending = this.overlay.get(id)
    if (pending !== undefined) return pending ?? undefined
    const row = this.s.get.get(id) as ScheduledRow | undefined
    if (!row || this.isDropped(row)) return undefined
    return fromRow(row)
  }
}
