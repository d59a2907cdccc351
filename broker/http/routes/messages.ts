import { encodeBasicProperties } from '../../protocol'
import { AmqpError } from '../../core/errors'
import type { QueueEntry } from '../../core/message'
import { actorFor, intField, stringField, vhostOf, type ApiRequest } from '../context'
import { badRequest, HttpError } from '../errors'
import { payloadJson, propertiesFrom, propertiesJson } from '../json'
import type { Route } from '../router'
import { exchangeParam } from './exchanges'
import { queueOf } from './queues'

/** RabbitMQ publishes over HTTP through an AMQP channel, so its channel errors come back as 400 "404 NOT_FOUND - ...". */
function asChannelError<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    if (error instanceof AmqpError) throw badRequest(`${error.replyCode} ${error.replyText}`)
    throw error
  }
}

function publish(req: ApiRequest) {
  const vhost = vhostOf(req)
  const name = exchangeParam(req)
  const routingKey = stringField(req.body, 'routing_key')
  // basic.deliver carries it as a shortstr: a longer one could not be delivered to AMQP consumers (test/soak/fuzz-http)
  if (Buffer.byteLength(routingKey) > 255) throw badRequest('routing_key is longer than 255 bytes')
  const encoding = stringField(req.body, 'payload_encoding')
  const payload = stringField(req.body, 'payload')
  if (encoding !== 'string' && encoding !== 'base64') throw badRequest(`payload_encoding must be 'string' or 'base64', got '${encoding}'`)
  const body = encoding === 'base64' ? Buffer.from(payload, 'base64') : Buffer.from(payload, 'utf8')
  const properties = propertiesFrom(req.body.properties)
  if (properties.userId !== undefined && properties.userId !== req.user.name) {
    throw badRequest(`406 PRECONDITION_FAILED - user_id property set to '${properties.userId}' but authenticated user was '${req.user.name}'`)
  }
  const result = asChannelError(() => {
    // the same calls an AMQP basic.publish makes: permission and internal-exchange checks, then routing
    const exchange = vhost.exchangeForPublish(actorFor(req, vhost.name), name)
    return vhost.publish(exchange, { exchange: name, routingKey, properties, encodedProperties: encodeBasicProperties(properties), body })
  })
  if (!result.routed) vhost.stats.dropUnroutable++
  return { routed: result.routed }
}

const ACK_MODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] as const
type AckMode = (typeof ACK_MODES)[number]

function encodingOf(req: ApiRequest, value: unknown): 'auto' | 'base64' {
  const encoding = value === undefined ? 'auto' : String(value)
  if (encoding !== 'auto' && encoding !== 'base64') throw badRequest(`encoding must be 'auto' or 'base64', got '${encoding}'`)
  return encoding
}

function messageJson(entry: QueueEntry, encoding: 'auto' | 'base64', truncate: number | undefined, messageCount?: number) {
  const { message } = entry
  return {
    payload_bytes: message.body.length,
    redelivered: entry.redelivered,
    exchange: message.exchange,
    routing_key: message.routingKey,
    ...(messageCount === undefined ? {} : { message_count: messageCount }),
    properties: propertiesJson(message.properties),
    ...payloadJson(message.body, encoding, truncate),
  }
}

/** POST /get: basic.get of up to `count` messages, then ack, reject or requeue them, as the management UI's "Get messages". */
function get(req: ApiRequest) {
  const vhost = vhostOf(req)
  const ackmode = stringField(req.body, 'ackmode', 'ack_requeue_true') as AckMode
  if (!ACK_MODES.includes(ackmode)) throw badRequest(`ackmode must be one of ${ACK_MODES.join(', ')}, got '${ackmode}'`)
  const count = intField(req.body, 'count', 1)
  const encoding = encodingOf(req, req.body.encoding)
  const truncate = req.body.truncate === undefined || req.body.truncate === null || req.body.truncate === '' ? undefined : intField(req.body, 'truncate', 0)
  const actor = actorFor(req, vhost.name)
  let queue
  try {
    queue = vhost.getQueue(req.params.queue, actor)
    vhost.authorize(actor, 'read', 'queue', queue.name)
  } catch (error) {
    if (error instanceof AmqpError && error.replyCode === 404) throw new HttpError(404, 'not_found', error.replyText)
    // RabbitMQ runs basic.get on a channel: its refusal comes back as 401 with the channel's reply text
    if (error instanceof AmqpError && error.replyCode === 403) throw new HttpError(401, 'not_authorised', error.replyText)
    throw error
  }
  const taken: QueueEntry[] = []
  const out = []
  for (let i = 0; i < count; i++) {
    const entry = queue.take(false)
    if (!entry) break
    taken.push(entry)
    out.push(messageJson(entry, encoding, truncate, queue.messageCount))
  }
  if (ackmode === 'ack_requeue_false') for (const entry of taken) queue.settle(entry)
  else if (ackmode === 'reject_requeue_false') {
    // a reject without requeue dead-letters where the core supports it (Queue.reject), else the message is dropped
    const rejectable = queue as unknown as { reject?: (entry: QueueEntry) => void }
    for (const entry of taken) {
      if (typeof rejectable.reject === 'function') rejectable.reject.call(queue, entry)
      else queue.settle(entry)
    }
  }
  else queue.requeue(taken)
  return out
}

/**
 * GET /messages (Warren's own): the ready messages from `offset`, in delivery order, without taking them — nothing is
 * consumed, reordered or marked redelivered. Needs read permission on the queue, like basic.get.
 */
function browse(req: ApiRequest) {
  const vhost = vhostOf(req)
  const queue = queueOf(req, vhost)
  vhost.authorize(actorFor(req, vhost.name), 'read', 'queue', queue.name)
  const offset = Math.max(0, intField(Object.fromEntries(req.query), 'offset', 0))
  const limit = Math.min(1000, Math.max(0, intField(Object.fromEntries(req.query), 'limit', 50)))
  const encoding = encodingOf(req, req.query.get('encoding') ?? undefined)
  const truncateParam = req.query.get('truncate')
  const truncate = truncateParam === null || truncateParam === '' ? undefined : intField({ truncate: truncateParam }, 'truncate', 0)
  // paged-out messages are read from the store (Queue.browse); nothing changes in the queue
  const messages = queue.browse(offset, limit).map((entry, i) => ({ position: offset + i, ...messageJson(entry, encoding, truncate) }))
  return { queue: queue.name, vhost: vhost.name, total: queue.messageCount, messages_unacknowledged: queue.unackedCount, offset, limit, messages }
}

export const messageRoutes: Route[] = [
  { method: 'POST', path: '/api/exchanges/:vhost/:exchange/publish', access: 'management', handler: publish },
  { method: 'POST', path: '/api/queues/:vhost/:queue/get', access: 'management', handler: get },
  { method: 'GET', path: '/api/queues/:vhost/:queue/messages', access: 'management', handler: browse },
]
