import type Database from 'better-sqlite3'

/**
 * Schema migrations of warren.db. Migration N (1-based) moves the database from version N-1 to version N; each runs
 * in its own transaction together with the update of schema_version. Never edit a released migration: append one.
 */
const migrations: ReadonlyArray<(db: Database.Database) => void> = [
  // 1: initial schema
  (db) => {
    db.exec(`
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value
      ) WITHOUT ROWID;

      CREATE TABLE vhosts (
        name               TEXT PRIMARY KEY,
        description        TEXT NOT NULL,
        tags               TEXT NOT NULL,  -- JSON array
        default_queue_type TEXT
      ) WITHOUT ROWID;

      CREATE TABLE users (
        name              TEXT PRIMARY KEY,
        password_hash     TEXT NOT NULL,
        hashing_algorithm TEXT NOT NULL,
        tags              TEXT NOT NULL    -- JSON array
      ) WITHOUT ROWID;

      CREATE TABLE permissions (
        user      TEXT NOT NULL,
        vhost     TEXT NOT NULL,
        configure TEXT NOT NULL,
        write     TEXT NOT NULL,
        read      TEXT NOT NULL,
        PRIMARY KEY (user, vhost)
      ) WITHOUT ROWID;
      CREATE INDEX permissions_by_vhost ON permissions (vhost);

      CREATE TABLE exchanges (
        vhost       TEXT NOT NULL,
        name        TEXT NOT NULL,
        type        TEXT NOT NULL,
        auto_delete INTEGER NOT NULL,
        internal    INTEGER NOT NULL,
        arguments   BLOB NOT NULL,
        PRIMARY KEY (vhost, name)
      ) WITHOUT ROWID;

      CREATE TABLE queues (
        vhost       TEXT NOT NULL,
        name        TEXT NOT NULL,
        auto_delete INTEGER NOT NULL,
        arguments   BLOB NOT NULL,
        PRIMARY KEY (vhost, name)
      ) WITHOUT ROWID;

      CREATE TABLE bindings (
        vhost            TEXT NOT NULL,
        source           TEXT NOT NULL,
        destination_type TEXT NOT NULL,
        destination      TEXT NOT NULL,
        routing_key      TEXT NOT NULL,
        arguments        BLOB NOT NULL,
        PRIMARY KEY (vhost, source, destination_type, destination, routing_key, arguments)
      ) WITHOUT ROWID;
      CREATE INDEX bindings_by_destination ON bindings (vhost, destination_type, destination);

      CREATE TABLE messages (
        id          INTEGER PRIMARY KEY,
        exchange    TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        properties  BLOB NOT NULL,
        body        BLOB NOT NULL
      );

      CREATE TABLE queue_messages (
        vhost      TEXT NOT NULL,
        queue      TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        delivered  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (vhost, queue, message_id)
      ) WITHOUT ROWID;
    `)
  },
  // 2: scheduled messages of delayed-message exchanges (x-delayed-message), read in due order
  (db) => {
    db.exec(`
      CREATE TABLE scheduled (
        id          INTEGER PRIMARY KEY,
        vhost       TEXT NOT NULL,
        exchange    TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        properties  BLOB NOT NULL,
        body        BLOB NOT NULL,
        due_at      INTEGER NOT NULL
      );
      CREATE INDEX scheduled_by_due ON scheduled (due_at, id);
      CREATE INDEX scheduled_by_exchange ON scheduled (vhost, exchange, due_at, id);
    `)
  },
  // 3: policies (RabbitMQ's set_policy)
  (db) => {
    db.exec(`
      CREATE TABLE policies (
        vhost      TEXT NOT NULL,
        name       TEXT NOT NULL,
        pattern    TEXT NOT NULL,
        apply_to   TEXT NOT NULL,
        priority   INTEGER NOT NULL,
        definition TEXT NOT NULL,  -- JSON object
        PRIMARY KEY (vhost, name)
      ) WITHOUT ROWID;
    `)
  },
  // 4: when a message entered its queues, so a recovered message keeps its TTL deadline (as RabbitMQ does)
  (db) => {
    db.exec('ALTER TABLE messages ADD COLUMN enqueued_at INTEGER')
  },
  // 5: runtime parameters (RabbitMQ's set_parameter; component 'shovel' = dynamic shovels)
  (db) => {
    db.exec(`
      CREATE TABLE parameters (
        vhost     TEXT NOT NULL,
        component TEXT NOT NULL,
        name      TEXT NOT NULL,
        value     TEXT NOT NULL,  -- JSON
        PRIMARY KEY (vhost, component, name)
      ) WITHOUT ROWID;
    `)
  },
  // 6: scheduled messages keep one index. A second random-position index, (vhost, exchange, due_at, id), made every
  // insert about three times as expensive (the profile of scheduling 1M delayed messages: 51% in the commit); the
  // per-exchange listings now walk scheduled_by_due and filter, which the console can afford
  (db) => {
    db.exec('DROP INDEX IF EXISTS scheduled_by_exchange')
  },
]

export const SCHEMA_VERSION = migrations.length

/**
 * Brings the schema up to date. Returns the version the database had before (0 for a new database).
 * Refuses a database written by a newer Warren rather than guessing at its layout.
 */
export function migrate(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
  const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null }
  const initial = row.version ?? 0
  if (initial > SCHEMA_VERSION) {
    throw new Error(
      `warren.db has schema version ${initial}, newer than this Warren understands (${SCHEMA_VERSION}); refusing to open it`,
    )
  }
  for (let version = initial + 1; version <= SCHEMA_VERSION; version++) {
    db.transaction(() => {
      migrations[version - 1](db)
      db.prepare('DELETE FROM schema_version').run()
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(version)
    }).immediate()
  }
  return initial
}
