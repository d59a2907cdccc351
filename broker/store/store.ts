/**
 * The storage interface of the embedded broker. `core` is its only caller; implementations live in their own
 * folders (`store/sqlite/`, `store/memory/`) and all pass the one shared suite in test/unit/store/.
 *
 * The store knows nothing of AMQP: field tables (queue/exchange/binding arguments) and message properties
 * arrive already encoded, as opaque Buffers.
 *
 * Writes are synchronous calls that only queue work; they are committed together in one transaction per batch
 * (group commit). `whenCommitted(cb)` calls cb once every write queued before it is durable — publisher confirms
 * for persistent messages wait on it.
 */

export interface VhostRecord {
  name: string
  description: string
  tags: string[]
  defaultQueueType?: string
}

export interface UserRecord {
  name: string
  /** base64 of salt(4 bytes) + sha256(salt + password), as RabbitMQ's rabbit_password_hashing_sha256 */
  passwordHash: string
  hashingAlgorithm: string
  tags: string[]
}

export interface PermissionRecord {
  user: string
  vhost: string
  configure: string
  write: string
  read: string
}

export interface ExchangeRecord {
  vhost: string
  name: string
  type: string
  autoDelete: boolean
  internal: boolean
  /** encoded AMQP field table */
  arguments: Buffer
}

export interface QueueRecord {
  vhost: string
  name: string
  autoDelete: boolean
  /** encoded AMQP field table */
  arguments: Buffer
}

export interface BindingRecord {
  vhost: string
  source: string
  destination: string
  destinationType: 'queue' | 'exchange'
  routingKey: string
  /** encoded AMQP field table */
  arguments: Buffer
}

/** A policy (RabbitMQ's set_policy): the store keeps its definition as JSON text. */
export interface PolicyRecord {
  vhost: string
  name: string
  pattern: string
  applyTo: string
  priority: number
  /** JSON object of the policy's definition keys */
  definition: string
}

/**
 * A runtime parameter (RabbitMQ's set_parameter): a named JSON value of a component in a vhost, e.g. a dynamic
 * shovel (component 'shovel'). The store keeps the value as JSON text.
 */
export interface ParameterRecord {
  vhost: string
  component: string
  name: string
  /** JSON text of the value */
  value: string
}

export interface QueueRef {
  vhost: string
  name: string
}

/** A persistent message as the store keeps it. The same id may sit in several queues; its body is stored once. */
export interface StoredMessage {
  /** broker-wide, strictly increasing; the order of messages within a queue is the order of their ids */
  id: number
  exchange: string
  routingKey: string
  /** the encoded basic properties (the property flags and property list of the content header) */
  properties: Buffer
  body: Buffer
  /** when the message entered its queues (ms since the epoch), so TTL deadlines survive a restart */
  enqueuedAt?: number
}

export interface RecoveredMessage extends StoredMessage {
  /** set when the message had been delivered before, or when the broker did not shut down cleanly */
  redelivered: boolean
}

/**
 * A message held by a delayed-message exchange (x-delayed-message) until `dueAt`. Scheduled messages are kept
 * apart from queue messages: they belong to an exchange, not to queues, and are routed only when they fall due.
 */
export interface ScheduledMessage {
  /** broker-wide message id (the same counter as queue messages, so lastMessageId covers it) */
  id: number
  vhost: string
  exchange: string
  routingKey: string
  /** the encoded basic properties, as published */
  properties: Buffer
  body: Buffer
  /** when it falls due, in ms since the epoch */
  dueAt: number
}

/** A position in due order: scheduled messages are ordered by (dueAt, id). */
export interface ScheduledCursor {
  dueAt: number
  id: number
}

/** Scheduled messages of one exchange, or of every exchange of a vhost (exchange omitted). */
export interface ScheduledScope {
  vhost: string
  exchange?: string
}

/** Store.queueSummary: part of a queue's messages, counted without reading them. */
export interface QueueSummary {
  count: number
  /** the highest id among them (0 when none) */
  lastId: number
}

export interface Definitions {
  vhosts: VhostRecord[]
  users: UserRecord[]
  permissions: PermissionRecord[]
  exchanges: ExchangeRecord[]
  queues: QueueRecord[]
  bindings: BindingRecord[]
  policies: PolicyRecord[]
}

/** Why the store cannot write: 'full' (no space left), 'read-only' (file or file system), or any other I/O error. */
export interface StoreWriteError {
  kind: 'full' | 'read-only' | 'io'
  /** the underlying error, e.g. SQLITE_FULL: database or disk is full */
  error: Error
  /** when the first of the failing commits happened (ms since the epoch) */
  since: number
}

export interface Store {
  /** Everything durable, read once at start-up. */
  loadDefinitions(): Definitions
  /** True when the previous run closed the store with close(); false after a crash or on first open of old data. */
  readonly previousShutdownWasClean: boolean
  /** The highest message id ever stored (0 when none), so ids keep increasing across restarts. */
  readonly lastMessageId: number

