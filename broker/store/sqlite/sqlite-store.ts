import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  PermissionRecord,
  ParameterRecord,
  PolicyRecord,
  QueueRecord,
  QueueRef,
  QueueSummary,
  RecoveredMessage,
  ScheduledCursor,
  ScheduledMessage,
  ScheduledScope,
  Store,
  StoredMessage,
  StoreWriteError,
  UserRecord,
  VhostRecord,
} from '../store'
import { RefCounts } from './ref-counts'
import { migrate } from './schema'
import { SqliteScheduled } from './sqlite-scheduled'

export interface SqliteStoreOptions {
  /** Directory of the database; created if missing. The database file is `warren.db` in it. */
  directory: string
  /**
   * How long writes are collected before a batch is committed. Unset or 0: the batch is committed on the next
   * turn of the event loop (setImmediate), i.e. it holds everything written in the current turn.
   */
  batchDelayMs?: number
}

/** After a failed commit the next attempt waits at least this long (doubling up to RETRY_MAX_MS), unless flushed. */
const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2000

type Callback = (error?: Error) => void

/** A message added in the current batch and not yet in the database. */
interface PendingMessage {
  message: StoredMessage
  /** queue key -> the entry still wanted (removed entries are deleted from the map: nothing reaches SQLite) */
  entries: Map<string, PendingEntry>
}

interface PendingEntry {
  ref: QueueRef
  delivered: boolean
}

/** The in-memory view of one queue's messages: exact count, plus what pending writes change in the database. */
interface QueueState {
  ref: QueueRef
  /** entries committed or queued for commit */
  count: number
  /** every entry currently in the database is logically gone (a purge/delete is pending) */
  purged: boolean
  /** entries in the database logically removed by a pending write */
  removed: Set<number> | null
  /** entries in the database marked delivered by a pending write */
  delivered: Set<number> | null
}

interface MessageRow {
  id: number
  exchange: string
  routing_key: string
  properties: Buffer
  body: Buffer
  enqueued_at: number | null
  delivered: number
}

interface VhostRow {
  name: string
  description: string
  tags: string
  default_queue_type: string | null
}

interface UserRow {
  name: string
  password_hash: string
  hashing_algorithm: string
  tags: string
}

interface ExchangeRow {
  vhost: string
  name: string
  type: string
  auto_delete: number
  internal: number
  arguments: Buffer
}

interface QueueRow {
  vhost: string
  name: string
  auto_delete: number
  arguments: Buffer
}

interface BindingRow {
  vhost: string
  source: string
  destination_type: 'queue' | 'exchange'
  destination: string
  routing_key: string
  arguments: Buffer
}

interface PolicyRow {
  vhost: string
  name: string
  pattern: string
  apply_to: string
  priority: number
  definition: string
}

