/**
 * The console's record of the messages it scheduled on RabbitMQ (TTL path: to list, cancel, reschedule and deliver
 * them from their delay queues; plugin path: a log only, since RabbitMQ cannot list what the plugin holds). Lives in
 * the console's own SQLite database. A row whose due time has passed is checked once for a route, then forgotten
 * (delivered) or kept as unrouted.
 */
import type { MessageProperties, ScheduleMechanism, ScheduledSort } from '../../contract'
import type { SqlDatabase } from '../profiles'

export interface RegistryRow {
  id: string
  profileId: string
  vhost: string
  mechanism: ScheduleMechanism
  exchange: string
  routingKey: string
  dueAt: number
  /** the delay queue (ttl) */
  queue: string | null
  properties: MessageProperties
  payloadBytes: number
  /** the body, base64 (kept so the view can show it) */
  payloadBase64: string
  createdAt: number
  /** 'pending' | 'unrouted' */
  state: string
  /** when it was found unrouted */
  checkedAt: number | null
}

interface Row {
  id: string
  profile_id: string
  vhost: string
  mechanism: string
  exchange: string
  routing_key: string
  due_at: number
  queue: string | null
  properties: string
  payload_bytes: number
  payload: string
  created_at: number
  state: string
  checked_at: number | null
}

const fromRow = (r: Row): RegistryRow => ({
  id: r.id,
  profileId: r.profile_id,
  vhost: r.vhost,
  mechanism: r.mechanism as ScheduleMechanism,
  exchange: r.exchange,
  routingKey: r.routing_key,
  dueAt: r.due_at,
  queue: r.queue,
  properties: JSON.parse(r.properties) as MessageProperties,
  payloadBytes: r.payload_bytes,
  payloadBase64: r.payload,
  createdAt: r.created_at,
  state: r.state,
  checkedAt: r.checked_at,
})

const SORT_COLUMNS: Record<ScheduledSort, string> = { dueAt: 'due_at', routingKey: 'routing_key', exchange: 'exchange' }

export class ScheduledRegistry {
  constructor(private readonly db: SqlDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS scheduled_messages (
        id TEXT PRIMARY KEY,
        profile_id TEXT NOT NULL,
        vhost TEXT NOT NULL,
        mechanism TEXT NOT NULL,
        exchange TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        queue TEXT,
        properties TEXT NOT NULL,
        payload_bytes INTEGER NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        checked_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS scheduled_messages_due ON scheduled_messages (profile_id, vhost, mechanism, state, due_at);
    `)
  }

  add(row: Omit<RegistryRow, 'state' | 'checkedAt'>): void {
    this.db
      .prepare(
        'INSERT INTO scheduled_messages (id, profile_id, vhost, mechanism, exchange, routing_key, due_at, queue, properties, payload_bytes, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(row.id, row.profileId, row.vhost, row.mechanism, row.exchange, row.routingKey, row.dueAt, row.queue, JSON.stringify(row.properties), row.payloadBytes, row.payloadBase64, row.createdAt)
  }

  get(profileId: string, id: string): RegistryRow | undefined {
    const r = this.db.prepare('SELECT * FROM scheduled_messages WHERE profile_id = ? AND id = ?').get(profileId, id) as Row | undefined
    return r && fromRow(r)
  }

  remove(profileId: string, id: string): boolean {
    return Number(this.db.prepare('DELETE FROM scheduled_messages WHERE profile_id = ? AND id = ?').run(profileId, id).changes) > 0
  }

  move(profileId: string, id: string, dueAt: number, queue: string | null): void {
    this.db.prepare("UPDATE scheduled_messages SET due_at = ?, queue = ?, state = 'pending', checked_at = NULL WHERE profile_id = ? AND id = ?").run(dueAt, queue, profileId, id)
  }

  markUnrouted(profileId: string, id: string, at: number): void {
    this.db.prepare("UPDATE scheduled_messages SET state = 'unrouted', checked_at = ? WHERE profile_id = ? AND id = ?").run(at, profileId, id)
  }

  count(profileId: string, vhost: string, mechanism: ScheduleMechanism, state = 'pending'): number {
    const r = this.db.prepare('SELECT count(*) AS n FROM scheduled_messages WHERE profile_id = ? AND vhost = ? AND mechanism = ? AND state = ?').get(profileId, vhost, mechanism, state) as { n: number }
    return Number(r.n)
  }

  page(profileId: string, vhost: string, mechanism: ScheduleMechanism, options: { offset: number; limit: number; sort?: ScheduledSort; reverse?: boolean }): RegistryRow[] {
    const column = SORT_COLUMNS[options.sort ?? 'dueAt'] ?? 'due_at'
    const dir = options.reverse ? 'DESC' : 'ASC'
    const rows = this.db
      .prepare(`SELECT * FROM scheduled_messages WHERE profile_id = ? AND vhost = ? AND mechanism = ? AND state = 'pending' ORDER BY ${column} ${dir}, due_at ${dir}, id ${dir} LIMIT ? OFFSET ?`)
      .all(profileId, vhost, mechanism, options.limit, options.offset) as Row[]
    return rows.map(fromRow)
  }

  dues(profileId: string, vhost: string, mechanism: ScheduleMechanism): number[] {
    return (this.db.prepare("SELECT due_at FROM scheduled_messages WHERE profile_id = ? AND vhost = ? AND mechanism = ? AND state = 'pending'").all(profileId, vhost, mechanism) as Array<{ due_at: number }>).map((r) => r.due_at)
  }

  /** pending rows due before `before` (to check and forget) */
  overdue(profileId: string, before: number, limit = 500): RegistryRow[] {
    return (this.db.prepare("SELECT * FROM scheduled_messages WHERE profile_id = ? AND state = 'pending' AND due_at < ? ORDER BY due_at LIMIT ?").all(profileId, before, limit) as Row[]).map(fromRow)
  }

  unrouted(profileId: string, vhost: string, mechanism: ScheduleMechanism): RegistryRow[] {
    return (this.db.prepare("SELECT * FROM scheduled_messages WHERE profile_id = ? AND vhost = ? AND mechanism = ? AND state = 'unrouted' ORDER BY checked_at DESC LIMIT 1000").all(profileId, vhost, mechanism) as Row[]).map(fromRow)
  }

  clearUnrouted(profileId: string, vhost: string, mechanism: ScheduleMechanism): void {
    this.db.prepare("DELETE FROM scheduled_messages WHERE profile_id = ? AND vhost = ? AND mechanism = ? AND state = 'unrouted'").run(profileId, vhost, mechanism)
  }
}
