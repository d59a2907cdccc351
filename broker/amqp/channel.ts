import { randomBytes } from 'node:crypto'
import { decodeBasicProperties, decodeContentHeader, deliveryFrames, getOkFrames, returnFrames, type AmqpMethod, type BasicProperties, type MethodArgs } from '../protocol'
import { AmqpError, ReplyCode, accessRefused, commandInvalid, notAllowed, notImplemented, preconditionFailed, unexpectedFrame, describeResource } from '../core/errors'
import type { Exchange } from '../core/exchange'
import { checkExpiration } from '../core/lifecycle'
import type { QueueEntry } from '../core/message'
import type { Consumer, Queue } from '../core/queue'
import { MessageStats } from '../core/stats'
import type { Actor, IncomingMessage, Vhost } from '../core/vhost'
import { EXPECTED_METHOD_FRAME, type AmqpConnection } from './connection'

const BASIC_CLASS = 60

interface Unacked {
  queue: Queue
  entry: QueueEntry
  consumer: ChannelConsumer | undefined
}

interface PendingPublish {
  args: MethodArgs['basic.publish']
  method: AmqpMethod
  properties?: BasicProperties
  encodedProperties?: Buffer
  bodySize: number
  parts: Buffer[]
  received: number
}

type TxOperation = { kind: 'publish'; publish: PendingPublish; body: Buffer } | { kind: 'settle'; tag: number; multiple: boolean; requeue: boolean | undefined; method: AmqpMethod }

/** A basic.consume subscription: the queue's view of this channel. */
class ChannelConsumer implements Consumer {
  unacked = 0

  constructor(
    readonly channel: AmqpChannel,
    readonly queue: Queue,
    readonly tag: string,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    /** basic.qos prefetch-count with global=false at the time of basic.consume (0 = unlimited) */
    readonly prefetch: number,
  ) {}

  canAccept(): boolean {
    return this.channel.mayDeliverTo(this)
  }

  deliver(queue: Queue, entry: QueueEntry): void {
    this.channel.deliver(this, queue, entry)
  }

  cancelledByServer(): void {
    this.channel.consumerCancelledByServer(this)
  }
}

/**
 * One AMQP channel: its publishing (content assembly, confirms, transactions), its consumers, prefetch and
 * unacked deliveries. A channel error closes only this channel (AMQP 0-9-1 §1.5.2.2).
 */
export class AmqpChannel {
  private closing = false
  private flowActive = true
  private pending: PendingPublish | undefined
  private readonly consumers = new Map<string, ChannelConsumer>()
  private readonly unacked = new Map<number, Unacked>()
  private nextDeliveryTag = 1
  /** basic.qos global=false: applies to consumers created afterwards */
  private consumerPrefetch = 0
  /** basic.qos global=true: shared by all consumers of the channel */
  private channelPrefetch = 0
  private unackedByConsumers = 0

  // publisher confirms: confirms go out in publish order, with multiple=true where they can
  private confirmMode = false
  private publishSeq = 0
  private confirmedUpTo = 0
  /** sequence numbers of stored messages whose commit is pending, in order */
  private readonly awaitingCommit: number[] = []
  /** highest seq that a registered whenCommitted callback already covers */
  private commitCoveredUpTo = 0
  private nackUpTo = 0
  /** sequence numbers a queue refused (x-overflow reject-publish), nacked in order; ascending */
  private readonly rejectedSeqs: number[] = []

  private txMode = false
  private txOperations: TxOperation[] = []

  private cachedExchange: { name: string; exchange: Exchange | undefined } | undefined

  /** management API counters (plain increments; rates are sampled by broker/http) */
  readonly stats = new MessageStats()

  constructor(
    readonly id: number,
    readonly connection: AmqpConnection,
  ) {}

  private get vhost(): Vhost {
    return this.connection.vhost!
  }

  private get actor(): Actor {
    return { user: this.connection.user, permission: this.connection.core.permission(this.connection.user, this.vhost.name), owner: this.connection }
  }

  // --- dispatch -----------------------------------------------------------------------------------------------

