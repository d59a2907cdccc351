import type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  PermissionRecord,
  ParameterRecord,
  PolicyRecord,
  QueueRecord,
  QueueRef,
  QueueSummary,
  RecoveredMessage,
  ScheduledCursor,
  ScheduledMessage,
  ScheduledScope,
  Store,
  StoredMessage,
  StoreWriteError,
  UserRecord,
  VhostRecord,
} from '../store'
import { MemoryScheduled } from './memory-scheduled'

/** Length-prefixed, so no two (vhost, name) pairs share a key whatever characters they hold. */
function queueKey(vhost: string, name: string): string {
  return `${vhost.length}:${vhost}${name}`
}

function bindingKey(b: BindingRecord): string {
  return JSON.stringify([b.vhost, b.source, b.destinationType, b.destination, b.routingKey, b.arguments.toString('base64')])
}

interface MessageSlot {
  message: StoredMessage
  refs: number
}

/**
 * One queue's messages: ids kept sorted in an array (appends are the common case), entries in a map.
 * Removed ids stay in the array as holes until they make up half of it, then it is compacted.
 */
class QueueMessages {
  ids: number[] = []
  /** id -> delivered */
  readonly entries = new Map<number, boolean>()

  add(id: number): void {
    const ids = this.ids
    if (ids.length === 0 || ids[ids.length - 1] < id) ids.push(id)
    else {
      const at = this.firstAfter(id - 1)
      if (ids[at] !== id) ids.splice(at, 0, id) // an equal id here is the hole of an earlier removal: reuse it
    }
    this.entries.set(id, false)
  }

  remove(id: number): boolean {
    if (!this.entries.delete(id)) return false
    if (this.entries.size === 0) this.ids = []
    else if (this.ids.length > 32 && this.entries.size * 2 < this.ids.length) {
      this.ids = this.ids.filter((x) => this.entries.has(x))
    }
    return true
  }

  /** Index of the first id greater than `afterId` (ids may contain holes, never duplicates of live ids). */
  firstAfter(afterId: number): number {
    let lo = 0
    let hi = this.ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.ids[mid] <= afterId) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

class MemoryStore implements Store {
  readonly previousShutdownWasClean = true
  readonly holdsBodiesInMemory = true
  private maxMessageId = 0
  private closed = false

  private readonly vhosts = new Map<string, VhostRecord>()
  private readonly users = new Map<string, UserRecord>()
  /** key: JSON [user, vhost] */
  private readonly permissions = new Map<string, PermissionRecord>()
  private readonly policyRecords = new Map<string, PolicyRecord>()
  private readonly parameterRecords = new Map<string, ParameterRecord>()
  private readonly exchanges = new Map<string, ExchangeRecord>()
  private readonly queueRecords = new Map<string, QueueRecord>()
  private readonly bindings = new Map<string, BindingRecord>()

  private readonly messages = new Map<number, MessageSlot>()
  private readonly queues = new Map<string, QueueMessages>()
  private readonly scheduled = new MemoryScheduled()

  get lastMessageId(): number {
    return this.maxMessageId
  }

  loadDefinitions(): Definitions {
    this.assertOpen()
    return {
      vhosts: [...this.vhosts.values()].map((v) => ({ ...v, tags: [...v.tags] })),
      users: [...this.users.values()].map((u) => ({ ...u, tags: [...u.tags] })),
      permissions: [...this.permissions.values()].map((p) => ({ ...p })),
      exchanges: [...this.exchanges.values()].map((e) => ({ ...e })),
      queues: [...this.queueRecords.values()].map((q) => ({ ...q })),
      bindings: [...this.bindings.values()].map((b) => ({ ...b })),
      policies: [...this.policyRecords.values()].map((p) => ({ ...p })),
    }
  }

  saveVhost(vhost: VhostRecord): void {
    this.assertOpen()
    this.vhosts.set(vhost.name, { ...vhost, tags: [...vhost.tags] })
  }

  deleteVhost(name: string): void {
    this.assertOpen()
    this.vhosts.delete(name)
    for (const [key, p] of this.permissions) if (p.vhost === name) this.permissions.delete(key)
    for (const [key, e] of this.exchanges) if (e.vhost === name) this.exchanges.delete(key)
    for (const [key, q] of this.queueRecords) if (q.vhost === name) this.queueRecords.delete(key)
    for (const [key, b] of this.bindings) if (b.vhost === name) this.bindings.delete(key)
    for (const [key, p] of this.policyRecords) if (p.vhost === name) this.policyRecords.delete(key)
    for (const [key, p] of this.parameterRecords) if (p.vhost === name) this.parameterRecords.delete(key)
    const prefix = queueKey(name, '')
    for (const key of [...this.queues.keys()]) if (key.startsWith(prefix)) this.purgeKey(key)
  }

