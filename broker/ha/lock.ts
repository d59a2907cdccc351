/**
 * The storage lock of an active/standby pair: whoever holds it is the active member. It is SQLite's own file
 * locking (POSIX fcntl locks on Linux/macOS, LockFileEx on Windows) on a small database of its own,
 * `<data>/pair/lock.db`, opened with `PRAGMA locking_mode = EXCLUSIVE` and written once: from that write on SQLite
 * keeps the EXCLUSIVE lock until the connection closes. The kernel drops the lock when the holder's process dies
 * (kill -9 included), so no pid file and no liveness guess decide anything.
 *
 * Not the main database (warren.db): that one is in WAL mode, where an exclusive lock would also shut out the
 * standby's read-only look at the users table (it authenticates /api/ha), and where the broker's own connection
 * must stay as it is.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

export class PairLock {
  private db: Database.Database | undefined

  constructor(readonly file: string) {}

  get held(): boolean {
    return this.db !== undefined
  }

  /**
   * One attempt: true when this process now holds the lock (or already did), false when another process (or another
   * PairLock of this process) holds it. Waits at most busyMs for a competitor that is in the middle of its own attempt.
   */
  tryAcquire(holder: string, busyMs = 100): boolean {
    if (this.db) return true
    mkdirSync(dirname(this.file), { recursive: true })
    const db = new Database(this.file, { timeout: busyMs })
    try {
      db.pragma('locking_mode = EXCLUSIVE')
      db.exec('BEGIN EXCLUSIVE')
      db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), node TEXT NOT NULL, pid INTEGER NOT NULL, since INTEGER NOT NULL)')
      db.prepare('INSERT OR REPLACE INTO holder (id, node, pid, since) VALUES (1, ?, ?, ?)').run(holder, process.pid, Date.now())
      db.exec('COMMIT')
    } catch (error) {
      db.close()
      if (isBusy(error)) return false
      throw error
    }
    this.db = db
    return true
  }

  /** Lets the lock go (the kernel would too, at the process's death). */
  release(): void {
    const db = this.db
    this.db = undefined
    db?.close()
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT'
}
