import { randomBytes } from 'node:crypto'
import { decodeFieldTable, encodeFieldTable, plainFieldValue, type BasicProperties, type FieldTable } from '../protocol'
import type { BindingRecord, Store } from '../store/store'
import { argumentsDifference, canonicalTableKey, typeName } from './arguments'
import { destinationName, type Binding, type BindingDestination } from './binding'
import { accessRefused, commandInvalid, describeResource, notFound, preconditionFailed, resourceLocked } from './errors'
import { Exchange, type ExchangeDefinition } from './exchange'
import { deadLetterMessage, encodeProperties, headerRoutes, isDeadLetterCycle, queueSettings, validateLifecycleArguments, type DeathReason } from './lifecycle'
import { matchPolicy, validatePolicy, type Policy } from './policy'
import { createRoutingTable, headersMatchMode } from './exchanges'
import { DELAYED_EXCHANGE_TYPE, delayOf, dueProperties, isKnownExchangeType, routingTableFor, routingTypeOf, ScheduledExchange, validateDelayedArguments, type DelayedScheduler } from './delayed'
import type { ScheduledMessage } from '../store/store'
import type { MemoryAccount } from './memory'
import type { PagingLimits } from './paging'
import { isPersistent, type Message, type QueueEntry } from './message'
import { Queue, type QueueDefinition, type QueueOwner } from './queue'
import { MessageStats } from './stats'
import type { Access, Permission } from './users'

/** Who performs an operation: the user's permissions in this vhost, and the connection (owner of exclusive queues). */
export interface Actor {
  readonly user: string
  readonly permission: Permission | undefined
  readonly owner?: QueueOwner
}

export interface VhostContext {
  readonly store: Store
  readonly memory: MemoryAccount
  nextMessageId(): number
  /** holds the messages of x-delayed-message exchanges until due (absent: they are routed at once) */
  readonly delayed?: DelayedScheduler
  /** each queue's in-memory window of ready messages (broker/core/paging.ts); absent: no paging */
  readonly paging?: PagingLimits
}

export interface PublishResult {
  /** the message reached at least one queue */
  routed: boolean
  /** queues it reached (for confirms and tests) */
  queues: Queue[]
  /** whether any copy was written to the store (the confirm waits for the commit) */
  stored: boolean
  /** a queue refused it (x-overflow reject-publish / reject-publish-dlx): the publisher gets basic.nack */
  rejected?: boolean
}

export interface IncomingMessage {
  exchange: string
  routingKey: string
  properties: BasicProperties
  encodedProperties: Buffer
  body: Buffer
}

const DEFAULT_EXCHANGE_PERMISSION_NAME = 'amq.default'

/** The exchanges RabbitMQ declares in every vhost. */
const PREDECLARED_EXCHANGES: [string, string][] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
  ['amq.rabbitmq.trace', 'topic'],
]

const isReserved = (name: string) => name.startsWith('amq.')

/**
 * A virtual host: its exchanges, queues and bindings, and every operation that changes them. AMQP channels and the
 * HTTP API both call these methods, so validation and permission checks live here once.
 */
export class Vhost {
  readonly exchanges = new Map<string, Exchange>()
  readonly queues = new Map<string, Queue>()
  /** management API counters: publishes into this vhost, and the default exchange's publish_in/out */
  readonly stats = new MessageStats()
  readonly defaultExchangeStats = new MessageStats()
  /** the counters of deleted queues, so the vhost's totals never go backwards */
  readonly retiredQueueStats = new MessageStats()
  /** policies by name (RabbitMQ's per-vhost policies) */
  readonly policies = new Map<string, Policy>()

  constructor(
    readonly name: string,
    private readonly context: VhostContext,
  ) {
    for (const [exchangeName, type] of PREDECLARED_EXCHANGES) {
      this.createExchange({ name: exchangeName, type, durable: true, autoDelete: false, internal: exchangeName === 'amq.rabbitmq.trace', arguments: {} }, false)
    }
  }

  private get store(): Store {
    return this.context.store
  }

  // --- permissions --------------------------------------------------------------------------------------------

