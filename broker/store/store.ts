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
}

export interface RecoveredMessage extends StoredMessage {
  /** set when the message had been delivered before, or when the broker did not shut down cleanly */
  redelivered: boolean
}

export interface Definitions {
  vhosts: VhostRecord[]
  users: UserRecord[]
  permissions: PermissionRecord[]
  exchanges: ExchangeRecord[]
  queues: QueueRecord[]
  bindings: BindingRecord[]
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

  /** Stores one message for the given durable queues (body once, one entry per queue). */
  addMessage(message: StoredMessage, queues: QueueRef[]): void
  /** Removes a message from one queue (ack, expiry, drop); its body goes with its last queue entry. */
  removeMessage(queue: QueueRef, id: number): void
  /** Records that a message has been delivered at least once, so it is redelivered after a restart. */
  markDelivered(queue: QueueRef, id: number): void
  /** Removes every message of a queue. */
  purgeQueue(queue: QueueRef): void
  /** The messages of one queue in id order, read in pages of `limit` after `afterId`. */
  readMessages(queue: QueueRef, afterId: number, limit: number): RecoveredMessage[]
  /** How many messages a queue holds on disk (committed or queued for commit). */
  countMessages(queue: QueueRef): number

  /** Calls cb once every write queued before this call is committed (or with the error if the commit failed). */
  whenCommitted(cb: (error?: Error) => void): void
  /** Commits what is queued now. */
  flush(): Promise<void>
  /** Flushes, records a clean shutdown and closes. */
  close(): Promise<void>
}
