import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { PermissionRecord, ScheduledMessage, Store, UserRecord, VhostRecord } from '../store/store'
import { DELAYED_EXCHANGE_TYPE, DelayedScheduler, type DelayedSchedulerOptions, type DueOutcome } from './delayed'
import { notFound } from './errors'
import { MemoryAccount } from './memory'
import { messageFromStore, pagingLimits, type PagingLimits, type PagingOptions } from './paging'
import type { Policy, PolicyApplyTo, PolicyDefinition } from './policy'
import { compilePermission, hashPassword, passwordMatches, SHA256_ALGORITHM, type Permission } from './users'
import { Vhost } from './vhost'
import { ShovelRegistry } from './shovel/registry'

export interface BrokerCoreOptions {
  store: Store
  /** bytes of message bodies held before publishers are blocked */
  memoryHighWatermark: number
  /** the delayed-message scheduler's window and clock (tests, the scale check) */
  delayed?: DelayedSchedulerOptions
  /** each queue's in-memory window of ready messages; beyond it stored messages are paged out (broker/core/paging.ts) */
  paging?: PagingOptions
}

/** Compares a presented password with a secret in constant time. */
function sameSecret(presented: string, secret: string): boolean {
  const a = Buffer.from(presented)
  const b = Buffer.from(secret)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Priority queues (not paged) are recovered whole, in pages so a long queue does not need one huge read. */
const RECOVERY_PAGE = 10_000

/**
 * The broker's state: vhosts, users and permissions, over one store. Created by startBroker; every protocol
 * front end (AMQP, HTTP API) goes through it.
 */
export class BrokerCore {
  readonly vhosts = new Map<string, Vhost>()
  readonly users = new Map<string, UserRecord>()
  /** user → vhost → permission */
  private readonly permissions = new Map<string, Map<string, Permission>>()
  readonly memory: MemoryAccount
  readonly store: Store
  private lastMessageId: number
  /** each queue's in-memory window (broker/core/paging.ts) */
  readonly paging: PagingLimits
  /** the messages of x-delayed-message exchanges, until they fall due */
  readonly delayed: DelayedScheduler
  /**
   * The login of the broker's own AMQP clients (the shovels' amqp:// connections to this broker): a random password
   * per start, never stored or listed; the user may use every vhost.
   */
  readonly internalLogin = { user: 'rmq-shovel', password: randomBytes(24).toString('base64url') }
  private readonly internalPermission = compilePermission({ user: 'rmq-shovel', vhost: '', configure: '.*', write: '.*', read: '.*' })
  /** dynamic shovels (runtime parameters of component 'shovel'); started by startBroker once it listens */
  readonly shovels: ShovelRegistry

  constructor(options: BrokerCoreOptions) {
    this.store = options.store
    this.memory = new MemoryAccount(options.memoryHighWatermark)
    this.lastMessageId = this.store.lastMessageId
    this.paging = pagingLimits(options.paging, this.store)
    this.delayed = new DelayedScheduler(this.store, (message) => this.deliverScheduled(message), options.delayed)
    this.recover()
    this.dropOrphanedScheduled()
    this.delayed.start()
    this.shovels = new ShovelRegistry({
      store: this.store,
      hasVhost: (name) => this.vhosts.has(name),
      mayConnect: (user, vhost) => this.permission(user, vhost) !== undefined,
      internalLogin: this.internalLogin,
    })
  }

  nextMessageId(): number {
    return ++this.lastMessageId
  }

  private newVhost(name: string): Vhost {
    const vhost = new Vhost(name, { store: this.store, memory: this.memory, nextMessageId: () => this.nextMessageId(), delayed: this.delayed, paging: this.paging })
    this.vhosts.set(name, vhost)
    return vhost
  }

  /** Loads durable definitions and messages; on first start creates vhost '/' and user guest (RabbitMQ's defaults). */
  private recover(): void {
    const definitions = this.store.loadDefinitions()
    if (definitions.vhosts.length === 0 && definitions.users.length === 0) {
      this.addVhost({ name: '/', description: 'Default virtual host', tags: [] })
      this.putUser('guest', 'guest', ['administrator'])
      this.setPermission({ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' })
      return
    }
    for (const record of definitions.vhosts) this.newVhost(record.name)
    for (const user of definitions.users) this.users.set(user.name, user)
    for (const permission of definitions.permissions) this.cachePermission(permission)
    for (const record of definitions.policies ?? []) {
      const definition = JSON.parse(record.definition) as PolicyDefinition
      this.vhosts.get(record.vhost)?.policies.set(record.name, { vhost: record.vhost, name: record.name, pattern: record.pattern, applyTo: record.applyTo as PolicyApplyTo, priority: record.priority, definition })
    }
    for (const record of definitions.exchanges) this.vhosts.get(record.vhost)?.restoreExchange(record)
    for (const record of definitions.queues) {
      const vhost = this.vhosts.get(record.vhost)
      if (!vhost) continue
      const queue = vhost.restoreQueue(record)
      // A paged queue reads its first window (in chunks sized by the window's count and bytes); the rest stays in the
      // store, known by a summary (count, last id), so start-up time does not grow with queue length. Priority queues
      // are read whole.
      const paging = queue.paging
      for (let afterId = 0; ; ) {
        const limit = paging ? Math.min(paging.recoveryChunk(), RECOVERY_PAGE) : RECOVERY_PAGE
        if (limit === 0) {
          queue.recoverPaged(this.store.queueSummary(queue.ref, afterId), afterId)
          break
        }
        const page = this.store.readMessages(queue.ref, afterId, limit)
        for (const stored of page) {
          queue.enqueue({ message: messageFromStore(stored), redelivered: stored.redelivered, stored: true, enqueuedAt: stored.enqueuedAt }, true)
        }
        if (page.length < limit) break
        afterId = page[page.length - 1].id
      }
    }
    for (const record of definitions.bindings) this.vhosts.get(record.vhost)?.restoreBinding(record)
    // with bindings in place: length limits and TTLs apply to the recovered messages, expiry timers start
    for (const vhost of this.vhosts.values()) vhost.applyPolicies()
  }

  /** At shutdown: message-TTL and x-expires timers stop, so nothing expires into a closed store. */
  stopLifecycleTimers(): void {
    for (const vhost of this.vhosts.values()) for (const queue of vhost.queues.values()) queue.stopTimers()
  }

  /**
   * Before a clean shutdown: messages that were delivered and came back are recorded as delivered, so they are
   * redelivered with the flag set after the restart (a crash marks every recovered message redelivered instead).
   */
  persistDeliveryState(): void {
    for (const vhost of this.vhosts.values()) {
      for (const queue of vhost.queues.values()) {
        for (const entry of queue.readyEntries()) if (entry.stored && entry.redelivered) this.store.markDelivered(queue.ref, entry.message.id)
      }
    }
  }

  // --- delayed messages ---------------------------------------------------------------------------------------

  /**
   * A scheduled message fell due: route it, unless its exchange is gone (the plugin drops it then). The outcome tells
   * the scheduler whether it reached a queue; one that did not is recorded (DelayedScheduler.unrouted).
   */
  private deliverScheduled(message: ScheduledMessage): DueOutcome {
    const vhost = this.vhosts.get(message.vhost)
    const exchange = vhost?.exchanges.get(message.exchange)
    if (!vhost || !exchange || exchange.type !== DELAYED_EXCHANGE_TYPE) return { routed: false, reason: 'exchange-gone' }
    const result = vhost.deliverScheduled(exchange, message)
    // held again by another delayed exchange (stored without a queue) counts as routed
    return { routed: result.routed || result.stored }
  }

  /** Scheduled messages of exchanges that did not survive the restart (transient ones) go with them. */
  private dropOrphanedScheduled(): void {
    for (const { vhost, exchange } of this.store.scheduledExchanges()) {
      if (this.vhosts.get(vhost)?.exchanges.get(exchange)?.type !== DELAYED_EXCHANGE_TYPE) this.store.dropScheduled(vhost, exchange)
    }
  }

  // --- vhosts -------------------------------------------------------------------------------------------------

  addVhost(record: VhostRecord): Vhost {
    const existing = this.vhosts.get(record.name)
    this.store.saveVhost(record)
    return existing ?? this.newVhost(record.name)
  }

  deleteVhost(name: string): boolean {
    const vhost = this.vhosts.get(name)
    if (!vhost) return false
    for (const queue of vhost.queues.values()) queue.destroy()
    this.vhosts.delete(name)
    this.delayed.drop(name)
    this.store.deleteVhost(name)
    for (const byVhost of this.permissions.values()) byVhost.delete(name)
    this.shovels.vhostDeleted(name)
    return true
  }

  // --- policies -----------------------------------------------------------------------------------------------

  /** Adds or replaces a policy in a vhost (throws 404 for a missing vhost, 406 for an invalid policy). */
  setPolicy(vhost: string, policy: Omit<Policy, 'vhost'>): Policy {
    return this.vhostOrThrow(vhost).setPolicy(policy)
  }

  /** Removes a policy; false when the vhost has none with that name. */
  deletePolicy(vhost: string, name: string): boolean {
    return this.vhosts.get(vhost)?.deletePolicy(name) ?? false
  }

  /** The policies of one vhost, or of all vhosts. */
  listPolicies(vhost?: string): Policy[] {
    if (vhost !== undefined) return this.vhosts.get(vhost)?.listPolicies() ?? []
    return [...this.vhosts.values()].flatMap((v) => v.listPolicies())
  }

  private vhostOrThrow(name: string): Vhost {
    const vhost = this.vhosts.get(name)
    if (!vhost) throw notFound(`no vhost '${name}'`)
    return vhost
  }

  // --- users and permissions ----------------------------------------------------------------------------------

  putUser(name: string, password: string | undefined, tags: string[]): UserRecord {
    const user: UserRecord = { name, passwordHash: password === undefined ? '' : hashPassword(password), hashingAlgorithm: SHA256_ALGORITHM, tags }
    this.users.set(name, user)
    this.store.saveUser(user)
    return user
  }

  /** Stores a user whose password is already hashed (definitions import, PUT /api/users with password_hash). */
  putUserRecord(user: UserRecord): UserRecord {
    this.users.set(user.name, user)
    this.store.saveUser(user)
    return user
  }

  deleteUser(name: string): boolean {
    if (!this.users.delete(name)) return false
    this.permissions.delete(name)
    this.store.deleteUser(name)
    return true
  }

  /** The user when the password is right; undefined otherwise. */
  authenticate(name: string, password: string): UserRecord | undefined {
    if (name === this.internalLogin.user && !this.users.has(name) && sameSecret(password, this.internalLogin.password)) {
      return { name, passwordHash: '', hashingAlgorithm: SHA256_ALGORITHM, tags: [] }
    }
    const user = this.users.get(name)
    return user && passwordMatches(user, password) ? user : undefined
  }

  setPermission(record: PermissionRecord): void {
    this.cachePermission(record)
    this.store.savePermission(record)
  }

  clearPermission(user: string, vhost: string): void {
    this.permissions.get(user)?.delete(vhost)
    this.store.deletePermission(user, vhost)
  }

  permission(user: string, vhost: string): Permission | undefined {
    if (user === this.internalLogin.user && !this.users.has(user)) return this.vhosts.has(vhost) ? this.internalPermission : undefined
    return this.permissions.get(user)?.get(vhost)
  }

  private cachePermission(record: PermissionRecord): void {
    let byVhost = this.permissions.get(record.user)
    if (!byVhost) this.permissions.set(record.user, (byVhost = new Map()))
    byVhost.set(record.vhost, compilePermission(record))
  }
}