  saveVhost(vhost: VhostRecord): void
  deleteVhost(name: string): void
  saveUser(user: UserRecord): void
  deleteUser(name: string): void
  savePermission(permission: PermissionRecord): void
  deletePermission(user: string, vhost: string): void
  saveExchange(exchange: ExchangeRecord): void
  deleteExchange(vhost: string, name: string): void
  /** Also used to update a queue's arguments. */
  saveQueue(queue: QueueRecord): void
  /** Deletes the queue, its bindings and its messages. */
  deleteQueue(vhost: string, name: string): void
  saveBinding(binding: BindingRecord): void
  deleteBinding(binding: BindingRecord): void
  /** Adds or replaces the policy with the same (vhost, name). Deleting a vhost deletes its policies. */
  savePolicy(policy: PolicyRecord): void
  deletePolicy(vhost: string, name: string): void
  /** Runtime parameters (dynamic shovels...), read once at start-up. */
  loadParameters(): ParameterRecord[]
  /** Adds or replaces the parameter with the same (vhost, component, name). Deleting a vhost deletes its parameters. */
  saveParameter(parameter: ParameterRecord): void
  deleteParameter(vhost: string, component: string, name: string): void

  /** Stores one message for the given durable queues (body once, one entry per queue). */
  addMessage(message: StoredMessage, queues: QueueRef[]): void
  /**
   * Removes a message from one queue (ack, expiry, drop); its body goes with its last queue entry. The caller removes
   * each entry it added exactly once (the core clears QueueEntry.stored when it does): this runs once per ack, so
   * stores need not look the entry up on disk to guard against a second removal.
   */
  removeMessage(queue: QueueRef, id: number): void
  /** Records that a message has been delivered at least once, so it is redelivered after a restart. */
  markDelivered(queue: QueueRef, id: number): void
  /** Removes every message of a queue. */
  purgeQueue(queue: QueueRef): void
  /** The messages of one queue in id order, read in pages of `limit` after `afterId`. */
  readMessages(queue: QueueRef, afterId: number, limit: number): RecoveredMessage[]
  /** How many messages a queue holds on disk (committed or queued for commit). */
  countMessages(queue: QueueRef): number
  /**
   * Count and highest id of a queue's messages with ids after `afterId` (committed or queued for commit), without
   * reading them: recovery reads only the first page of a queue and summarises the rest (broker/core/paging.ts).
   * Bodies are not summed: that would read the whole database.
   */
  queueSummary(queue: QueueRef, afterId: number): QueueSummary
  /**
   * Removes a queue's messages with afterId < id <= lastId in one call (purging a paged-out region); bodies go with
   * their last queue entry. Returns how many entries were removed.
   */
  removeMessageRange(queue: QueueRef, afterId: number, lastId: number): number
  /** True when the store keeps message bodies in memory anyway (the memory store): the core then does not page. */
  readonly holdsBodiesInMemory?: boolean

  /** Schedules a message (delayed-message exchanges). The id must be new. */
  addScheduled(message: ScheduledMessage): void
  /** Removes a scheduled message (delivered or cancelled); false when there is none with that id. */
  removeScheduled(id: number): boolean
  /** Moves a scheduled message to a new due time; false when there is none with that id. */
  rescheduleScheduled(id: number, dueAt: number): boolean
  /** One scheduled message (committed or queued for commit), or undefined. */
  getScheduled(id: number): ScheduledMessage | undefined
  /**
   * Scheduled messages in (dueAt, id) order, the first `limit` of them strictly after `after` (from the start when
   * omitted), optionally only those of one exchange or vhost.
   */
  readScheduled(after: ScheduledCursor | undefined, limit: number, scope?: ScheduledScope): ScheduledMessage[]
  /** How many messages one exchange (or, without exchange, one vhost) has scheduled. */
  countScheduled(vhost: string, exchange?: string): number
  /**
   * Optional fast paths for listings, read from an index without the messages: the due times of a scope in due
   * order, and the cursor just past the first `offset` messages (undefined when it cannot tell cheaply; callers
   * then walk readScheduled).
   */
  scheduledDueTimes?(scope: ScheduledScope): number[]
  scheduledCursorAt?(scope: ScheduledScope, offset: number): ScheduledCursor | undefined
  /** Drops every scheduled message of an exchange (or, without exchange, of a vhost); returns how many. */
  dropScheduled(vhost: string, exchange?: string): number
  /** Every (vhost, exchange) that has scheduled messages, with its count (recovery drops orphans with it). */
  scheduledExchanges(): Array<{ vhost: string; exchange: string; count: number }>

  /**
   * Set while commits fail (disk full, read-only database file or file system, I/O error); cleared by the first
   * commit that succeeds again. Failed writes stay queued and are retried with a growing delay (up to 2 s), so the
   * store recovers by itself once the disk takes writes again.
   */
  readonly writeError: StoreWriteError | undefined
  /** Called when writeError changes (a failing store, or a failing store that recovered); returns an unsubscribe. */
  onWriteStateChange(listener: (error: StoreWriteError | undefined) => void): () => void

  /** Calls cb once every write queued before this call is committed (or with the error if the commit failed). */
  whenCommitted(cb: (error?: Error) => void): void
  /** Commits what is queued now. */
  flush(): Promise<void>
  /** Flushes, records a clean shutdown and closes. */
  close(): Promise<void>
}
