export type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  ParameterRecord,
  PermissionRecord,
  QueueRecord,
  QueueRef,
  RecoveredMessage,
  ScheduledCursor,
  ScheduledMessage,
  ScheduledScope,
  Store,
  StoredMessage,
  StoreWriteError,
  UserRecord,
  VhostRecord,
} from './store'
export { openSqliteStore } from './sqlite/sqlite-store'
export type { SqliteStoreOptions } from './sqlite/sqlite-store'
export { createMemoryStore } from './memory/memory-store'
