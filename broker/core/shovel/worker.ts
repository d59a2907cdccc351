/**
 * One running shovel: consumes from its source (a queue, or a server-named exclusive queue bound to an exchange) and
 * publishes to its destination, over two amqplib connections, as rabbit_amqp091_shovel does:
 * - on-confirm (default): the source message is acked only once the destination confirmed it (nack → requeued at the
 *   source), so a message is never lost, whichever end goes away; after a failure it may be delivered twice.
 * - on-publish: acked at the source as soon as it is handed to the destination connection.
 * - no-ack: consumed without acknowledgements.
 * When either end fails, both connections are closed (the source requeues what was not acked), the state becomes
 * `terminated` with the reason, and the worker starts again after reconnect-delay seconds.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib'
import { hostname } from 'node:os'
import type { ShovelDefinition } from './definition'
import { connectUrl, redactUri, type LocalBroker, type ShovelEndpointUri } from './uri'

export type ShovelState = 'starting' | 'running' | 'terminated'

export interface ShovelWorkerContext {
  vhost: string
  name: string
  /** where the broker's own listener is (for amqp:// URIs) */
  local: LocalBroker
  /** called once src-delete-after is reached: the registry deletes the shovel */
  done(): void
}

/** The node name the HTTP API reports (warren@host), used in x-shovelled headers. */
export const NODE_NAME = `warren@${hostname()}`

