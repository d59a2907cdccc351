/**
 * Connection profiles, kept in the console's own SQLite database (a separate file from the broker's store).
 * The embedded profile is not stored: it always exists and describes the console's own broker.
 */
import Database from 'better-sqlite3'
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ConnectionProfile, ProfileInput, ProfilesState } from '../contract'
import type { SecretBox } from './secrets'

export const EMBEDDED_PROFILE_ID = 'embedded'

/**
 * The little of SQLite the profile store uses. better-sqlite3 fits it (the web console, tests); so does Node's
 * built-in node:sqlite DatabaseSync, which the desktop app uses in Electron's main process, where a better-sqlite3
 * built for Node's ABI (the one the broker host needs) cannot load.
 */
export interface SqlDatabase {
  exec(sql: string): unknown
  prepare(sql: string): {
    run(...params: unknown[]): { changes: number | bigint }
    get(...params: unknown[]): unknown
    all(...params: unknown[]): unknown[]
  }
  close(): unknown
}

export interface EmbeddedEndpoints {
  amqpUrl: string
  managementUrl: string
}

/** A profile with what the backend needs to connect (never sent to the UI). */
export interface ProfileWithSecret extends ConnectionProfile {
  password: string
}

export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

interface Row {
  id: string
  name: string
  amqp_url: string
  management_url: string
  username: string
  password_sealed: string | null
  vhost: string
  production: number
  read_only: number
}

export function validateProfileInput(input: ProfileInput): void {
  if (typeof input.name !== 'string' || input.name.trim() === '') throw new ConsoleError('INVALID', 'a profile needs a name')
  for (const [field, value, schemes] of [
    ['AMQP URL', input.amqpUrl, ['amqp:', 'amqps:']],
    ['management URL', input.managementUrl, ['http:', 'https:']],
  ] as const) {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new ConsoleError('INVALID', `${field} is not a URL: ${value}`)
    }
    if (!(schemes as readonly string[]).includes(url.protocol)) throw new ConsoleError('INVALID', `${field} must start with ${schemes.join(' or ')}`)
  }
  if (typeof input.username !== 'string' || input.username === '') throw new ConsoleError('INVALID', 'a profile needs a user name')
  if (typeof input.vhost !== 'string' || input.vhost === '') throw new ConsoleError('INVALID', 'a profile needs a vhost (the default is "/")')
}

export class ProfileStore {
  private readonly db: SqlDatabase

