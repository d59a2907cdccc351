/**
 * The dead-letter audit log: every replay, delete, purge, import and export, in the console's own database
 * (table dead_letter_audit), shown by the view's Audit tab.
 */
import type { AuditEntry } from '../../contract'
import type { SqlDatabase } from '../profiles'

export class AuditLog {
  constructor(private readonly db: SqlDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS dead_letter_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        profile_id TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        vhost TEXT NOT NULL,
        action TEXT NOT NULL,
        queues TEXT NOT NULL,
        count INTEGER NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        job_id TEXT
      )
    `)
  }

  record(e: Omit<AuditEntry, 'id' | 'at'> & { at?: number }): void {
    this.db
      .prepare('INSERT INTO dead_letter_audit (at, profile_id, profile_name, vhost, action, queues, count, target, outcome, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.at ?? Date.now(), e.profileId, e.profileName, e.vhost, e.action, JSON.stringify(e.queues), e.count, e.target ?? null, e.outcome, e.jobId ?? null)
  }

  list(limit = 200): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM dead_letter_audit ORDER BY id DESC LIMIT ?').all(Math.max(1, Math.min(5000, Math.floor(limit)))) as Record<string, unknown>[]
    return rows.map((r) => {
      const entry: AuditEntry = {
        id: Number(r.id),
        at: Number(r.at),
        profileId: String(r.profile_id),
        profileName: String(r.profile_name),
        vhost: String(r.vhost),
        action: String(r.action) as AuditEntry['action'],
        queues: JSON.parse(String(r.queues)) as string[],
        count: Number(r.count),
        outcome: String(r.outcome),
      }
      if (r.target !== null && r.target !== undefined) entry.target = String(r.target)
      if (r.job_id !== null && r.job_id !== undefined) entry.jobId = String(r.job_id)
      return entry
    })
  }
}