/** How long opening a connection (TCP + AMQP handshake) may take. */
const CONNECT_TIMEOUT_MS = 15_000

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class ShovelWorker {
  state: ShovelState = 'starting'
  /** when the state last changed (ms since the epoch) */
  since = Date.now()
  /** why the shovel last terminated (shown while terminated) */
  reason: string | undefined
  lastError: string | undefined
  lastErrorAt: number | undefined
  /** messages moved since the worker was created (acked at the source in on-confirm mode) */
  transferred = 0
  /** the URIs in use (one of each list) */
  srcUri: string
  destUri: string

  private generation = 0
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private connections: ChannelModel[] = []

  constructor(
    readonly definition: ShovelDefinition,
    private readonly context: ShovelWorkerContext,
  ) {
    this.srcUri = definition.srcUris[0]?.uri ?? ''
    this.destUri = definition.destUris[0]?.uri ?? ''
  }

  start(): void {
    this.stopped = false
    void this.run(++this.generation)
  }

  /** Closes both connections (unacked source messages go back to their queue) and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true
    this.generation++
    clearTimeout(this.timer)
    await this.closeConnections()
  }

  /** Stops and starts again at once (DELETE /api/shovels/vhost/{vhost}/{name}/restart). */
  async restart(): Promise<void> {
    await this.stop()
    this.start()
  }

  private setState(state: ShovelState): void {
    this.state = state
    this.since = Date.now()
  }

  private pick(uris: ShovelEndpointUri[]): ShovelEndpointUri {
    return uris[Math.floor(Math.random() * uris.length)]
  }

  private async connect(endpoint: ShovelEndpointUri, generation: number): Promise<ChannelModel> {
    // timeout: an unreachable host fails (and is retried after reconnect-delay) instead of hanging for minutes
    const connection = await amqp.connect(connectUrl(endpoint, this.context.local), { clientProperties: { connection_name: `Shovel ${this.context.name}` }, timeout: CONNECT_TIMEOUT_MS })
    this.connections.push(connection)
    connection.on('error', (error: unknown) => this.fail(generation, `connection error: ${errorText(error)}`))
    connection.on('close', (error?: unknown) => this.fail(generation, error ? `connection closed: ${errorText(error)}` : 'connection closed'))
    connection.on('blocked', () => undefined)
    return connection
  }

  private async closeConnections(): Promise<void> {
    const connections = this.connections.splice(0)
    await Promise.all(connections.map((connection) => connection.close().catch(() => undefined)))
  }

  private current(generation: number): boolean {
    return generation === this.generation && !this.stopped
  }

  /** A failure of the given run: closes it, records the reason and schedules the next run. */
  private fail(generation: number, reason: string): void {
    if (!this.current(generation)) return
    const next = ++this.generation
    this.reason = reason
    this.lastError = reason
    this.lastErrorAt = Date.now()
    this.setState('terminated')
    void this.closeConnections()
    if (this.definition.reconnectDelay > 0) {
      this.timer = setTimeout(() => {
        if (next === this.generation && !this.stopped) void this.run(next)
      }, this.definition.reconnectDelay * 1000)
    }
  }

  /** Declares a queue that does not exist yet as a durable queue (rabbit_amqp091_shovel's ensure_queue). */
  private async ensureQueue(connection: ChannelModel, queue: string): Promise<Options.AssertQueue & { messageCount: number }> {
    const check = await connection.createChannel()
    check.on('error', () => undefined)
    try {
      const ok = await check.checkQueue(queue)
      await check.close().catch(() => undefined)
      return { messageCount: ok.messageCount }
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error
      const declare = await connection.createChannel()
      declare.on('error', () => undefined)
      const ok = await declare.assertQueue(queue, { durable: true })
      await declare.close().catch(() => undefined)
      return { messageCount: ok.messageCount }
    }
  }

  private async run(generation: number): Promise<void> {
    if (!this.current(generation)) return
    this.setState('starting')
    const d = this.definition
    try {
      await this.closeConnections()
      const srcEndpoint = this.pick(d.srcUris)
      const destEndpoint = this.pick(d.destUris)
      this.srcUri = srcEndpoint.uri
      this.destUri = destEndpoint.uri
      const dest = await this.connect(destEndpoint, generation)
      if (!this.current(generation)) return void (await this.closeConnections())
      const src = await this.connect(srcEndpoint, generation)
      if (!this.current(generation)) return void (await this.closeConnections())

      if (d.destQueue !== undefined) await this.ensureQueue(dest, d.destQueue)
      const publisher: Channel | ConfirmChannel = d.ackMode === 'on-confirm' ? await dest.createConfirmChannel() : await dest.createChannel()
      publisher.on('error', (error: unknown) => this.fail(generation, `destination channel error: ${errorText(error)}`))
      publisher.on('close', () => this.fail(generation, 'destination channel closed'))

      let queue: string
      let remaining: number | undefined
      if (d.srcQueue !== undefined) {
        const { messageCount } = await this.ensureQueue(src, d.srcQueue)
        queue = d.srcQueue
        remaining = d.deleteAfter === 'queue-length' ? messageCount : typeof d.deleteAfter === 'number' ? d.deleteAfter : undefined
      } else {
        const setup = await src.createChannel()
        setup.on('error', () => undefined)
        queue = (await setup.assertQueue('', { exclusive: true, durable: false })).queue
        await setup.bindQueue(queue, d.srcExchange ?? '', d.srcExchangeKey)
        await setup.close()
        remaining = d.deleteAfter === 'queue-length' ? 0 : typeof d.deleteAfter === 'number' ? d.deleteAfter : undefined
      }
      if (!this.current(generation)) return void (await this.closeConnections())
      if (remaining === 0) return this.finish(generation)

      const consumer = await src.createChannel()
      consumer.on('error', (error: unknown) => this.fail(generation, `source channel error: ${errorText(error)}`))
      consumer.on('close', () => this.fail(generation, 'source channel closed'))
      await consumer.prefetch(remaining === undefined ? d.prefetchCount : Math.min(d.prefetchCount, remaining))

      const held: ConsumeMessage[] = []
      publisher.on('drain', () => {
        if (!this.current(generation)) return
        for (const message of held.splice(0)) consumer.ack(message)
      })
      let forwarded = 0
      let completed = 0
      const complete = () => {
        this.transferred++
        completed++
        if (remaining !== undefined && completed >= remaining) this.finish(generation, consumer)
      }
      const onMessage = (message: ConsumeMessage | null) => {
        if (!this.current(generation)) return
        if (message === null) return this.fail(generation, 'the source queue was deleted (consumer cancelled)')
        // past src-delete-after: left unacked, so the source requeues it when the shovel closes
        if (remaining !== undefined && forwarded >= remaining) return
        forwarded++
        const { exchange, routingKey, options } = this.outgoing(message, srcEndpoint, destEndpoint)
        if (d.ackMode === 'on-confirm') {
          ;(publisher as ConfirmChannel).publish(exchange, routingKey, message.content, options, (error) => {
            if (!this.current(generation)) return
            try {
              if (error) consumer.nack(message, false, true)
              else {
                consumer.ack(message)
                complete()
              }
            } catch (ackError) {
              this.fail(generation, `source channel error: ${errorText(ackError)}`)
            }
          })
        } else {
          const written = publisher.publish(exchange, routingKey, message.content, options)
          if (d.ackMode === 'on-publish') {
            // while the destination's socket is full, acks wait for its drain: the source then sends no more than
            // the prefetch count, so a slow destination does not pile messages up in this process
            if (!written || held.length > 0) held.push(message)
            else consumer.ack(message)
          }
          complete()
        }
      }
      await consumer.consume(queue, onMessage, { noAck: d.ackMode === 'no-ack' })
      if (!this.current(generation)) return
      this.reason = undefined
      this.setState('running')
    } catch (error) {
      this.fail(generation, errorText(error))
    }
  }

  /** src-delete-after reached: stop for good and let the registry delete the shovel. */
  private finish(generation: number, consumer?: Channel): void {
    if (!this.current(generation)) return
    this.stopped = true
    this.generation++
    // the acks must reach the source before its connection closes: closing the channel first waits for its close-ok,
    // which the broker sends after the frames written before it (amqplib may write connection.close ahead of them)
    void (async () => {
      await consumer?.close().catch(() => undefined)
      await this.closeConnections()
      this.context.done()
    })()
  }

  /** Where and how a consumed message is published: RabbitMQ's rules for dest-exchange / dest-queue / keys. */
  private outgoing(message: ConsumeMessage, srcEndpoint: ShovelEndpointUri, destEndpoint: ShovelEndpointUri): { exchange: string; routingKey: string; options: Options.Publish } {
    const d = this.definition
    const p = message.properties
    let exchange = message.fields.exchange
    let routingKey = message.fields.routingKey
    if (d.destQueue !== undefined) {
      exchange = ''
      routingKey = d.destQueue
    } else {
      if (d.destExchange !== undefined) exchange = d.destExchange
      if (d.destExchangeKey !== undefined) routingKey = d.destExchangeKey
    }
    const options: Options.Publish = {
      contentType: p.contentType,
      contentEncoding: p.contentEncoding,
      headers: p.headers ? { ...p.headers } : undefined,
      deliveryMode: p.deliveryMode,
      priority: p.priority,
      correlationId: p.correlationId,
      replyTo: p.replyTo,
      expiration: p.expiration,
      messageId: p.messageId,
      timestamp: p.timestamp,
      type: p.type,
      userId: p.userId,
      appId: p.appId,
    }
    Object.assign(options, d.publishProperties)
    if (d.addForwardHeaders) {
      const record: Record<string, unknown> = {
        'shovelled-by': NODE_NAME,
        'shovel-type': 'dynamic',
        'shovel-name': this.context.name,
        'shovel-vhost': this.context.vhost,
        'src-uri': redactUri(srcEndpoint.uri),
        ...(d.srcQueue !== undefined ? { 'src-queue': d.srcQueue } : { 'src-exchange': d.srcExchange, 'src-exchange-key': d.srcExchangeKey }),
        'dest-uri': redactUri(destEndpoint.uri),
        ...(d.destQueue !== undefined ? { 'dest-queue': d.destQueue } : {}),
        ...(d.destExchange !== undefined ? { 'dest-exchange': d.destExchange } : {}),
        ...(d.destExchangeKey !== undefined ? { 'dest-exchange-key': d.destExchangeKey } : {}),
      }
      const previous = options.headers?.['x-shovelled']
      options.headers = { ...options.headers, 'x-shovelled': [record, ...(Array.isArray(previous) ? previous : [])] }
    }
    if (d.addTimestampHeader) options.headers = { ...options.headers, 'x-shovelled-timestamp': Math.floor(Date.now() / 1000) }
    return { exchange, routingKey, options }
  }
}