  onMethod(method: AmqpMethod): void {
    if (this.closing) {
      // after we sent channel.close, only close and close-ok matter (AMQP 0-9-1 §2.2.5.2)
      if (method.name === 'channel.close-ok') this.finishClose()
      else if (method.name === 'channel.close') {
        this.connection.sendMethod(this.id, 'channel.close-ok', {})
        this.finishClose()
      }
      return
    }
    if (this.pending) throw unexpectedFrame(`expected content header for class ${BASIC_CLASS}, got non content header frame instead`).withMethod(method)
    try {
      this.handle(method)
    } catch (error) {
      if (error instanceof AmqpError && error.scope === 'channel') this.closeWithError(error, method)
      else {
        if (error instanceof AmqpError && error.classId === 0) error.withMethod(method)
        throw error
      }
    }
  }

  private handle(method: AmqpMethod): void {
    const send = this.connection.sendMethod.bind(this.connection, this.id)
    switch (method.name) {
      case 'channel.open':
        if (this.opened) throw channelError(`second 'channel.open' seen`)
        this.opened = true
        return send('channel.open-ok', {})
      case 'channel.close':
        send('channel.close-ok', {})
        return this.release()
      case 'channel.close-ok':
        return
      case 'channel.flow':
        this.flowActive = method.args.active
        send('channel.flow-ok', { active: method.args.active })
        if (this.flowActive) this.resumeConsumers()
        return

      case 'exchange.declare': {
        const a = method.args
        this.vhost.declareExchange(this.actor, { name: a.exchange, type: a.type, durable: a.durable, autoDelete: a.autoDelete, internal: a.internal, arguments: a.arguments }, a.passive)
        if (!a.noWait) send('exchange.declare-ok', {})
        return
      }
      case 'exchange.delete':
        this.vhost.deleteExchange(this.actor, method.args.exchange, method.args.ifUnused)
        this.cachedExchange = undefined
        if (!method.args.noWait) send('exchange.delete-ok', {})
        return
      case 'exchange.bind': {
        const a = method.args
        this.vhost.bindExchange(this.actor, a.destination, a.source, a.routingKey, a.arguments)
        if (!a.noWait) send('exchange.bind-ok', {})
        return
      }
      case 'exchange.unbind': {
        const a = method.args
        this.vhost.unbindExchange(this.actor, a.destination, a.source, a.routingKey, a.arguments)
        if (!a.noWait) send('exchange.unbind-ok', {})
        return
      }

      case 'queue.declare': {
        const a = method.args
        const queue = this.vhost.declareQueue(this.actor, { name: a.queue, durable: a.durable, exclusive: a.exclusive, autoDelete: a.autoDelete, arguments: a.arguments }, a.passive)
        if (!a.noWait) send('queue.declare-ok', { queue: queue.name, messageCount: queue.messageCount, consumerCount: queue.consumerCount })
        return
      }
      case 'queue.bind': {
        const a = method.args
        this.vhost.bindQueue(this.actor, a.queue, a.exchange, a.routingKey, a.arguments)
        if (!a.noWait) send('queue.bind-ok', {})
        return
      }
      case 'queue.unbind': {
        const a = method.args
        this.vhost.unbindQueue(this.actor, a.queue, a.exchange, a.routingKey, a.arguments)
        return send('queue.unbind-ok', {})
      }
      case 'queue.purge': {
        const messageCount = this.vhost.purgeQueue(this.actor, method.args.queue)
        if (!method.args.noWait) send('queue.purge-ok', { messageCount })
        return
      }
      case 'queue.delete': {
        const a = method.args
        const messageCount = this.vhost.deleteQueue(this.actor, a.queue, { ifUnused: a.ifUnused, ifEmpty: a.ifEmpty })
        if (!a.noWait) send('queue.delete-ok', { messageCount })
        return
      }

      case 'basic.qos': {
        const a = method.args
        if (a.prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${a.prefetchSize})`)
        if (a.global) this.channelPrefetch = a.prefetchCount
        else this.consumerPrefetch = a.prefetchCount
        send('basic.qos-ok', {})
        this.resumeConsumers()
        return
      }
      case 'basic.consume':
        return this.consume(method.args)
      case 'basic.cancel': {
        const consumer = this.consumers.get(method.args.consumerTag)
        if (consumer) this.removeConsumer(consumer)
        // cancelling an unknown consumer tag is not an error (RabbitMQ)
        if (!method.args.noWait) send('basic.cancel-ok', { consumerTag: method.args.consumerTag })
        return
      }
      case 'basic.publish':
        if (method.args.immediate) throw notImplemented('immediate=true')
        this.connection.markPublishing()
        this.pending = { args: method.args, method, bodySize: -1, parts: [], received: 0 }
        return
      case 'basic.get':
        return this.get(method.args)
      case 'basic.ack':
        return this.settleOrBuffer(method, method.args.deliveryTag, method.args.multiple, undefined)
      case 'basic.nack':
        return this.settleOrBuffer(method, method.args.deliveryTag, method.args.multiple, method.args.requeue)
      case 'basic.reject':
        return this.settleOrBuffer(method, method.args.deliveryTag, false, method.args.requeue)
      case 'basic.recover':
      case 'basic.recover-async':
        if (!method.args.requeue) throw notImplemented('requeue=false')
        this.requeueAll()
        if (method.name === 'basic.recover') send('basic.recover-ok', {})
        return

      case 'confirm.select':
        if (this.txMode) throw preconditionFailed('cannot switch from tx to confirm mode')
        this.confirmMode = true
        if (!method.args.nowait) send('confirm.select-ok', {})
        return
      case 'tx.select':
        if (this.confirmMode) throw preconditionFailed('cannot switch from confirm to tx mode')
        this.txMode = true
        return send('tx.select-ok', {})
      case 'tx.commit':
        if (!this.txMode) throw preconditionFailed('channel is not transactional')
        return this.commitTransaction()
      case 'tx.rollback':
        if (!this.txMode) throw preconditionFailed('channel is not transactional')
        this.txOperations = []
        return send('tx.rollback-ok', {})

      default:
        throw commandInvalid(`unexpected method '${method.name}' on a channel`)
    }
  }

  private opened = false

  // --- publishing ---------------------------------------------------------------------------------------------

  onContentHeader(payload: Buffer): void {
    if (this.closing) return
    const pending = this.pending
    if (!pending || pending.bodySize >= 0) throw unexpectedFrame(EXPECTED_METHOD_FRAME)
    const header = decodeContentHeader(payload)
    if (header.classId !== BASIC_CLASS) throw unexpectedFrame(`content header for class ${header.classId}, expected class ${BASIC_CLASS}`)
    // the header is a view of the socket's read buffer; the message keeps its own copy
    pending.encodedProperties = Buffer.from(header.properties)
    pending.properties = decodeBasicProperties(pending.encodedProperties)
    pending.bodySize = header.bodySize
    if (header.bodySize === 0) this.completePublish(pending, Buffer.alloc(0))
  }

  onContentBody(payload: Buffer): void {
    if (this.closing) return
    const pending = this.pending
    if (!pending) throw unexpectedFrame(EXPECTED_METHOD_FRAME)
    if (pending.bodySize < 0) throw unexpectedFrame(`expected content header for class ${BASIC_CLASS}, got non content header frame instead`)
    pending.received += payload.length
    if (pending.received > pending.bodySize) throw unexpectedFrame(`content body is ${pending.received} bytes, more than the ${pending.bodySize} announced in the header`)
    if (pending.received === pending.bodySize) {
      // the frame reader hands out views of its read buffers, so a body that is kept must be its own copy
      const body = pending.parts.length === 0 ? Buffer.from(payload) : Buffer.concat([...pending.parts, payload])
      this.completePublish(pending, body)
    } else {
      pending.parts.push(Buffer.from(payload))
    }
  }

  private completePublish(pending: PendingPublish, body: Buffer): void {
    this.pending = undefined
    try {
      if (this.txMode) {
        // resolve the exchange now so a missing one fails the publish, as RabbitMQ does
        this.exchangeFor(pending.args.exchange)
        this.checkUserId(pending.properties!)
        checkExpiration(pending.properties!)
        this.txOperations.push({ kind: 'publish', publish: pending, body })
        return
      }
      this.publish(pending, body)
    } catch (error) {
      if (error instanceof AmqpError && error.scope === 'channel') this.closeWithError(error, pending.method)
      else throw error
    }
  }

  /** RabbitMQ validates user-id: a message may only claim the user that published it. */
  private checkUserId(properties: BasicProperties): void {
    if (properties.userId !== undefined && properties.userId !== this.connection.user) {
      throw preconditionFailed(`user_id property set to '${properties.userId}' but authenticated user was '${this.connection.user}'`)
    }
  }

  private exchangeFor(name: string): Exchange | undefined {
    const cached = this.cachedExchange
    if (cached && cached.name === name && (cached.exchange === undefined || this.vhost.exchanges.get(name) === cached.exchange)) return cached.exchange
    const exchange = this.vhost.exchangeForPublish(this.actor, name)
    this.cachedExchange = { name, exchange }
    return exchange
  }

  private publish(pending: PendingPublish, body: Buffer): void {
    const { args } = pending
    const exchange = this.exchangeFor(args.exchange)
    this.checkUserId(pending.properties!)
    checkExpiration(pending.properties!)
    const incoming: IncomingMessage = { exchange: args.exchange, routingKey: args.routingKey, properties: pending.properties!, encodedProperties: pending.encodedProperties!, body }
    const result = this.vhost.publish(exchange, incoming)
    this.stats.publish++
    if (!result.routed) {
      const stats = this.vhost.stats
      if (args.mandatory) {
        this.stats.returnUnroutable++
        stats.returnUnroutable++
      } else {
        this.stats.dropUnroutable++
        stats.dropUnroutable++
      }
    }
    if (!result.routed && args.mandatory) {
      this.connection.send(
        returnFrames(this.id, { replyCode: ReplyCode.NO_ROUTE, replyText: 'NO_ROUTE', exchange: args.exchange, routingKey: args.routingKey }, pending.encodedProperties!, body, this.connection.frameMax),
      )
    }
    if (!this.confirmMode) return
    const seq = ++this.publishSeq
    if (result.stored) this.awaitingCommit.push(seq)
    if (result.rejected) this.rejectedSeqs.push(seq)
    this.connection.dirtyChannels.add(this)
  }

  /**
   * Sends the confirms that are due, in publish order: everything below the oldest message still waiting for its
   * commit is acked with one multiple=true ack. Registers one whenCommitted callback for the stored messages of this
   * read.
   */
  flushConfirms(): void {
    if (!this.confirmMode || this.closing) return
    const newest = this.awaitingCommit.length > 0 ? this.awaitingCommit[this.awaitingCommit.length - 1] : 0
    if (newest > this.commitCoveredUpTo) {
      this.commitCoveredUpTo = newest
      this.connection.core.store.whenCommitted((error) => this.onCommitted(newest, error))
    }
    const ackUpTo = this.awaitingCommit.length > 0 ? this.awaitingCommit[0] - 1 : this.publishSeq
    if (ackUpTo > this.confirmedUpTo) {
      this.stats.confirm += ackUpTo - this.confirmedUpTo
      this.vhost.stats.confirm += ackUpTo - this.confirmedUpTo
      if (this.nackUpTo > this.confirmedUpTo) {
        const multiple = ackUpTo - this.confirmedUpTo > 1
        this.connection.sendMethod(this.id, 'basic.nack', { deliveryTag: ackUpTo, multiple, requeue: false })
        while (this.rejectedSeqs.length > 0 && this.rejectedSeqs[0] <= ackUpTo) this.rejectedSeqs.shift()
      } else {
        // publishes a queue refused are nacked one by one, in order among the acks (RabbitMQ: any refusing queue nacks)
        while (this.rejectedSeqs.length > 0 && this.rejectedSeqs[0] <= ackUpTo) {
          const rejected = this.rejectedSeqs.shift()!
          if (rejected - 1 > this.confirmedUpTo) this.connection.sendMethod(this.id, 'basic.ack', { deliveryTag: rejected - 1, multiple: rejected - 1 - this.confirmedUpTo > 1 })
          this.connection.sendMethod(this.id, 'basic.nack', { deliveryTag: rejected, multiple: false, requeue: false })
          this.confirmedUpTo = rejected
        }
        if (ackUpTo > this.confirmedUpTo) this.connection.sendMethod(this.id, 'basic.ack', { deliveryTag: ackUpTo, multiple: ackUpTo - this.confirmedUpTo > 1 })
      }
      this.confirmedUpTo = ackUpTo
    }
  }

  private onCommitted(upTo: number, error?: Error): void {
    while (this.awaitingCommit.length > 0 && this.awaitingCommit[0] <= upTo) this.awaitingCommit.shift()
    if (error) {
      // the store could not write them: publishers get a nack, never a false ack (the disk alarm logs the failure once)
      this.nackUpTo = Math.max(this.nackUpTo, upTo)
    }
    this.connection.dirtyChannels.add(this)
    this.connection.scheduleFlush()
  }

  private commitTransaction(): void {
    const operations = this.txOperations
    this.txOperations = []
    for (const operation of operations) {
      if (operation.kind === 'publish') this.publish(operation.publish, operation.body)
      else this.settle(operation.tag, operation.multiple, operation.requeue, operation.method)
    }
    // tx.commit-ok only once the transaction's persistent messages are on disk. A failed store commit keeps them
    // queued and retries (the disk alarm blocks publishers meanwhile): commit-ok waits for the retry that succeeds.
    const store = this.connection.core.store
    const whenDurable = (error?: Error): void => {
      if (this.closing || this.connection.channels.get(this.id) !== this) return
      if (error) store.whenCommitted(whenDurable)
      else this.connection.sendMethod(this.id, 'tx.commit-ok', {})
    }
    store.whenCommitted(whenDurable)
  }

  // --- consuming ----------------------------------------------------------------------------------------------

  private consume(args: MethodArgs['basic.consume']): void {
    // read permission before the lookup, as RabbitMQ: without it, a missing queue is 403, not 404
    this.vhost.authorize(this.actor, 'read', 'queue', args.queue)
    const queue = this.vhost.getQueue(args.queue, this.actor)
    const tag = args.consumerTag === '' ? `amq.ctag-${randomBytes(16).toString('base64url')}` : args.consumerTag
    if (this.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`)
    if (queue.consumers.some((consumer) => consumer.exclusive) || (args.exclusive && queue.consumerCount > 0)) {
      throw accessRefused(`${describeResource('queue', this.vhost.name, queue.name)} in exclusive use`)
    }
    const consumer = new ChannelConsumer(this, queue, tag, args.noAck, args.exclusive, this.consumerPrefetch)
    this.consumers.set(tag, consumer)
    if (!args.noWait) this.connection.sendMethod(this.id, 'basic.consume-ok', { consumerTag: tag })
    queue.addConsumer(consumer)
  }

  mayDeliverTo(consumer: ChannelConsumer): boolean {
    if (this.closing || !this.flowActive || !this.connection.writable) return false
    if (consumer.noAck) return true
    if (consumer.prefetch > 0 && consumer.unacked >= consumer.prefetch) return false
    if (this.channelPrefetch > 0 && this.unackedByConsumers >= this.channelPrefetch) return false
    return true
  }

  deliver(consumer: ChannelConsumer, queue: Queue, entry: QueueEntry): void {
    const deliveryTag = this.nextDeliveryTag++
    if (consumer.noAck) this.stats.deliverNoAck++
    else this.stats.deliver++
    if (entry.redelivered) this.stats.redeliver++
    if (!consumer.noAck) {
      this.unacked.set(deliveryTag, { queue, entry, consumer })
      consumer.unacked++
      this.unackedByConsumers++
    }
    const message = entry.message
    this.connection.send(
      deliveryFrames(
        this.id,
        { consumerTag: consumer.tag, deliveryTag, redelivered: entry.redelivered, exchange: message.exchange, routingKey: message.routingKey },
        message.encodedProperties,
        message.body,
        this.connection.frameMax,
      ),
    )
  }

  private get(args: MethodArgs['basic.get']): void {
    this.vhost.authorize(this.actor, 'read', 'queue', args.queue)
    const queue = this.vhost.getQueue(args.queue, this.actor)
    const entry = queue.take(args.noAck)
    if (!entry) {
      this.stats.getEmpty++
      this.connection.sendMethod(this.id, 'basic.get-empty', {})
      return
    }
    const deliveryTag = this.nextDeliveryTag++
    if (args.noAck) this.stats.getNoAck++
    else this.stats.get++
    if (entry.redelivered) this.stats.redeliver++
    if (!args.noAck) this.unacked.set(deliveryTag, { queue, entry, consumer: undefined })
    const message = entry.message
    this.connection.send(
      getOkFrames(
        this.id,
        { deliveryTag, redelivered: entry.redelivered, exchange: message.exchange, routingKey: message.routingKey, messageCount: queue.messageCount },
        message.encodedProperties,
        message.body,
        this.connection.frameMax,
      ),
    )
  }

  /** The consumer's queue was deleted: tell clients that asked for consumer_cancel_notify (RabbitMQ). */
  consumerCancelledByServer(consumer: ChannelConsumer): void {
    if (this.consumers.get(consumer.tag) !== consumer) return
    this.consumers.delete(consumer.tag)
    if (!this.closing && this.connection.clientCapability('consumer_cancel_notify')) {
      this.connection.sendMethod(this.id, 'basic.cancel', { consumerTag: consumer.tag, noWait: true })
    }
  }

  private removeConsumer(consumer: ChannelConsumer): void {
    this.consumers.delete(consumer.tag)
    consumer.queue.removeConsumer(consumer)
  }

  /** Lets queues deliver again after acks, a larger prefetch, flow on or a drained socket. */
  resumeConsumers(): void {
    if (this.closing) return
    const queues = new Set<Queue>()
    for (const consumer of this.consumers.values()) queues.add(consumer.queue)
    for (const queue of queues) queue.dispatch()
  }

  // --- acknowledgements ---------------------------------------------------------------------------------------

  private settleOrBuffer(method: AmqpMethod, tag: number, multiple: boolean, requeue: boolean | undefined): void {
    if (this.txMode) {
      this.collect(tag, multiple, method, false)
      this.txOperations.push({ kind: 'settle', tag, multiple, requeue, method })
      return
    }
    this.settle(tag, multiple, requeue, method)
  }

  /** The unacked deliveries an ack/nack/reject names; unknown tags are a 406 channel error (RabbitMQ). */
  private collect(tag: number, multiple: boolean, method: AmqpMethod, take: boolean): [number, Unacked][] {
    const found: [number, Unacked][] = []
    if (multiple) {
      for (const [deliveryTag, unacked] of this.unacked) {
        if (tag !== 0 && deliveryTag > tag) break
        found.push([deliveryTag, unacked])
      }
      if (found.length === 0 && tag !== 0) throw preconditionFailed(`unknown delivery tag ${tag}`).withMethod(method)
    } else {
      const unacked = this.unacked.get(tag)
      if (!unacked) throw preconditionFailed(`unknown delivery tag ${tag}`).withMethod(method)
      found.push([tag, unacked])
    }
    if (take) for (const [deliveryTag] of found) this.unacked.delete(deliveryTag)
    return found
  }

  /** ack (requeue undefined), or nack/reject with or without requeue. */
  private settle(tag: number, multiple: boolean, requeue: boolean | undefined, method: AmqpMethod): void {
    const settled = this.collect(tag, multiple, method, true)
    if (requeue === undefined) this.stats.ack += settled.length
    const requeued = new Map<Queue, QueueEntry[]>()
    for (const [, { queue, entry, consumer }] of settled) {
      if (consumer) {
        consumer.unacked--
        this.unackedByConsumers--
      }
      if (requeue) {
        let list = requeued.get(queue)
        if (!list) requeued.set(queue, (list = []))
        list.push(entry)
      } else if (requeue === false) {
        queue.reject(entry)
      } else {
        queue.settle(entry)
      }
    }
    for (const [queue, entries] of requeued) queue.requeue(entries)
    this.resumeConsumers()
  }

  /** basic.recover, channel close: every unacked delivery goes back to its queue. */
  private requeueAll(): void {
    const byQueue = new Map<Queue, QueueEntry[]>()
    for (const { queue, entry, consumer } of this.unacked.values()) {
      if (consumer) consumer.unacked--
      let list = byQueue.get(queue)
      if (!list) byQueue.set(queue, (list = []))
      list.push(entry)
    }
    this.unacked.clear()
    this.unackedByConsumers = 0
    for (const [queue, entries] of byQueue) queue.requeue(entries)
  }

  // --- management API -----------------------------------------------------------------------------------------

  /** A snapshot for /api/channels and /api/consumers, computed on request (nothing extra on the hot path). */
  managementInfo(): ChannelInfo {
    return {
      number: this.id,
      prefetchCount: this.consumerPrefetch,
      globalPrefetchCount: this.channelPrefetch,
      unacknowledged: this.unacked.size,
      confirm: this.confirmMode,
      transactional: this.txMode,
      unconfirmed: this.confirmMode ? this.publishSeq - this.confirmedUpTo : 0,
      uncommittedMessages: this.txOperations.filter((operation) => operation.kind === 'publish').length,
      uncommittedAcks: this.txOperations.filter((operation) => operation.kind === 'settle').length,
      flowActive: this.flowActive,
      consumers: [...this.consumers.values()].map((consumer) => ({
        tag: consumer.tag,
        queue: consumer.queue,
        noAck: consumer.noAck,
        exclusive: consumer.exclusive,
        prefetch: consumer.prefetch,
      })),
    }
  }

  // --- closing ------------------------------------------------------------------------------------------------

  /**
   * An operator closes this one channel (DELETE /api/channels/{name}, a Warren extension of the management API):
   * the same server-initiated channel.close a channel error sends, with 320 CONNECTION_FORCED and class/method 0,
   * as RabbitMQ does when an operator closes a connection (the channel-level equivalent RabbitMQ lacks). The
   * connection and its other channels stay open; the client answers close-ok, and this channel's consumers are
   * cancelled and its unacked messages requeued meanwhile. amqplib emits 'error' (code 320) then 'close' on the
   * channel only: it treats every server channel.close as a channel error, whatever the code.
   */
  forceClose(reason: string): boolean {
    if (this.closing || this.released) return false
    this.closeWithError(new AmqpError(ReplyCode.CONNECTION_FORCED, reason, 'channel'))
    return true
  }

  private closeWithError(error: AmqpError, method?: AmqpMethod): void {
    if (error.classId === 0 && method) error.withMethod(method)
    this.connection.sendMethod(this.id, 'channel.close', { replyCode: error.replyCode, replyText: error.replyText.slice(0, 255), classId: error.classId, methodId: error.methodId })
    this.closing = true
    this.pending = undefined
    this.releaseState()
  }

  private finishClose(): void {
    this.release()
  }

  /** Frees everything the channel holds: consumers are cancelled, unacked messages requeued. */
  release(): void {
    this.releaseState()
    this.connection.removeChannel(this)
  }

  private released = false

  private releaseState(): void {
    if (this.released) return
    this.released = true
    for (const consumer of this.consumers.values()) consumer.queue.removeConsumer(consumer)
    this.consumers.clear()
    this.requeueAll()
    this.txOperations = []
  }
}

export interface ChannelInfo {
  number: number
  prefetchCount: number
  globalPrefetchCount: number
  unacknowledged: number
  confirm: boolean
  transactional: boolean
  unconfirmed: number
  uncommittedMessages: number
  uncommittedAcks: number
  flowActive: boolean
  consumers: { tag: string; queue: Queue; noAck: boolean; exclusive: boolean; prefetch: number }[]
}

function channelError(explanation: string): AmqpError {
  return new AmqpError(ReplyCode.CHANNEL_ERROR, explanation, 'connection')
}