/** Length-prefixed, so no two (vhost, name) pairs share a key whatever characters they hold. */
function queueKey(vhost: string, name: string): string {
  return `${vhost.length}:${vhost}${name}`
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function parseTags(json: string): string[] {
  const value: unknown = JSON.parse(json)
  return Array.isArray(value) ? value.map(String) : []
}

function prepareStatements(db: Database.Database) {
return {
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),

    saveVhost: db.prepare(
      'INSERT OR REPLACE INTO vhosts (name, description, tags, default_queue_type) VALUES (?, ?, ?, ?)',
    ),
    deleteVhost: db.prepare('DELETE FROM vhosts WHERE name = ?'),
    deleteVhostPermissions: db.prepare('DELETE FROM permissions WHERE vhost = ?'),
    deleteVhostExchanges: db.prepare('DELETE FROM exchanges WHERE vhost = ?'),
    deleteVhostQueues: db.prepare('DELETE FROM queues WHERE vhost = ?'),
    deleteVhostBindings: db.prepare('DELETE FROM bindings WHERE vhost = ?'),

    saveUser: db.prepare(
      'INSERT OR REPLACE INTO users (name, password_hash, hashing_algorithm, tags) VALUES (?, ?, ?, ?)',
    ),
    deleteUser: db.prepare('DELETE FROM users WHERE name = ?'),
    deleteUserPermissions: db.prepare('DELETE FROM permissions WHERE user = ?'),

    savePermission: db.prepare(
      'INSERT OR REPLACE INTO permissions (user, vhost, configure, write, read) VALUES (?, ?, ?, ?, ?)',
    ),
    deletePermission: db.prepare('DELETE FROM permissions WHERE user = ? AND vhost = ?'),

    savePolicy: db.prepare(
      'INSERT OR REPLACE INTO policies (vhost, name, pattern, apply_to, priority, definition) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deletePolicy: db.prepare('DELETE FROM policies WHERE vhost = ? AND name = ?'),
    deleteVhostPolicies: db.prepare('DELETE FROM policies WHERE vhost = ?'),
    allPolicies: db.prepare('SELECT * FROM policies ORDER BY vhost, name'),

    saveParameter: db.prepare('INSERT OR REPLACE INTO parameters (vhost, component, name, value) VALUES (?, ?, ?, ?)'),
    deleteParameter: db.prepare('DELETE FROM parameters WHERE vhost = ? AND component = ? AND name = ?'),
    deleteVhostParameters: db.prepare('DELETE FROM parameters WHERE vhost = ?'),
    allParameters: db.prepare('SELECT vhost, component, name, value FROM parameters ORDER BY vhost, component, name'),

    saveExchange: db.prepare(
      'INSERT OR REPLACE INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteExchange: db.prepare('DELETE FROM exchanges WHERE vhost = ? AND name = ?'),
    deleteExchangeBindings: db.prepare(
      "DELETE FROM bindings WHERE vhost = @vhost AND (source = @name OR (destination_type = 'exchange' AND destination = @name))",
    ),

    saveQueue: db.prepare('INSERT OR REPLACE INTO queues (vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?)'),
    deleteQueue: db.prepare('DELETE FROM queues WHERE vhost = ? AND name = ?'),
    deleteQueueBindings: db.prepare(
      "DELETE FROM bindings WHERE vhost = ? AND destination_type = 'queue' AND destination = ?",
    ),

    saveBinding: db.prepare(
      'INSERT OR REPLACE INTO bindings (vhost, source, destination_type, destination, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteBinding: db.prepare(
      'DELETE FROM bindings WHERE vhost = ? AND source = ? AND destination_type = ? AND destination = ? AND routing_key = ? AND arguments = ?',
    ),

    insertMessage: db.prepare(
      'INSERT OR REPLACE INTO messages (id, exchange, routing_key, properties, body, enqueued_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
    insertEntry: db.prepare(
      'INSERT OR REPLACE INTO queue_messages (vhost, queue, message_id, delivered) VALUES (?, ?, ?, ?)',
    ),
    deleteEntry: db.prepare('DELETE FROM queue_messages WHERE vhost = ? AND queue = ? AND message_id = ?'),
    markDelivered: db.prepare(
      'UPDATE queue_messages SET delivered = 1 WHERE vhost = ? AND queue = ? AND message_id = ?',
    ),
    purgeEntries: db.prepare('DELETE FROM queue_messages WHERE vhost = ? AND queue = ?'),
    entryExists: db
      .prepare('SELECT 1 FROM queue_messages WHERE vhost = ? AND queue = ? AND message_id = ?')
      .pluck(),
    queueEntryIds: db
      .prepare('SELECT message_id FROM queue_messages WHERE vhost = ? AND queue = ? ORDER BY message_id')
      .pluck(),
    // CROSS JOIN pins the loop order: range scan of the queue's entries, then a rowid lookup per message.
    readEntries: db.prepare(
      `SELECT m.id, m.exchange, m.routing_key, m.properties, m.body, m.enqueued_at, q.delivered
         FROM queue_messages AS q CROSS JOIN messages AS m ON m.id = q.message_id
        WHERE q.vhost = ? AND q.queue = ? AND q.message_id > ?
        ORDER BY q.message_id`,
    ),

    allVhosts: db.prepare('SELECT * FROM vhosts ORDER BY name'),
    allUsers: db.prepare('SELECT * FROM users ORDER BY name'),
    allPermissions: db.prepare('SELECT * FROM permissions ORDER BY user, vhost'),
    allExchanges: db.prepare('SELECT * FROM exchanges ORDER BY vhost, name'),
    allQueues: db.prepare('SELECT * FROM queues ORDER BY vhost, name'),
    allBindings: db.prepare('SELECT * FROM bindings ORDER BY vhost, source, destination_type, destination, routing_key'),
  }
}

/** Statements of queueSummary and removeMessageRange (paging, broker/core/paging.ts), prepared on first use. */
function preparePagingStatements(db: Database.Database) {
  return {
    countUpTo: db.prepare('SELECT count(*) FROM queue_messages WHERE vhost = ? AND queue = ? AND message_id <= ?').pluck(),
    lastId: db.prepare('SELECT max(message_id) FROM queue_messages WHERE vhost = ? AND queue = ?').pluck(),
    idsInRange: db
      .prepare('SELECT message_id FROM queue_messages WHERE vhost = ? AND queue = ? AND message_id > ? AND message_id <= ? ORDER BY message_id')
      .pluck(),
    deleteRange: db.prepare('DELETE FROM queue_messages WHERE vhost = ? AND queue = ? AND message_id > ? AND message_id <= ?'),
  }
}

class SqliteStore implements Store {
  readonly previousShutdownWasClean: boolean
  private maxMessageId: number
  /** the highest id written to the meta row */
  private persistedMaxId: number
  /** messages with ids up to this one were stored by an earlier run */
  private readonly maxIdAtOpen: number

  private readonly db: Database.Database
  private readonly batchDelayMs: number
  private closed = false

  // ---- logical state (committed + queued) ----
  /** message id -> number of queue entries */
  private readonly refCounts = new RefCounts()
  private readonly queues = new Map<string, QueueState>()

  // ---- the pending batch ----
  private ops: Array<() => void> = []
  /** ops that will actually write something (cancelled message inserts are not counted) */
  private liveOps = 0
  private pendingAdds = new Map<number, PendingMessage>()
  /** queue states carrying pending overlays, reset when the batch commits */
  private touched = new Set<QueueState>()
  private callbacks: Callback[] = []
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private retryDelay = 0
  private retryNotBefore = 0
  private readonly commitTransaction: (ops: Array<() => void>) => void
  /** set while commits fail; see Store.writeError */
  private failure: StoreWriteError | undefined
  private readonly writeListeners = new Set<(error: StoreWriteError | undefined) => void>()
  private readonly file: string

  // ---- prepared statements ----
  private readonly s: ReturnType<typeof prepareStatements>
  /** scheduled messages of delayed-message exchanges */
  private readonly scheduled: SqliteScheduled
  /** statements of the paging methods (queueSummary, removeMessageRange) */
  private paging: ReturnType<typeof preparePagingStatements> | undefined

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.directory, { recursive: true })
    this.batchDelayMs = Math.max(0, options.batchDelayMs ?? 0)
    this.file = join(options.directory, 'warren.db')
    const db = new Database(this.file, { timeout: 2000 })
    this.db = db
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true })
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`could not switch warren.db to WAL mode (got ${mode})`)
      // FULL: the WAL is fsynced at every commit, so a confirmed message survives power loss, not only kill -9.
      db.pragma('synchronous = FULL')
      db.pragma('foreign_keys = OFF') // cascades are explicit, in this file
      db.pragma('cache_size = -16384') // 16 MiB
      db.pragma('journal_size_limit = 67108864') // truncate a WAL that grew in a burst back to 64 MiB

      const previousVersion = migrate(db)

      const meta = db.prepare('SELECT value FROM meta WHERE key = ?').pluck()
      const clean = meta.get('clean_shutdown') as number | undefined
      // A brand-new database has nothing to redeliver; an existing one without the flag did not close cleanly.
      this.previousShutdownWasClean = previousVersion === 0 && clean === undefined ? true : clean === 1
      const storedMax = (meta.get('max_message_id') as number | undefined) ?? 0
      const tableMax = Math.max((db.prepare('SELECT max(id) FROM messages').pluck().get() as number | null) ?? 0, SqliteScheduled.maxId(db))
      this.maxMessageId = Math.max(storedMax, tableMax)
      this.persistedMaxId = storedMax
      this.maxIdAtOpen = this.maxMessageId

      // From here on, until close() says otherwise, a restart has to assume a crash.
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean_shutdown', 0)").run()

      // one covering-index scan, no GROUP BY (see RefCounts): a restart's cost here is linear and small
      this.refCounts.load(db.prepare('SELECT message_id FROM queue_messages').pluck().all() as number[])
      for (const row of db
        .prepare('SELECT vhost, queue, count(*) AS n FROM queue_messages GROUP BY vhost, queue')
        .iterate() as IterableIterator<{ vhost: string; queue: string; n: number }>) {
        const state = this.queueState(row.vhost, row.queue)
        state.count = row.n
      }
    } catch (error) {
      db.close()
      throw error
    }

    this.s = prepareStatements(db)
    this.scheduled = new SqliteScheduled(db, {
      queueWrite: () => this.push(() => this.scheduled.write()),
      // a timer, not the next turn: the deletion gives way to the clients' work between its steps
      continueLater: () => {
        setTimeout(() => {
          if (!this.closed) this.scheduled.continueDrops()
        }, 1).unref()
      },
      noteId: (id) => {
        if (id > this.maxMessageId) this.maxMessageId = id
      },
    })

    const transaction = db.transaction((ops: Array<() => void>) => {
      for (const op of ops) op()
      if (this.maxMessageId > this.persistedMaxId) this.s.setMeta.run('max_message_id', this.maxMessageId)
    })
    // IMMEDIATE: take the write lock up front rather than upgrading a read transaction mid-way
    this.commitTransaction = (ops) => transaction.immediate(ops)
  }

  get writeError(): StoreWriteError | undefined {
    return this.failure
  }

  onWriteStateChange(listener: (error: StoreWriteError | undefined) => void): () => void {
    this.writeListeners.add(listener)
    return () => this.writeListeners.delete(listener)
  }

  get lastMessageId(): number {
    return this.maxMessageId
  }

  // ---------------------------------------------------------------------------------------------- definitions

  loadDefinitions(): Definitions {
    this.assertOpen()
    // Start-up reads the database; anything still queued is committed first so it is seen.
    if (this.liveOps > 0) this.commit(false)
    const s = this.s
    return {
      vhosts: (s.allVhosts.all() as VhostRow[]).map((r) => {
        const vhost: VhostRecord = { name: r.name, description: r.description, tags: parseTags(r.tags) }
        if (r.default_queue_type != null) vhost.defaultQueueType = r.default_queue_type
        return vhost
      }),
      users: (s.allUsers.all() as UserRow[]).map((r) => ({
        name: r.name,
        passwordHash: r.password_hash,
        hashingAlgorithm: r.hashing_algorithm,
        tags: parseTags(r.tags),
      })),
      permissions: (s.allPermissions.all() as PermissionRecord[]).map((r) => ({
        user: r.user,
        vhost: r.vhost,
        configure: r.configure,
        write: r.write,
        read: r.read,
      })),
      exchanges: (s.allExchanges.all() as ExchangeRow[]).map((r) => ({
        vhost: r.vhost,
        name: r.name,
        type: r.type,
        autoDelete: r.auto_delete === 1,
        internal: r.internal === 1,
        arguments: r.arguments,
      })),
      queues: (s.allQueues.all() as QueueRow[]).map((r) => ({
        vhost: r.vhost,
        name: r.name,
        autoDelete: r.auto_delete === 1,
        arguments: r.arguments,
      })),
      bindings: (s.allBindings.all() as BindingRow[]).map((r) => ({
        vhost: r.vhost,
        source: r.source,
        destination: r.destination,
        destinationType: r.destination_type,
        routingKey: r.routing_key,
        arguments: r.arguments,
      })),
      policies: (s.allPolicies.all() as PolicyRow[]).map((r) => ({
        vhost: r.vhost,
        name: r.name,
        pattern: r.pattern,
        applyTo: r.apply_to,
        priority: r.priority,
        definition: r.definition,
      })),
    }
  }

  saveVhost(vhost: VhostRecord): void {
    const { name, description } = vhost
    const tags = JSON.stringify(vhost.tags)
    const defaultQueueType = vhost.defaultQueueType ?? null
    this.push(() => this.s.saveVhost.run(name, description, tags, defaultQueueType))
  }

  deleteVhost(name: string): void {
    this.assertOpen()
    for (const state of [...this.queues.values()]) {
      if (state.ref.vhost === name) this.purgeState(state)
    }
    this.push(() => {
      this.s.deleteVhostBindings.run(name)
      this.s.deleteVhostQueues.run(name)
      this.s.deleteVhostExchanges.run(name)
      this.s.deleteVhostPermissions.run(name)
      this.s.deleteVhostPolicies.run(name)
      this.s.deleteVhostParameters.run(name)
      this.s.deleteVhost.run(name)
    })
  }

  saveUser(user: UserRecord): void {
    const { name, passwordHash, hashingAlgorithm } = user
    const tags = JSON.stringify(user.tags)
    this.push(() => this.s.saveUser.run(name, passwordHash, hashingAlgorithm, tags))
  }

  /** Also deletes the user's permissions. */
  deleteUser(name: string): void {
    this.push(() => {
      this.s.deleteUserPermissions.run(name)
      this.s.deleteUser.run(name)
    })
  }

  savePermission(permission: PermissionRecord): void {
    const { user, vhost, configure, write, read } = permission
    this.push(() => this.s.savePermission.run(user, vhost, configure, write, read))
  }

  deletePermission(user: string, vhost: string): void {
    this.push(() => this.s.deletePermission.run(user, vhost))
  }

  savePolicy(policy: PolicyRecord): void {
    const { vhost, name, pattern, applyTo, priority, definition } = policy
    this.push(() => this.s.savePolicy.run(vhost, name, pattern, applyTo, priority, definition))
  }

  deletePolicy(vhost: string, name: string): void {
    this.push(() => this.s.deletePolicy.run(vhost, name))
  }

  loadParameters(): ParameterRecord[] {
    this.assertOpen()
    if (this.liveOps > 0) this.commit(false)
    return (this.s.allParameters.all() as ParameterRecord[]).map((r) => ({ vhost: r.vhost, component: r.component, name: r.name, value: r.value }))
  }

  saveParameter(parameter: ParameterRecord): void {
    const { vhost, component, name, value } = parameter
    this.push(() => this.s.saveParameter.run(vhost, component, name, value))
  }

  deleteParameter(vhost: string, component: string, name: string): void {
    this.push(() => this.s.deleteParameter.run(vhost, component, name))
  }

  saveExchange(exchange: ExchangeRecord): void {
    const { vhost, name, type } = exchange
    const autoDelete = exchange.autoDelete ? 1 : 0
    const internal = exchange.internal ? 1 : 0
    const args = exchange.arguments
    this.push(() => this.s.saveExchange.run(vhost, name, type, autoDelete, internal, args))
  }

  deleteExchange(vhost: string, name: string): void {
    this.push(() => {
      this.s.deleteExchangeBindings.run({ vhost, name })
      this.s.deleteExchange.run(vhost, name)
    })
  }

  saveQueue(queue: QueueRecord): void {
    const { vhost, name } = queue
    const autoDelete = queue.autoDelete ? 1 : 0
    const args = queue.arguments
    this.push(() => this.s.saveQueue.run(vhost, name, autoDelete, args))
  }

  deleteQueue(vhost: string, name: string): void {
    this.assertOpen()
    const state = this.queues.get(queueKey(vhost, name))
    if (state) this.purgeState(state)
    this.push(() => {
      this.s.deleteQueueBindings.run(vhost, name)
      this.s.deleteQueue.run(vhost, name)
    })
  }

  saveBinding(binding: BindingRecord): void {
    const { vhost, source, destinationType, destination, routingKey } = binding
    const args = binding.arguments
    this.push(() => this.s.saveBinding.run(vhost, source, destinationType, destination, routingKey, args))
  }

  deleteBinding(binding: BindingRecord): void {
    const { vhost, source, destinationType, destination, routingKey } = binding
    const args = binding.arguments
    this.push(() => this.s.deleteBinding.run(vhost, source, destinationType, destination, routingKey, args))
  }

  // ---------------------------------------------------------------------------------------------- messages

  addMessage(message: StoredMessage, queues: QueueRef[]): void {
    this.assertOpen()
    const id = message.id
    if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`message id must be a positive integer, got ${id}`)
    if (this.refCounts.has(id)) throw new Error(`message ${id} is already stored`)
    if (id > this.maxMessageId) this.maxMessageId = id

    const entries = new Map<string, PendingEntry>()
    for (const ref of queues) {
      const key = queueKey(ref.vhost, ref.name)
      if (entries.has(key)) continue
      entries.set(key, { ref: { vhost: ref.vhost, name: ref.name }, delivered: false })
      const state = this.queueStateFor(key, ref.vhost, ref.name)
      state.count++
      this.touched.add(state)
    }
    if (entries.size === 0) return
    this.refCounts.set(id, entries.size)

    const pending: PendingMessage = { message, entries }
    this.pendingAdds.set(id, pending)
    this.ops.push(() => {
      if (pending.entries.size === 0) return // added and removed within the batch: nothing to write
      const m = pending.message
      this.s.insertMessage.run(m.id, m.exchange, m.routingKey, m.properties, m.body, m.enqueuedAt ?? null)
      for (const entry of pending.entries.values()) {
        this.s.insertEntry.run(entry.ref.vhost, entry.ref.name, m.id, entry.delivered ? 1 : 0)
      }
    })
    this.liveOps++
    this.schedule()
  }

  removeMessage(queue: QueueRef, id: number): void {
    this.assertOpen()
    const key = queueKey(queue.vhost, queue.name)
    const pending = this.pendingAdds.get(id)
    if (pending) {
      if (!pending.entries.delete(key)) return
      this.queues.get(key)!.count--
      if (this.release(id) === 0) {
        // The insert is cancelled inside the batch: neither it nor a delete reaches SQLite.
        this.pendingAdds.delete(id)
        this.liveOps--
      }
      return
    }
    const state = this.queues.get(key)
    // No SELECT here: this runs once per ack on the hot path. The core removes each entry exactly once
    // (QueueEntry.stored is cleared when it does), so the in-memory bookkeeping is enough.
    if (!state || state.count === 0 || state.purged || !this.refCounts.has(id) || state.removed?.has(id)) return
    state.count--
    this.overlay(state)
    ;(state.removed ??= new Set()).add(id)
    const { vhost, name } = state.ref
    const deleteMessage = this.release(id) === 0
    this.push(() => {
      this.s.deleteEntry.run(vhost, name, id)
      if (deleteMessage) this.s.deleteMessage.run(id)
    })
  }

  markDelivered(queue: QueueRef, id: number): void {
    this.assertOpen()
    const key = queueKey(queue.vhost, queue.name)
    const pending = this.pendingAdds.get(id)
    if (pending) {
      const entry = pending.entries.get(key)
      if (entry) entry.delivered = true
      return
    }
    const state = this.queues.get(key)
    if (!state || state.delivered?.has(id) || !this.committedEntryExists(state, id)) return
    this.overlay(state)
    ;(state.delivered ??= new Set()).add(id)
    const { vhost, name } = state.ref
    this.push(() => this.s.markDelivered.run(vhost, name, id))
  }

  purgeQueue(queue: QueueRef): void {
    this.assertOpen()
    const state = this.queues.get(queueKey(queue.vhost, queue.name))
    if (state) this.purgeState(state)
  }

  readMessages(queue: QueueRef, afterId: number, limit: number): RecoveredMessage[] {
    this.assertOpen()
    const key = queueKey(queue.vhost, queue.name)
    const state = this.queues.get(key)
    if (!state || state.count === 0 || limit <= 0) return []

    // Messages still in the batch, in id order.
    const fromBatch: RecoveredMessage[] = []
    for (const pending of this.pendingAdds.values()) {
      const entry = pending.entries.get(key)
      if (entry && pending.message.id > afterId) {
        fromBatch.push({ ...pending.message, redelivered: entry.delivered || this.crashRedelivery(pending.message.id) })
      }
    }
    fromBatch.sort((a, b) => a.id - b.id)
    if (fromBatch.length > limit) fromBatch.length = limit

    // Committed messages, minus what the batch removes.
    const fromDisk: RecoveredMessage[] = []
    if (!state.purged) {
      for (const row of this.s.readEntries.iterate(state.ref.vhost, state.ref.name, afterId) as IterableIterator<MessageRow>) {
        if (state.removed?.has(row.id)) continue
        fromDisk.push({
          id: row.id,
          exchange: row.exchange,
          routingKey: row.routing_key,
          properties: row.properties,
          body: row.body,
          enqueuedAt: row.enqueued_at ?? undefined,
          redelivered: row.delivered === 1 || state.delivered?.has(row.id) === true || this.crashRedelivery(row.id),
        })
        if (fromDisk.length >= limit) break
      }
    }

    if (fromBatch.length === 0) return fromDisk
    if (fromDisk.length === 0) return fromBatch
    const merged: RecoveredMessage[] = []
    let i = 0
    let j = 0
    while (merged.length < limit && (i < fromDisk.length || j < fromBatch.length)) {
      if (j >= fromBatch.length || (i < fromDisk.length && fromDisk[i].id < fromBatch[j].id)) merged.push(fromDisk[i++])
      else merged.push(fromBatch[j++])
    }
    return merged
  }

  countMessages(queue: QueueRef): number {
    this.assertOpen()
    return this.queues.get(queueKey(queue.vhost, queue.name))?.count ?? 0
  }

  queueSummary(queue: QueueRef, afterId: number): QueueSummary {
    this.assertOpen()
    const summary: QueueSummary = { count: 0, lastId: 0 }
    const state = this.queues.get(queueKey(queue.vhost, queue.name))
    if (!state || state.count === 0) return summary
    // The database answers alone when no pending write touches this queue; commit what is queued to get there.
    if (this.touched.has(state) && this.liveOps > 0) this.commit(false)
    if (this.touched.has(state)) {
      // still pending (the commit failed, or only cancelled inserts): count through the overlay, page by page
      for (let after = afterId; ; ) {
        const page = this.readMessages(queue, after, 1000)
        for (const m of page) {
          summary.count++
          summary.lastId = m.id
        }
        if (page.length < 1000) return summary
        after = page[page.length - 1].id
      }
    }
    // index range reads only: the count is known, those up to afterId (the window read) are few
    const { vhost, name } = state.ref
    const statements = this.pagingStatements()
    summary.count = state.count - (statements.countUpTo.get(vhost, name, afterId) as number)
    summary.lastId = summary.count > 0 ? ((statements.lastId.get(vhost, name) as number | null) ?? 0) : 0
    return summary
  }

  removeMessageRange(queue: QueueRef, afterId: number, lastId: number): number {
    this.assertOpen()
    const key = queueKey(queue.vhost, queue.name)
    const state = this.queues.get(key)
    if (!state || state.count === 0 || lastId <= afterId) return 0
    let removed = 0
    // messages added in this batch: cancel their entries for this queue
    for (const [id, pending] of this.pendingAdds) {
      if (id <= afterId || id > lastId || !pending.entries.delete(key)) continue
      removed++
      state.count--
      this.touched.add(state)
      if (this.release(id) === 0) {
        this.pendingAdds.delete(id)
        this.liveOps--
      }
    }
    if (!state.purged) {
      const { vhost, name } = state.ref
      const ids = this.pagingStatements().idsInRange.all(vhost, name, afterId, lastId) as number[]
      const orphaned: number[] = []
      let live = 0
      for (const id of ids) {
        if (state.removed?.has(id)) continue // its delete is already queued
        live++
        state.count--
        ;(state.removed ??= new Set()).add(id)
        if (this.release(id) === 0) orphaned.push(id)
      }
      if (live > 0) {
        removed += live
        this.overlay(state)
        const deleteRange = this.pagingStatements().deleteRange
        const deleteMessage = this.s.deleteMessage
        this.push(() => {
          deleteRange.run(vhost, name, afterId, lastId)
          for (const id of orphaned) deleteMessage.run(id)
        })
      }
    }
    return removed
  }

  /** Statements of queueSummary and removeMessageRange, prepared on first use. */
  private pagingStatements() {
    return (this.paging ??= preparePagingStatements(this.db))
  }

  // ---------------------------------------------------------------------------------------------- scheduled

  addScheduled(message: ScheduledMessage): void {
    this.assertOpen()
    this.scheduled.add(message)
  }

  removeScheduled(id: number): boolean {
    this.assertOpen()
    return this.scheduled.remove(id)
  }

  rescheduleScheduled(id: number, dueAt: number): boolean {
    this.assertOpen()
    return this.scheduled.reschedule(id, dueAt)
  }

  getScheduled(id: number): ScheduledMessage | undefined {
    this.assertOpen()
    return this.scheduled.get(id)
  }

  readScheduled(after: ScheduledCursor | undefined, limit: number, scope?: ScheduledScope): ScheduledMessage[] {
    this.assertOpen()
    return this.scheduled.read(after, limit, scope)
  }

  scheduledDueTimes(scope: ScheduledScope): number[] {
    this.assertOpen()
    return this.scheduled.dueTimes(scope)
  }

  scheduledCursorAt(scope: ScheduledScope, offset: number): ScheduledCursor | undefined {
    this.assertOpen()
    return this.scheduled.cursorAt(scope, offset)
  }

  countScheduled(vhost: string, exchange?: string): number {
    this.assertOpen()
    return this.scheduled.count(vhost, exchange)
  }

  dropScheduled(vhost: string, exchange?: string): number {
    this.assertOpen()
    return this.scheduled.drop(vhost, exchange)
  }

  scheduledExchanges(): Array<{ vhost: string; exchange: string; count: number }> {
    this.assertOpen()
    return this.scheduled.exchanges()
  }

  // ---------------------------------------------------------------------------------------------- commits

  whenCommitted(cb: (error?: Error) => void): void {
    this.assertOpen()
    this.callbacks.push(cb)
    this.schedule()
  }

  flush(): Promise<void> {
    this.assertOpen()
    return new Promise<void>((resolve, reject) => {
      this.callbacks.push((error) => (error ? reject(error) : resolve()))
      this.schedule(true)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    let failure: Error | undefined
    this.cancelSchedule()
    this.commit(true)
    this.cancelSchedule() // no retry after a failed last commit: the store is going away
    if (this.liveOps > 0) failure = new Error('warren.db: queued writes could not be committed before closing')
    try {
      if (!failure) this.s.setMeta.run('clean_shutdown', 1)
    } catch (error) {
      failure = toError(error)
    }
    this.closed = true
    this.db.close()
    // let the callbacks dispatched by the last commit run before close() resolves
    await new Promise<void>((resolve) => setImmediate(resolve))
    if (failure) throw failure
  }

  private push(op: () => void): void {
    this.assertOpen()
    this.ops.push(op)
    this.liveOps++
    this.schedule()
  }

  private schedule(now = false): void {
    if (this.closed) return
    if (now && this.timer) this.cancelSchedule()
    if (this.timer || this.immediate) return
    const wait = Math.max(now ? 0 : this.batchDelayMs, this.retryNotBefore - Date.now())
    if (now || wait <= 0) this.immediate = setImmediate(() => this.runScheduled())
    else this.timer = setTimeout(() => this.runScheduled(), wait)
  }

  private cancelSchedule(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
  }

  private runScheduled(): void {
    this.timer = undefined
    this.immediate = undefined
    if (!this.closed) this.commit(true)
  }

  /**
   * Commits the whole pending batch in one transaction, then hands the result to every callback registered so far.
   * On failure the batch stays queued (SQLite rolled the transaction back, so nothing committed earlier is touched)
   * and is retried with the next one; the callbacks get the error.
   */
  private commit(dispatchCallbacks: boolean): void {
    let error: Error | undefined
    if (this.liveOps > 0) {
      try {
        this.commitTransaction(this.ops)
      } catch (e) {
        error = toError(e)
      }
      if (!error) {
        this.persistedMaxId = Math.max(this.persistedMaxId, this.maxMessageId)
        this.resetBatch()
        this.retryDelay = 0
        this.retryNotBefore = 0
      } else {
        this.retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.retryDelay * 2))
        this.retryNotBefore = Date.now() + this.retryDelay
      }
    } else {
      // only cancelled inserts (or nothing): no transaction at all
      this.resetBatch()
      if (this.failure && !this.closed) {
        // nothing left to retry, but the store is still marked failing: a small real write tells whether it recovered
        error = this.probe()
        if (error) {
          this.retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.retryDelay * 2))
          this.retryNotBefore = Date.now() + this.retryDelay
        } else {
          this.retryDelay = 0
          this.retryNotBefore = 0
        }
      }
    }
    if (error || this.failure) this.noteWriteResult(error)

    if (dispatchCallbacks || error) {
      const callbacks = this.callbacks
      this.callbacks = []
      if (callbacks.length > 0) {
        // Always asynchronous, so no callback runs inside a store call; setImmediate keeps batches in order.
        setImmediate(() => {
          for (const cb of callbacks) {
            try {
              cb(error)
            } catch (thrown) {
              queueMicrotask(() => {
                throw thrown
              })
            }
          }
        })
      }
    }
    if (error && !this.closed) this.schedule()
  }

  /** One small real write (a meta row), to see whether a failing disk takes writes again. */
  private probe(): Error | undefined {
    try {
      this.commitTransaction([() => this.s.setMeta.run('write_probe', Date.now())])
      return undefined
    } catch (e) {
      return toError(e)
    }
  }

  /** Tracks writeError and tells the listeners when it changes (failing, failing for another reason, recovered). */
  private noteWriteResult(error: Error | undefined): void {
    if (error) {
      const kind = this.classify(error)
      if (this.failure?.kind === kind) return
      this.failure = { kind, error, since: this.failure?.since ?? Date.now() }
    } else {
      if (!this.failure) return
      this.failure = undefined
    }
    const state = this.failure
    for (const listener of this.writeListeners) {
      try {
        listener(state)
      } catch (thrown) {
        queueMicrotask(() => {
          throw thrown
        })
      }
    }
  }

  private classify(error: Error): StoreWriteError['kind'] {
    const code = (error as { code?: unknown }).code
    const text = `${typeof code === 'string' ? code : ''} ${error.message}`
    if (/SQLITE_FULL|ENOSPC|disk is full/i.test(text)) return 'full'
    if (/SQLITE_READONLY|EROFS|read-?only/i.test(text)) return 'read-only'
    // SQLite reports a file system gone read-only (or full) under it as a plain I/O error, without the errno: creating
    // a small file next to the database tells which (access(2) does not: ext4's emergency read-only is not a mount flag)
    const probe = `${this.file}-write-probe`
    try {
      writeFileSync(probe, 'probe')
      unlinkSync(probe)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      try {
        unlinkSync(probe)
      } catch {
        // it was never created
      }
      if (code === 'ENOSPC' || code === 'EDQUOT') return 'full'
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read-only'
    }
    return 'io'
  }

  private resetBatch(): void {
    this.ops = []
    this.liveOps = 0
    this.scheduled.reset()
    if (this.pendingAdds.size > 0) this.pendingAdds = new Map()
    for (const state of this.touched) {
      state.purged = false
      state.removed = null
      state.delivered = null
      if (state.count === 0) this.queues.delete(queueKey(state.ref.vhost, state.ref.name))
    }
    this.touched.clear()
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private assertOpen(): void {
    if (this.closed) throw new Error('the store is closed')
  }

  private crashRedelivery(id: number): boolean {
    return !this.previousShutdownWasClean && id <= this.maxIdAtOpen
  }

  private queueState(vhost: string, name: string): QueueState {
    return this.queueStateFor(queueKey(vhost, name), vhost, name)
  }

  private queueStateFor(key: string, vhost: string, name: string): QueueState {
    let state = this.queues.get(key)
    if (!state) {
      state = { ref: { vhost, name }, count: 0, purged: false, removed: null, delivered: null }
      this.queues.set(key, state)
    }
    return state
  }

  private overlay(state: QueueState): void {
    this.touched.add(state)
  }

  /** Drops one reference to a message; returns how many are left. */
  private release(id: number): number {
    const left = (this.refCounts.get(id) ?? 1) - 1
    if (left > 0) this.refCounts.set(id, left)
    else this.refCounts.delete(id)
    return left
  }

  /** Whether a message not in the pending batch is (still, logically) in the queue. */
  private committedEntryExists(state: QueueState, id: number): boolean {
    if (state.count === 0 || state.purged || !this.refCounts.has(id) || state.removed?.has(id)) return false
    return this.s.entryExists.get(state.ref.vhost, state.ref.name, id) !== undefined
  }

  /** Logically empties a queue now; the database follows with the batch. */
  private purgeState(state: QueueState): void {
    if (state.count === 0) return
    const key = queueKey(state.ref.vhost, state.ref.name)
    const { vhost, name } = state.ref

    // messages added in this batch: cancel their entries for this queue
    for (const [id, pending] of this.pendingAdds) {
      if (!pending.entries.delete(key)) continue
      if (this.release(id) === 0) {
        this.pendingAdds.delete(id)
        this.liveOps--
      }
    }

    // committed messages: drop their entries, and the bodies losing their last reference
    let live = 0
    const orphaned: number[] = []
    if (!state.purged) {
      const ids = this.s.queueEntryIds.all(vhost, name) as number[]
      for (const id of ids) {
        if (state.removed?.has(id)) continue // its delete is already queued
        live++
        if (this.release(id) === 0) orphaned.push(id)
      }
    }
    state.count = 0
    state.purged = true
    state.removed = null
    state.delivered = null
    this.overlay(state)
    if (live > 0) {
      this.push(() => {
        this.s.purgeEntries.run(vhost, name)
        for (const id of orphaned) this.s.deleteMessage.run(id)
      })
    }
  }
}

/** Opens (creating if needed) the SQLite store in `options.directory`. */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options)
}
