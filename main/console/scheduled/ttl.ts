/**
 * The TTL + dead-letter path, for RabbitMQ without the delayed-message plugin (see buckets.ts for the buckets).
 *
 * Per message: the bucket's delay queue `warren.delay.ttl.<lower>-<upper>.<target>` (durable, x-expires, dead-letter
 * exchange = the target) and a fanout exchange of the same name bound to it (auto-delete: it goes with the queue's
 * binding). The message is published to that exchange with its real routing key (a fanout keeps it, so
 * dead-lettering republishes to the target with it), `expiration` = its exact remaining delay, a
 * `warren-delay-id` header, persistent by default, on a confirm channel; the console's registry records it.
 *
 * Cancel, reschedule and deliver now take the message out of its delay queue: consume until the one with that id
 * turns up, settle it (ack after the republish is confirmed, for reschedule and deliver now), and close the
 * channel, which puts every other message back where it was.
 */
import { randomUUID } from 'node:crypto'
import type amqp from 'amqplib'
import type { MessageProperties } from '../../contract'
import { publishOptions } from '../management-backend'
import { ConsoleError } from '../profiles'
import type { AmqpLink } from './amqp-link'
import { bucketFor, bucketQueueArguments, bucketQueueName, ID_HEADER, MAX_TTL_DELAY_MS } from './buckets'

/** Declares the bucket's queue and entry exchange (again: a declare also keeps an idle queue from expiring). */
async function ensureBucket(ch: amqp.Channel, target: string, delayMs: number): Promise<string> {
  const bucket = bucketFor(delayMs)
  const name = bucketQueueName(bucket, target)
  await ch.assertExchange(name, 'fanout', { durable: true, autoDelete: true })
  await ch.assertQueue(name, { durable: true, autoDelete: false, arguments: bucketQueueArguments(bucket, target) })
  await ch.bindQueue(name, name, '')
  return name
}

function delayOptions(properties: MessageProperties, id: string, delayMs: number): amqp.Options.Publish {
  const { expiration: _expiration, ...rest } = properties
  return {
    ...publishOptions({ deliveryMode: 2, ...rest }),
    headers: { ...(properties.headers ?? {}), [ID_HEADER]: id },
    expiration: String(Math.max(1, Math.round(delayMs))),
    mandatory: true,
  }
}

/** Publishes on a confirm channel; a basic.return (no route) is an error. */
async function publishConfirmed(ch: amqp.ConfirmChannel, exchange: string, routingKey: string, body: Buffer, options: amqp.Options.Publish): Promise<void> {
  let returned = false
  const onReturn = () => (returned = true)
  ch.on('return', onReturn)
  try {
    ch.publish(exchange, routingKey, body, options)
    await ch.waitForConfirms()
  } finally {
    ch.off('return', onReturn)
  }
  if (returned) throw new ConsoleError('NO_ROUTE', `exchange '${exchange}' routed the message to no queue`)
}

export interface TtlScheduled {
  id: string
  queue: string
  dueAt: number
}

/** Schedules one message on the TTL path (the caller records it). */
export async function scheduleTtl(
  link: AmqpLink,
  req: { vhost: string; exchange: string; routingKey: string; properties: MessageProperties; body: Buffer; dueAt: number },
  id: string = randomUUID().slice(0, 8),
  now: () => number = Date.now,
): Promise<TtlScheduled> {
  if (req.dueAt - now() > MAX_TTL_DELAY_MS) throw new ConsoleError('INVALID', `delays of more than 45 days cannot be held by TTL queues (RabbitMQ's x-expires limit)`)
  return link.withChannel(req.vhost, async (ch) => {
    const queue = await ensureBucket(ch, req.exchange, Math.max(1, req.dueAt - now()))
    // the delay is measured at the last moment, so the declares do not make it late
    await publishConfirmed(ch, queue, req.routingKey, req.body, delayOptions(req.properties, id, req.dueAt - now()))
    return { id, queue, dueAt: req.dueAt }
  })
}

/** What took() found: the message, on a channel still open (its other messages are held unacked until it closes). */
interface Taken {
  ch: amqp.ConfirmChannel
  message: amqp.ConsumeMessage
}

/**
 * Consumes the delay queue until the message with `id` arrives (or every message there was seen); runs `fn` with it
 * while the channel is open. Undefined when it is not there (delivered already, or cancelled elsewhere).
 */
