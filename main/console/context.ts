/**
 * What each area of the console (management, metrics, dead letters, scheduled messages) gets from the console
 * service, and what it gives back: its share of the contract's handlers. service.ts builds one context and
 * composes the areas; an area never reaches into another.
 */
import type { CommandHandlers, EventName, WarrenEvents } from '../contract'
import type { BrokerBackend } from './backend'
import type { ManagementTarget } from './management-backend'
import type { ProfileStore, SqlDatabase } from './profiles'

export interface ConsoleContext {
  profiles: ProfileStore
  /** the console's own SQLite database (profiles live there too); areas create their own tables in it */
  db: SqlDatabase
  /** the active profile's backend */
  backend(): BrokerBackend
  /** the active profile's backend, or a READ_ONLY error when the profile is read-only */
  writable(): BrokerBackend
  /** the active profile with its password, for areas that open their own AMQP or HTTP connections */
  activeTarget(): ManagementTarget
  emit<E extends EventName>(event: E, payload: WarrenEvents[E]): void
  log(level: 'info' | 'warn' | 'error', message: string): void
}

/** One area's handlers, plus what it must hear about. */
export interface ConsoleArea<K extends keyof CommandHandlers> {
  handlers: Pick<CommandHandlers, K>
  /** the active profile changed (or was edited): drop connections and state tied to the old one */
  profileChanged?(): void
  /** the console is shutting down */
  close?(): Promise<void>
}