  saveUser(user: UserRecord): void {
    this.assertOpen()
    this.users.set(user.name, { ...user, tags: [...user.tags] })
  }

  /** Also deletes the user's permissions. */
  deleteUser(name: string): void {
    this.assertOpen()
    this.users.delete(name)
    for (const [key, p] of this.permissions) if (p.user === name) this.permissions.delete(key)
  }

  savePermission(permission: PermissionRecord): void {
    this.assertOpen()
    this.permissions.set(JSON.stringify([permission.user, permission.vhost]), { ...permission })
  }

  deletePermission(user: string, vhost: string): void {
    this.assertOpen()
    this.permissions.delete(JSON.stringify([user, vhost]))
  }

  savePolicy(policy: PolicyRecord): void {
    this.assertOpen()
    this.policyRecords.set(JSON.stringify([policy.vhost, policy.name]), { ...policy })
  }

  deletePolicy(vhost: string, name: string): void {
    this.assertOpen()
    this.policyRecords.delete(JSON.stringify([vhost, name]))
  }

  loadParameters(): ParameterRecord[] {
    this.assertOpen()
    return [...this.parameterRecords.values()].map((p) => ({ ...p }))
  }

  saveParameter(parameter: ParameterRecord): void {
    this.assertOpen()
    this.parameterRecords.set(JSON.stringify([parameter.vhost, parameter.component, parameter.name]), { ...parameter })
  }

  deleteParameter(vhost: string, component: string, name: string): void {
    this.assertOpen()
    this.parameterRecords.delete(JSON.stringify([vhost, component, name]))
  }

  saveExchange(exchange: ExchangeRecord): void {
    this.assertOpen()
    this.exchanges.set(queueKey(exchange.vhost, exchange.name), { ...exchange })
  }

  deleteExchange(vhost: string, name: string): void {
    this.assertOpen()
    this.exchanges.delete(queueKey(vhost, name))
    for (const [key, b] of this.bindings) {
      if (b.vhost === vhost && (b.source === name || (b.destinationType === 'exchange' && b.destination === name))) {
        this.bindings.delete(key)
      }
    }
  }

  saveQueue(queue: QueueRecord): void {
    this.assertOpen()
    this.queueRecords.set(queueKey(queue.vhost, queue.name), { ...queue })
  }

  deleteQueue(vhost: string, name: string): void {
    this.assertOpen()
    this.queueRecords.delete(queueKey(vhost, name))
    for (const [key, b] of this.bindings) {
      if (b.vhost === vhost && b.destinationType === 'queue' && b.destination === name) this.bindings.delete(key)
    }
    this.purgeKey(queueKey(vhost, name))
  }

  saveBinding(binding: BindingRecord): void {
    this.assertOpen()
    this.bindings.set(bindingKey(binding), { ...binding })
  }

  deleteBinding(binding: BindingRecord): void {
    this.assertOpen()
    this.bindings.delete(bindingKey(binding))
  }

  addMessage(message: StoredMessage, queues: QueueRef[]): void {
    this.assertOpen()
    const id = message.id
    if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`message id must be a positive integer, got ${id}`)
    if (this.messages.has(id)) throw new Error(`message ${id} is already stored`)
    if (id > this.maxMessageId) this.maxMessageId = id
    const slot: MessageSlot = { message, refs: 0 }
    for (const ref of queues) {
      const key = queueKey(ref.vhost, ref.name)
      let q = this.queues.get(key)
      if (!q) this.queues.set(key, (q = new QueueMessages()))
      if (q.entries.has(id)) continue
      q.add(id)
      slot.refs++
    }
    if (slot.refs > 0) this.messages.set(id, slot)
  }

  removeMessage(queue: QueueRef, id: number): void {
    this.assertOpen()
    const key = queueKey(queue.vhost, queue.name)
    const q = this.queues.get(key)
    if (!q || !q.remove(id)) return
    if (q.entries.size === 0) this.queues.delete(key)
    this.release(id)
  }