export async function withTaken<T>(link: AmqpLink, vhost: string, queue: string, id: string, fn: (t: Taken) => Promise<T>): Promise<T | undefined> {
  return link.withChannel(vhost, async (ch) => {
    let count: number
    try {
      count = (await ch.checkQueue(queue)).messageCount
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined
      throw e
    }
    if (count === 0) return undefined
    await ch.prefetch(Math.min(5000, count + 10))
    const found = await new Promise<amqp.ConsumeMessage | undefined>((resolve, reject) => {
      let seen = 0
      let idle: ReturnType<typeof setTimeout> | undefined
      const arm = () => {
        clearTimeout(idle)
        idle = setTimeout(() => resolve(undefined), 3000)
      }
      arm()
      ch.consume(
        queue,
        (m) => {
          if (!m) return resolve(undefined)
          seen++
          arm()
          if (m.properties.headers?.[ID_HEADER] === id) {
            clearTimeout(idle)
            resolve(m)
          } else if (seen >= count) {
            clearTimeout(idle)
            resolve(undefined)
          }
        },
        { noAck: false },
      ).catch(reject)
    })
    if (!found) return undefined
    return fn({ ch, message: found })
  })
}

/** The message's properties as it is to be republished: no expiration, no id header (x-death is kept as it was). */
export function republishOptions(m: amqp.ConsumeMessage, keepId?: string): amqp.Options.Publish {
  const p = m.properties
  const { [ID_HEADER]: _id, ...headers } = (p.headers ?? {}) as Record<string, unknown>
  const o: amqp.Options.Publish = { headers: keepId ? { ...headers, [ID_HEADER]: keepId } : headers, mandatory: false }
  if (p.contentType) o.contentType = p.contentType
  if (p.contentEncoding) o.contentEncoding = p.contentEncoding
  if (p.deliveryMode) o.deliveryMode = p.deliveryMode
  if (p.priority !== undefined) o.priority = p.priority
  if (p.correlationId) o.correlationId = p.correlationId
  if (p.replyTo) o.replyTo = p.replyTo
  if (p.messageId) o.messageId = p.messageId
  if (p.timestamp !== undefined) o.timestamp = p.timestamp
  if (p.type) o.type = p.type
  if (p.userId) o.userId = p.userId
  if (p.appId) o.appId = p.appId
  return o
}

/** Takes the message out of its delay queue unsent. */
export async function cancelTtl(link: AmqpLink, vhost: string, queue: string, id: string): Promise<boolean> {
  const done = await withTaken(link, vhost, queue, id, async ({ ch, message }) => {
    // frames are ordered: the ack reaches the broker before the channel's close, which requeues only the others
    ch.ack(message)
    return true
  })
  return done === true
}

/** Routes it to its target now (confirmed), then takes it out of the delay queue. */
export async function deliverTtlNow(link: AmqpLink, vhost: string, queue: string, id: string, target: string): Promise<boolean> {
  const done = await withTaken(link, vhost, queue, id, async ({ ch, message }) => {
    // mandatory: a message the target cannot route stays scheduled, and the user is told
    await publishConfirmed(ch, target, message.fields.routingKey, message.content, { ...republishOptions(message), mandatory: true })
    ch.ack(message)
    return true
  })
  return done === true
}

/** Moves it to the bucket of its new delay (the republish confirmed before the old copy goes). */
export async function rescheduleTtl(link: AmqpLink, vhost: string, queue: string, id: string, target: string, dueAt: number, now: () => number = Date.now): Promise<string | undefined> {
  if (dueAt - now() > MAX_TTL_DELAY_MS) throw new ConsoleError('INVALID', `delays of more than 45 days cannot be held by TTL queues (RabbitMQ's x-expires limit)`)
  return withTaken(link, vhost, queue, id, async ({ ch, message }) => {
    let next: string
    if (dueAt <= now()) {
      next = ''
      ch.publish(target, message.fields.routingKey, message.content, republishOptions(message))
    } else {
      next = await ensureBucket(ch, target, dueAt - now())
      const options = { ...republishOptions(message, id), expiration: String(Math.max(1, Math.round(dueAt - now()))) }
      ch.publish(next, message.fields.routingKey, message.content, options)
    }
    await ch.waitForConfirms()
    ch.ack(message)
    return next
  })
}