  /** `database`: a file path (opened with better-sqlite3; ':memory:' for none) or an open database */
  constructor(
    database: string | SqlDatabase,
    private readonly secrets: SecretBox,
    private embedded: EmbeddedEndpoints,
  ) {
    if (typeof database === 'string') {
      if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true })
      this.db = new Database(database) as unknown as SqlDatabase
    } else this.db = database
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS profiles (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        amqp_url TEXT NOT NULL,
        management_url TEXT NOT NULL,
        username TEXT NOT NULL,
        password_sealed TEXT,
        vhost TEXT NOT NULL DEFAULT '/',
        production INTEGER NOT NULL DEFAULT 0,
        read_only INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `)
  }

  setEmbeddedEndpoints(endpoints: EmbeddedEndpoints): void {
    this.embedded = endpoints
  }

  embeddedProfile(): ConnectionProfile {
    return {
      id: EMBEDDED_PROFILE_ID,
      name: 'Embedded broker',
      kind: 'embedded',
      amqpUrl: this.embedded.amqpUrl,
      managementUrl: this.embedded.managementUrl,
      username: 'guest',
      vhost: '/',
      production: false,
      readOnly: false,
      hasPassword: true,
    }
  }

  list(): ConnectionProfile[] {
    const rows = this.db.prepare('SELECT * FROM profiles ORDER BY created_at, name').all() as Row[]
    return [this.embeddedProfile(), ...rows.map((r) => this.toProfile(r))]
  }

  state(): ProfilesState {
    return { profiles: this.list(), activeId: this.activeId() }
  }

  get(id: string): ConnectionProfile {
    if (id === EMBEDDED_PROFILE_ID) return this.embeddedProfile()
    const row = this.row(id)
    return this.toProfile(row)
  }

  /** The profile with its password decrypted, for the backend. */
  withSecret(id: string): ProfileWithSecret {
    if (id === EMBEDDED_PROFILE_ID) return { ...this.embeddedProfile(), password: 'guest' }
    const row = this.row(id)
    return { ...this.toProfile(row), password: row.password_sealed ? this.secrets.decrypt(row.password_sealed) : '' }
  }

  add(input: ProfileInput): ConnectionProfile {
    validateProfileInput(input)
    const id = randomUUID()
    this.db
      .prepare(
        `INSERT INTO profiles (id, name, amqp_url, management_url, username, password_sealed, vhost, production, read_only, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        input.name.trim(),
        input.amqpUrl,
        input.managementUrl,
        input.username,
        input.password ? this.secrets.encrypt(input.password) : null,
        input.vhost,
        input.production ? 1 : 0,
        input.readOnly ? 1 : 0,
        Date.now(),
      )
    return this.get(id)
  }

  update(id: string, changes: Partial<ProfileInput>): ConnectionProfile {
    if (id === EMBEDDED_PROFILE_ID) throw new ConsoleError('INVALID', 'the embedded profile cannot be changed')
    const current = this.withSecret(id)
    const next: ProfileInput = {
      name: changes.name ?? current.name,
      amqpUrl: changes.amqpUrl ?? current.amqpUrl,
      managementUrl: changes.managementUrl ?? current.managementUrl,
      username: changes.username ?? current.username,
      vhost: changes.vhost ?? current.vhost,
      production: changes.production ?? current.production,
      readOnly: changes.readOnly ?? current.readOnly,
    }
    validateProfileInput(next)
    const sealed = changes.password !== undefined ? (changes.password ? this.secrets.encrypt(changes.password) : null) : this.row(id).password_sealed
    this.db
      .prepare(
        `UPDATE profiles SET name = ?, amqp_url = ?, management_url = ?, username = ?, password_sealed = ?, vhost = ?,
         production = ?, read_only = ? WHERE id = ?`,
      )
      .run(next.name.trim(), next.amqpUrl, next.managementUrl, next.username, sealed, next.vhost, next.production ? 1 : 0, next.readOnly ? 1 : 0, id)
    return this.get(id)
  }

  delete(id: string): void {
    if (id === EMBEDDED_PROFILE_ID) throw new ConsoleError('INVALID', 'the embedded profile cannot be deleted')
    const { changes } = this.db.prepare('DELETE FROM profiles WHERE id = ?').run(id)
    if (Number(changes) === 0) throw new ConsoleError('NOT_FOUND', `no profile ${id}`)
    if (this.activeId() === id) this.setActive(EMBEDDED_PROFILE_ID)
  }

  activeId(): string {
    const row = this.db.prepare("SELECT value FROM settings WHERE key = 'active_profile'").get() as { value: string } | undefined
    if (!row) return EMBEDDED_PROFILE_ID
    const exists = row.value === EMBEDDED_PROFILE_ID || this.db.prepare('SELECT 1 FROM profiles WHERE id = ?').get(row.value) !== undefined
    return exists ? row.value : EMBEDDED_PROFILE_ID
  }

  setActive(id: string): void {
    this.get(id)
    this.db.prepare("INSERT INTO settings (key, value) VALUES ('active_profile', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(id)
  }

  /** the stored (sealed) password, for tests that check nothing is kept in clear */
  rawSealedPassword(id: string): string | null {
    return this.row(id).password_sealed
  }

  /** the console's database, shared with the other areas of the console (metrics, audit log, replay jobs) */
  database(): SqlDatabase {
    return this.db
  }

  close(): void {
    this.db.close()
  }

  private row(id: string): Row {
    const row = this.db.prepare('SELECT * FROM profiles WHERE id = ?').get(id) as Row | undefined
    if (!row) throw new ConsoleError('NOT_FOUND', `no profile ${id}`)
    return row
  }

  private toProfile(r: Row): ConnectionProfile {
    return {
      id: r.id,
      name: r.name,
      kind: 'remote',
      amqpUrl: r.amqp_url,
      managementUrl: r.management_url,
      username: r.username,
      vhost: r.vhost,
      production: r.production === 1,
      readOnly: r.read_only === 1,
      hasPassword: r.password_sealed !== null,
    }
  }
}