  markDelivered(queue: QueueRef, id: number): void {
    this.assertOpen()
    const q = this.queues.get(queueKey(queue.vhost, queue.name))
    if (q?.entries.has(id)) q.entries.set(id, true)
  }

  purgeQueue(queue: QueueRef): void {
    this.assertOpen()
    this.purgeKey(queueKey(queue.vhost, queue.name))
  }

  readMessages(queue: QueueRef, afterId: number, limit: number): RecoveredMessage[] {
    this.assertOpen()
    const q = this.queues.get(queueKey(queue.vhost, queue.name))
    const result: RecoveredMessage[] = []
    if (!q || limit <= 0) return result
    for (let i = q.firstAfter(afterId); i < q.ids.length && result.length < limit; i++) {
      const id = q.ids[i]
      const delivered = q.entries.get(id)
      if (delivered === undefined) continue
      result.push({ ...this.messages.get(id)!.message, redelivered: delivered })
    }
    return result
  }

  countMessages(queue: QueueRef): number {
    this.assertOpen()
    return this.queues.get(queueKey(queue.vhost, queue.name))?.entries.size ?? 0
  }

  queueSummary(queue: QueueRef, afterId: number): QueueSummary {
    this.assertOpen()
    const summary: QueueSummary = { count: 0, lastId: 0 }
    const q = this.queues.get(queueKey(queue.vhost, queue.name))
    if (!q) return summary
    for (let i = q.firstAfter(afterId); i < q.ids.length; i++) {
      const id = q.ids[i]
      if (!q.entries.has(id)) continue
      summary.count++
      summary.lastId = id
    }
    return summary
  }

  removeMessageRange(queue: QueueRef, afterId: number, lastId: number): number {
    this.assertOpen()
    const key = queueKey(queue.vhost, queue.name)
    const q = this.queues.get(key)
    if (!q) return 0
    const doomed: number[] = []
    for (let i = q.firstAfter(afterId); i < q.ids.length && q.ids[i] <= lastId; i++) if (q.entries.has(q.ids[i])) doomed.push(q.ids[i])
    for (const id of doomed) {
      q.remove(id)
      this.release(id)
    }
    if (q.entries.size === 0) this.queues.delete(key)
    return doomed.length
  }

  addScheduled(message: ScheduledMessage): void {
    this.assertOpen()
    this.scheduled.add(message)
    if (message.id > this.maxMessageId) this.maxMessageId = message.id
  }

  removeScheduled(id: number): boolean {
    this.assertOpen()
    return this.scheduled.remove(id)
  }

  rescheduleScheduled(id: number, dueAt: number): boolean {
    this.assertOpen()
    return this.scheduled.reschedule(id, dueAt)
  }

  getScheduled(id: number): ScheduledMessage | undefined {
    this.assertOpen()
    return this.scheduled.get(id)
  }

  readScheduled(after: ScheduledCursor | undefined, limit: number, scope?: ScheduledScope): ScheduledMessage[] {
    this.assertOpen()
    return this.scheduled.read(after, limit, scope)
  }

  countScheduled(vhost: string, exchange?: string): number {
    this.assertOpen()
    return this.scheduled.count(vhost, exchange)
  }

  dropScheduled(vhost: string, exchange?: string): number {
    this.assertOpen()
    return this.scheduled.drop(vhost, exchange)
  }

  scheduledExchanges(): Array<{ vhost: string; exchange: string; count: number }> {
    this.assertOpen()
    return this.scheduled.exchanges()
  }

  /** Memory never refuses a write. */
  readonly writeError: StoreWriteError | undefined = undefined

  onWriteStateChange(): () => void {
    return () => {}
  }

  whenCommitted(cb: (error?: Error) => void): void {
    this.assertOpen()
    // Nothing to wait for, but never call back inside the caller's stack; microtasks keep the order.
    queueMicrotask(() => cb())
  }

  flush(): Promise<void> {
    this.assertOpen()
    return new Promise((resolve) => queueMicrotask(resolve))
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.flush()
    this.closed = true
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the store is closed')
  }

  private release(id: number): void {
    const slot = this.messages.get(id)
    if (slot && --slot.refs === 0) this.messages.delete(id)
  }

  private purgeKey(key: string): void {
    const q = this.queues.get(key)
    if (!q) return
    this.queues.delete(key)
    for (const id of q.entries.keys()) this.release(id)
  }
}

/** A store that keeps everything in memory: for a broker without a data directory, and for tests. */
export function createMemoryStore(): Store {
  return new MemoryStore()
}