  /** Checks the actor's configure/write/read permission on a resource (RabbitMQ's access control, per operation). */
  authorize(actor: Actor, access: Access, kind: 'queue' | 'exchange', name: string): void {
    const resourceName = kind === 'exchange' && name === '' ? DEFAULT_EXCHANGE_PERMISSION_NAME : name
    if (actor.permission?.[access].test(resourceName)) return
    throw accessRefused(`access to ${describeResource(kind, this.name, resourceName)} refused for user '${actor.user}'`)
  }

  // --- exchanges ----------------------------------------------------------------------------------------------

  getExchange(name: string): Exchange {
    const exchange = this.exchanges.get(name)
    if (!exchange) throw notFound(`no ${describeResource('exchange', this.name, name)}`)
    return exchange
  }

  declareExchange(actor: Actor, definition: ExchangeDefinition, passive = false): Exchange {
    const { name } = definition
    if (passive) {
      // RabbitMQ answers a passive declare of the default exchange with declare-ok
      if (name === '') return this.defaultExchangeStandIn()
      return this.getExchange(name)
    }
    if (!isKnownExchangeType(definition.type)) throw commandInvalid(`unknown exchange type '${definition.type}'`)
    if (name === '') throw accessRefused('operation not permitted on the default exchange')
    // RabbitMQ's order (rabbit_channel exchange.declare): configure on the exchange, then, for a new one, its name
    this.authorize(actor, 'configure', 'exchange', name)
    const existing = this.exchanges.get(name)
    if (existing) {
      this.assertEquivalentExchange(existing, definition)
      return existing
    }
    if (isReserved(name)) throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`)
    this.validateExchangeArguments(definition.arguments, name)
    const alternate = definition.arguments['alternate-exchange']
    if (typeof alternate === 'string') {
      // naming an alternate exchange sends messages there: read on this exchange, write on that one (RabbitMQ)
      this.authorize(actor, 'read', 'exchange', name)
      this.authorize(actor, 'write', 'exchange', alternate)
    }
    if (definition.type === DELAYED_EXCHANGE_TYPE) validateDelayedArguments(definition.arguments)
    return this.createExchange(definition, true)
  }

  private defaultExchangeStandIn(): Exchange {
    return new Exchange({ name: '', type: 'direct', durable: true, autoDelete: false, internal: false, arguments: {} }, this.name, createRoutingTable('direct')!)
  }

  private assertEquivalentExchange(existing: Exchange, wanted: ExchangeDefinition): void {
    this.assertEquivalent('exchange', existing, wanted, [
      ['type', wanted.type, existing.type],
      ['durable', wanted.durable, existing.durable],
      ['auto_delete', wanted.autoDelete, existing.autoDelete],
      ['internal', wanted.internal, existing.internal],
    ])
  }

  /** A redeclaration must match the declared properties and arguments (RabbitMQ's assert_equivalence). */
  private assertEquivalent(kind: 'queue' | 'exchange', existing: { name: string; arguments: FieldTable }, wanted: { arguments: FieldTable }, fields: [string, unknown, unknown][]): void {
    for (const [field, received, current] of fields) {
      if (received !== current) {
        throw preconditionFailed(`inequivalent arg '${field}' for ${describeResource(kind, this.name, existing.name)}: received '${received}' but current is '${current}'`)
      }
    }
    const difference = argumentsDifference(kind, existing.name, this.name, wanted.arguments, existing.arguments)
    if (difference) throw preconditionFailed(difference)
  }

  private validateExchangeArguments(args: FieldTable, name: string): void {
    const alternate = args['alternate-exchange']
    if (alternate !== undefined && typeName(alternate) !== 'longstr') {
      throw preconditionFailed(`invalid type '${typeName(alternate)}' for arg 'alternate-exchange' in ${describeResource('exchange', this.name, name)}`)
    }
  }

  private createExchange(definition: ExchangeDefinition, persist: boolean): Exchange {
    const exchange = new Exchange(definition, this.name, routingTableFor(definition.type, definition.arguments)!)
    this.exchanges.set(exchange.name, exchange)
    if (persist && exchange.durable) {
      this.store.saveExchange({
        vhost: this.name,
        name: exchange.name,
        type: exchange.type,
        autoDelete: exchange.autoDelete,
        internal: exchange.internal,
        arguments: encodeFieldTable(exchange.arguments),
      })
    }
    return exchange
  }

  deleteExchange(actor: Actor, name: string, ifUnused = false): void {
    if (name === '' || isReserved(name)) throw accessRefused(`operation not permitted on ${name === '' ? 'the default exchange' : describeResource('exchange', this.name, name)}`)
    // permission first, so that a user without it cannot learn whether the exchange exists (RabbitMQ)
    this.authorize(actor, 'configure', 'exchange', name)
    const exchange = this.exchanges.get(name)
    // AMQP 0-9-1 (RabbitMQ 3.x): deleting an exchange that does not exist succeeds
    if (!exchange) return
    if (ifUnused && exchange.bindings.size > 0) throw preconditionFailed(`${describeResource('exchange', this.name, name)} in use`)
    this.removeExchange(exchange)
  }

  private removeExchange(exchange: Exchange): void {
    this.exchanges.delete(exchange.name)
    if (exchange.type === DELAYED_EXCHANGE_TYPE) this.context.delayed?.drop(this.name, exchange.name)
    for (const binding of [...exchange.bindings.values(), ...exchange.incoming]) this.removeBinding(binding)
    if (exchange.durable) this.store.deleteExchange(this.name, exchange.name)
  }

  // --- queues -------------------------------------------------------------------------------------------------

  getQueue(name: string, actor?: Actor): Queue {
    const queue = this.queues.get(name)
    if (!queue) throw notFound(`no ${describeResource('queue', this.name, name)}`)
    if (actor) this.assertQueueAccess(queue, actor)
    return queue
  }

  /** An exclusive queue is usable only from the connection that declared it (AMQP 0-9-1 queue.declare exclusive). */
  private assertQueueAccess(queue: Queue, actor: Actor): void {
    if (queue.exclusive && queue.owner !== actor.owner) {
      throw resourceLocked(
        `cannot obtain exclusive access to locked ${describeResource('queue', this.name, queue.name)}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      )
    }
  }

  declareQueue(actor: Actor, definition: QueueDefinition, passive = false): Queue {
    if (passive) {
      const queue = this.getQueue(definition.name, actor)
      queue.touch()
      return queue
    }
    const name = definition.name === '' ? `amq.gen-${randomBytes(16).toString('base64url')}` : definition.name
    if (isReserved(name) && definition.name !== '') throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`)
    this.authorize(actor, 'configure', 'queue', name)
    const existing = this.queues.get(name)
    if (existing) {
      this.assertQueueAccess(existing, actor)
      this.assertEquivalentQueue(existing, definition)
      existing.touch()
      return existing
    }
    const deadLetterExchange = definition.arguments['x-dead-letter-exchange']
    if (typeof deadLetterExchange === 'string') {
      // dead-lettering publishes this queue's messages to that exchange: read here, write there (RabbitMQ)
      this.authorize(actor, 'read', 'queue', name)
      this.authorize(actor, 'write', 'exchange', deadLetterExchange)
    }
    validateLifecycleArguments(this.name, name, definition.arguments)
    return this.createQueue({ ...definition, name }, definition.exclusive ? actor.owner : undefined, true)
  }

  private assertEquivalentQueue(existing: Queue, wanted: QueueDefinition): void {
    this.assertEquivalent('queue', existing, wanted, [
      ['durable', wanted.durable, existing.durable],
      ['exclusive', wanted.exclusive, existing.exclusive],
      ['auto_delete', wanted.autoDelete, existing.autoDelete],
    ])
  }

  private createQueue(definition: QueueDefinition, owner: QueueOwner | undefined, persist: boolean): Queue {
    const queue = new Queue(definition, this.name, owner, this.store, this.context.memory, this.context.paging)
    queue.onUnused = (unused) => this.removeQueue(unused)
    queue.onDeadLetter = (from, entry, reason) => this.deadLetter(from, entry.message, reason)
    queue.applySettings(queueSettings(queue.arguments, matchPolicy(this.policies.values(), 'queue', queue.name)?.definition))
    // x-expires counts from the declaration (or, for a recovered queue, from the restart)
    queue.touch()
    this.queues.set(queue.name, queue)
    // exclusive queues die with their connection, so they are never written to disk (as RabbitMQ)
    if (persist && queue.durable && !queue.exclusive) {
      this.store.saveQueue({ vhost: this.name, name: queue.name, autoDelete: queue.autoDelete, arguments: encodeFieldTable(queue.arguments) })
    }
    return queue
  }

  /** Deletes a queue; returns how many ready messages went with it. Missing queues are not an error (RabbitMQ 3.x). */
  deleteQueue(actor: Actor, name: string, options: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number {
    this.authorize(actor, 'configure', 'queue', name)
    const queue = this.queues.get(name)
    if (!queue) return 0
    this.assertQueueAccess(queue, actor)
    if (options.ifUnused && queue.consumerCount > 0) throw preconditionFailed(`${describeResource('queue', this.name, name)} in use`)
    if (options.ifEmpty && queue.messageCount > 0) throw preconditionFailed(`${describeResource('queue', this.name, name)} not empty`)
    return this.removeQueue(queue)
  }

  private removeQueue(queue: Queue): number {
    if (queue.deleted) return 0
    for (const binding of [...queue.bindings]) this.removeBinding(binding)
    this.queues.delete(queue.name)
    this.retiredQueueStats.addFrom(queue.stats)
    if (queue.durable && !queue.exclusive) this.store.deleteQueue(this.name, queue.name)
    return queue.destroy()
  }

  purgeQueue(actor: Actor, name: string): number {
    this.authorize(actor, 'read', 'queue', name)
    return this.getQueue(name, actor).purge()
  }

  /** Deletes the exclusive queues of a connection that closed. */
  releaseOwner(owner: QueueOwner): void {
    for (const queue of [...this.queues.values()]) if (queue.owner === owner) this.removeQueue(queue)
  }

  // --- bindings -----------------------------------------------------------------------------------------------

  bindQueue(actor: Actor, queueName: string, exchangeName: string, routingKey: string, args: FieldTable): void {
    const { source, destination } = this.bindingEnds(actor, exchangeName, { kind: 'queue', name: queueName })
    if (routingTypeOf(source) === 'headers') headersMatchMode(args)
    this.addBinding(source, destination, routingKey, args)
  }

  unbindQueue(actor: Actor, queueName: string, exchangeName: string, routingKey: string, args: FieldTable): void {
    this.authorizeBinding(actor, exchangeName, { kind: 'queue', name: queueName })
    // unbinding from a queue or exchange that does not exist succeeds (RabbitMQ 3.x)
    if (!this.queues.has(queueName) || !this.exchanges.has(exchangeName)) return
    const { source, destination } = this.bindingEnds(actor, exchangeName, { kind: 'queue', name: queueName })
    this.unbind(source, destination, routingKey, args)
  }

  bindExchange(actor: Actor, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    const { source, destination } = this.bindingEnds(actor, sourceName, { kind: 'exchange', name: destinationName })
    if (routingTypeOf(source) === 'headers') headersMatchMode(args)
    this.addBinding(source, destination, routingKey, args)
  }

  unbindExchange(actor: Actor, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    this.authorizeBinding(actor, sourceName, { kind: 'exchange', name: destinationName })
    if (!this.exchanges.has(destinationName) || !this.exchanges.has(sourceName)) return
    const { source, destination } = this.bindingEnds(actor, sourceName, { kind: 'exchange', name: destinationName })
    this.unbind(source, destination, routingKey, args)
  }

  /**
   * A binding's checks in RabbitMQ's order (rabbit_channel:binding_action): write on the destination, neither end the
   * default exchange, read on the source — all before looking either end up.
   */
  private authorizeBinding(actor: Actor, sourceName: string, destination: { kind: 'queue' | 'exchange'; name: string }): void {
    this.authorize(actor, 'write', destination.kind, destination.name)
    if (sourceName === '' || (destination.kind === 'exchange' && destination.name === '')) {
      throw accessRefused('operation not permitted on the default exchange')
    }
    this.authorize(actor, 'read', 'exchange', sourceName)
  }

  /** Authorises, then resolves both ends of a binding. */
  private bindingEnds(actor: Actor, sourceName: string, destination: { kind: 'queue' | 'exchange'; name: string }): { source: Exchange; destination: BindingDestination } {
    this.authorizeBinding(actor, sourceName, destination)
    let resolved: BindingDestination
    if (destination.kind === 'queue') resolved = { kind: 'queue', queue: this.getQueue(destination.name, actor) }
    else resolved = { kind: 'exchange', exchange: this.getExchange(destination.name) }
    const source = this.getExchange(sourceName)
    return { source, destination: resolved }
  }

  private bindingKey(destination: BindingDestination, routingKey: string, args: FieldTable): string {
    return `${destination.kind}\u0000${destinationName(destination)}\u0000${routingKey}\u0000${canonicalTableKey(args)}`
  }

  private addBinding(source: Exchange, destination: BindingDestination, routingKey: string, args: FieldTable, persist = true): void {
    const binding: Binding = { source, destination, routingKey, arguments: args, key: this.bindingKey(destination, routingKey, args) }
    if (!source.addBinding(binding)) return
    if (destination.kind === 'queue') destination.queue.bindings.add(binding)
    else destination.exchange.incoming.add(binding)
    if (persist && this.isDurableBinding(binding)) this.store.saveBinding(this.bindingRecord(binding))
  }

  private unbind(source: Exchange, destination: BindingDestination, routingKey: string, args: FieldTable): void {
    const binding = source.bindings.get(this.bindingKey(destination, routingKey, args))
    // unbinding a binding that does not exist is not an error (RabbitMQ 3.x)
    if (binding) this.removeBinding(binding)
  }

  private removeBinding(binding: Binding): void {
    const { source, destination } = binding
    source.removeBinding(binding)
    if (destination.kind === 'queue') destination.queue.bindings.delete(binding)
    else destination.exchange.incoming.delete(binding)
    if (this.isDurableBinding(binding)) this.store.deleteBinding(this.bindingRecord(binding))
    // an auto-delete exchange goes when its last binding is removed, however it goes (RabbitMQ)
    if (source.autoDelete && source.bindings.size === 0 && this.exchanges.get(source.name) === source) this.removeExchange(source)
  }

  private isDurableBinding(binding: Binding): boolean {
    const destinationDurable = binding.destination.kind === 'queue' ? binding.destination.queue.durable && !binding.destination.queue.exclusive : binding.destination.exchange.durable
    return binding.source.durable && destinationDurable
  }

  private bindingRecord(binding: Binding): BindingRecord {
    return {
      vhost: this.name,
      source: binding.source.name,
      destination: destinationName(binding.destination),
      destinationType: binding.destination.kind,
      routingKey: binding.routingKey,
      arguments: encodeFieldTable(binding.arguments),
    }
  }

  // --- publishing ---------------------------------------------------------------------------------------------

  /** Checks that the actor may publish to the exchange; throws the channel error RabbitMQ sends. */
  exchangeForPublish(actor: Actor, name: string): Exchange | undefined {
    if (name === '') {
      this.authorize(actor, 'write', 'exchange', '')
      return undefined
    }
    this.authorize(actor, 'write', 'exchange', name)
    const exchange = this.getExchange(name)
    if (exchange.internal) throw accessRefused(`cannot publish to internal ${describeResource('exchange', this.name, name)}`)
    return exchange
  }

  /** Routes a message to its queues (exchange-to-exchange hops included) and enqueues it. */
  publish(exchange: Exchange | undefined, incoming: IncomingMessage): PublishResult {
    if (exchange?.type === DELAYED_EXCHANGE_TYPE && this.context.delayed) {
      const held = this.holdDelayed(exchange, incoming)
      if (held) return held
    }
    const headers = incoming.properties.headers
    const senderSelected = headers !== undefined && (headers.CC !== undefined || headers.BCC !== undefined)
    const held = new Set<Exchange>()
    const queues = senderSelected ? this.routeSenderSelected(exchange, incoming) : this.route(exchange, incoming.routingKey, headers, held)
    for (const delayedExchange of held) this.schedule(delayedExchange, incoming.routingKey, incoming.encodedProperties, incoming.body, delayOf(headers)!)
    if (senderSelected && headers.BCC !== undefined) {
      // BCC routes but is never delivered (RabbitMQ's sender-selected distribution)
      const { BCC: _bcc, ...visible } = headers
      const properties = { ...incoming.properties, headers: visible }
      incoming = { ...incoming, properties, encodedProperties: encodeProperties(properties) }
    }
    const exchangeStats = exchange ? exchange.stats : this.defaultExchangeStats
    this.stats.publish++
    exchangeStats.publishIn++
    if (queues.length === 0) return { routed: false, queues, stored: held.size > 0 }
    exchangeStats.publishOut++
    const message: Message = {
      id: this.context.nextMessageId(),
      exchange: incoming.exchange,
      routingKey: incoming.routingKey,
      properties: incoming.properties,
      encodedProperties: incoming.encodedProperties,
      body: incoming.body,
      persistent: isPersistent(incoming.properties),
    }
    const { stored, rejected } = this.enqueueMessage(message, queues)
    return { routed: true, queues, stored: stored || held.size > 0, rejected }
  }

  /** Routes with the routing key and the CC and BCC header keys (sender-selected distribution), each queue once. */
  private routeSenderSelected(exchange: Exchange | undefined, incoming: IncomingMessage): Queue[] {
    const queues = new Set<Queue>()
    for (const key of [incoming.routingKey, ...headerRoutes(incoming.properties.headers)]) {
      for (const queue of this.route(exchange, key, incoming.properties.headers)) queues.add(queue)
    }
    return [...queues]
  }

  /**
   * Puts a message into its queues: queues at their x-max-length with reject-publish(-dlx) refuse it (the -dlx ones
   * dead-letter it as maxlen); a persistent message is stored once for the durable queues that take it.
   */
  private enqueueMessage(message: Message, queues: Queue[]): { stored: boolean; rejected: boolean } {
    let rejected = false
    let accepting = queues
    for (const queue of queues) {
      if (!queue.wouldOverflow(message.body.length)) continue
      if (!rejected) accepting = queues.filter((candidate) => !candidate.wouldOverflow(message.body.length))
      rejected = true
      if (queue.settings.overflow === 'reject-publish-dlx' && queue.settings.deadLetterExchange !== undefined) this.deadLetter(queue, message, 'maxlen')
    }
    let stored = false
    if (message.persistent) {
      const durable = accepting.filter((queue) => queue.durable && !queue.exclusive)
      if (durable.length > 0) {
        this.store.addMessage(
          { id: message.id, exchange: message.exchange, routingKey: message.routingKey, properties: message.encodedProperties, body: message.body, enqueuedAt: Date.now() },
          durable.map((queue) => queue.ref),
        )
        stored = true
      }
    }
    for (const queue of accepting) {
      const entry: QueueEntry = { message, redelivered: false, stored: stored && queue.durable && !queue.exclusive }
      queue.enqueue(entry)
    }
    return { stored, rejected }
  }

  /**
   * Dead-letters a message that left `queue` (rabbit_dead_letter:publish, RabbitMQ 3.10): a copy with a new id and the
   * x-death headers goes to the queue's dead-letter exchange, with the dead-letter routing key or the original keys.
   * A missing exchange drops it; queues it would cycle back to without a reject in between are skipped.
   */
  private deadLetter(queue: Queue, original: Message, reason: DeathReason): void {
    const { deadLetterExchange, deadLetterRoutingKey } = queue.settings
    if (deadLetterExchange === undefined) return
    const exchange = deadLetterExchange === '' ? undefined : this.exchanges.get(deadLetterExchange)
    if (deadLetterExchange !== '' && !exchange) return
    const letter = deadLetterMessage(original, reason, queue.name, deadLetterRoutingKey, Date.now())
    if (!letter) return
    const encodedProperties = encodeProperties(letter.properties)
    const held = new Set<Exchange>()
    if (exchange && this.holdsDelayed(exchange, letter.properties.headers)) held.add(exchange)
    const targets = new Set<Queue>()
    if (held.size === 0) for (const key of letter.routingKeys) for (const target of this.route(exchange, key, letter.properties.headers, held)) targets.add(target)
    for (const delayedExchange of held) this.schedule(delayedExchange, letter.routingKeys[0], encodedProperties, original.body, delayOf(letter.properties.headers)!)
    const queues = [...targets].filter((target) => !target.deleted && !isDeadLetterCycle(letter.properties, reason, target.name))
    if (queues.length === 0) return
    const message: Message = {
      id: this.context.nextMessageId(),
      exchange: deadLetterExchange,
      routingKey: letter.routingKeys[0],
      properties: letter.properties,
      encodedProperties,
      body: original.body,
      persistent: original.persistent,
    }
    this.enqueueMessage(message, queues)
  }

  // --- policies -----------------------------------------------------------------------------------------------

  /** Adds or replaces a policy (rabbitmqctl set_policy / PUT /api/policies) and applies it to what it matches. */
  setPolicy(policy: Omit<Policy, 'vhost'>, persist = true): Policy {
    const valid = validatePolicy({ ...policy, vhost: this.name })
    this.policies.set(valid.name, valid)
    if (persist) this.store.savePolicy({ vhost: this.name, name: valid.name, pattern: valid.pattern, applyTo: valid.applyTo, priority: valid.priority, definition: JSON.stringify(valid.definition) })
    this.applyPolicies()
    return valid
  }

  /** Removes a policy; false when there was none with that name. */
  deletePolicy(name: string): boolean {
    if (!this.policies.delete(name)) return false
    this.store.deletePolicy(this.name, name)
    this.applyPolicies()
    return true
  }

  listPolicies(): Policy[] {
    return [...this.policies.values()]
  }

  /** The policy in force for a queue or exchange (the highest priority match), as the management API shows it. */
  effectivePolicy(kind: 'queue' | 'exchange', name: string): Policy | undefined {
    return this.policies.size === 0 ? undefined : matchPolicy(this.policies.values(), kind, name)
  }

  /** Recomputes every queue's effective settings after a policy change. */
  applyPolicies(): void {
    for (const queue of this.queues.values()) queue.applySettings(queueSettings(queue.arguments, this.effectivePolicy('queue', queue.name)?.definition))
  }

  /** An exchange's alternate exchange: its argument, else the policy's (rabbit_policy:get_arg). */
  private alternateExchange(exchange: Exchange): Exchange | undefined {
    const argument = exchange.arguments['alternate-exchange']
    const name = argument !== undefined ? String(plainFieldValue(argument)) : this.effectivePolicy('exchange', exchange.name)?.definition['alternate-exchange']
    return name === undefined ? undefined : this.exchanges.get(name)
  }

  /** The queues a message reaches: the default exchange by queue name, others through their bindings. */
  route(exchange: Exchange | undefined, routingKey: string, headers: FieldTable | undefined, held?: Set<Exchange>): Queue[] {
    if (!exchange) {
      const queue = this.queues.get(routingKey)
      return queue ? [queue] : []
    }
    const matches = new Set<Binding>()
    exchange.route(routingKey, headers, matches)
    const visited = new Set<Exchange>([exchange])
    if (matches.size === 0) {
      // unroutable: the alternate exchange (and its own, in turn) gets it (rabbit_exchange:process_alternate)
      let alternate = this.alternateExchange(exchange)
      while (alternate && !visited.has(alternate) && matches.size === 0) {
        visited.add(alternate)
        alternate.route(routingKey, headers, matches)
        if (matches.size === 0) alternate = this.alternateExchange(alternate)
      }
      if (matches.size === 0) return []
    }
    const queues = new Set<Queue>()
    // exchange-to-exchange bindings: follow each exchange once, so cycles end (RabbitMQ does the same)
    let pending = [...matches]
    while (pending.length > 0) {
      const next: Binding[] = []
      for (const binding of pending) {
        const destination = binding.destination
        if (destination.kind === 'queue') {
          queues.add(destination.queue)
        } else if (!visited.has(destination.exchange)) {
          visited.add(destination.exchange)
          if (held && this.holdsDelayed(destination.exchange, headers)) {
            // the plugin delays in the exchange type's route, so a hop into a delayed exchange is held there too
            held.add(destination.exchange)
            continue
          }
          const hop = new Set<Binding>()
          destination.exchange.route(routingKey, headers, hop)
          if (hop.size === 0) {
            const alternate = this.alternateExchange(destination.exchange)
            if (alternate && !visited.has(alternate)) {
              visited.add(alternate)
              alternate.route(routingKey, headers, hop)
            }
          }
          next.push(...hop)
        }
      }
      pending = next
    }
    return [...queues]
  }

  // --- delayed messages (x-delayed-message) ------------------------------------------------------------------

  /** Holds a message with a positive x-delay published to a delayed exchange; undefined when it is routed now. */
  private holdDelayed(exchange: Exchange, incoming: IncomingMessage): PublishResult | undefined {
    const delay = delayOf(incoming.properties.headers)
    if (delay === undefined) return undefined
    this.stats.publish++
    exchange.stats.publishIn++
    this.schedule(exchange, incoming.routingKey, incoming.encodedProperties, incoming.body, delay)
    // As the plugin: nothing is routed now, so a mandatory publish gets basic.return NO_ROUTE even though the message
    // is delivered later; the confirm waits until the scheduled message is committed to the store.
    return { routed: false, queues: [], stored: true }
  }

  /** Whether a message with these headers is held by this exchange (an x-delayed-message one, with a positive x-delay). */
  private holdsDelayed(exchange: Exchange, headers: FieldTable | undefined): boolean {
    return exchange.type === DELAYED_EXCHANGE_TYPE && this.context.delayed !== undefined && delayOf(headers) !== undefined
  }

  /** Hands a message to the scheduler of a delayed exchange; it is stored, and routed by that exchange when due. */
  private schedule(exchange: Exchange, routingKey: string, encodedProperties: Buffer, body: Buffer, delay: number): void {
    this.context.delayed!.schedule({ id: this.context.nextMessageId(), vhost: this.name, exchange: exchange.name, routingKey, properties: encodedProperties, body, dueAt: Date.now() + delay })
  }

  /** Routes a scheduled message that fell due, through the exchange's bindings as they are now (x-delay negated). */
  deliverScheduled(exchange: Exchange, message: ScheduledMessage): PublishResult {
    const { properties, encodedProperties } = dueProperties(message.properties)
    const result = this.publish(exchange, { exchange: exchange.name, routingKey: message.routingKey, properties, encodedProperties, body: message.body })
    // the publish was counted when the message came in
    this.stats.publish--
    exchange.stats.publishIn--
    return result
  }

  /** The scheduled messages of an x-delayed-message exchange: count, list, get, cancel, reschedule, deliver now. */
  scheduled(exchangeName: string): ScheduledExchange {
    const exchange = this.getExchange(exchangeName)
    if (exchange.type !== DELAYED_EXCHANGE_TYPE || !this.context.delayed) {
      throw preconditionFailed(`${describeResource('exchange', this.name, exchangeName)} is not of type '${DELAYED_EXCHANGE_TYPE}'`)
    }
    return new ScheduledExchange(this.name, exchangeName, this.store, this.context.delayed)
  }

  // --- recovery -----------------------------------------------------------------------------------------------

  /** Re-creates durable definitions read from the store, without writing them back. */
  restoreExchange(record: { name: string; type: string; autoDelete: boolean; internal: boolean; arguments: Buffer }): void {
    if (this.exchanges.has(record.name) || !routingTableFor(record.type, decodeTable(record.arguments))) return
    this.createExchange({ name: record.name, type: record.type, durable: true, autoDelete: record.autoDelete, internal: record.internal, arguments: decodeTable(record.arguments) }, false)
  }

  restoreQueue(record: { name: string; autoDelete: boolean; arguments: Buffer }): Queue {
    return this.createQueue({ name: record.name, durable: true, exclusive: false, autoDelete: record.autoDelete, arguments: decodeTable(record.arguments) }, undefined, false)
  }

  restoreBinding(record: BindingRecord): void {
    const source = this.exchanges.get(record.source)
    const destination: BindingDestination | undefined =
      record.destinationType === 'queue'
        ? this.queues.has(record.destination) ? { kind: 'queue', queue: this.queues.get(record.destination)! } : undefined
        : this.exchanges.has(record.destination) ? { kind: 'exchange', exchange: this.exchanges.get(record.destination)! } : undefined
    if (!source || !destination) return
    this.addBinding(source, destination, record.routingKey, decodeTable(record.arguments), false)
  }
}

function decodeTable(encoded: Buffer): FieldTable {
  return encoded.length === 0 ? {} : decodeFieldTable(encoded, 0).value
}
