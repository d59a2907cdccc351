import type { BasicProperties } from '../protocol'

/**
 * A published message as the core holds it. The encoded properties travel with it so that deliveries forward the
 * client's content header as it was sent, without re-encoding (as RabbitMQ does).
 */
export interface Message {
  /** broker-wide, strictly increasing; orders messages within a queue, also across requeues */
  readonly id: number
  readonly exchange: string
  readonly routingKey: string
  readonly properties: BasicProperties
  readonly encodedProperties: Buffer
  readonly body: Buffer
  /** delivery-mode 2 */
  readonly persistent: boolean
}

/** A message's place in one queue. */
export interface QueueEntry {
  readonly message: Message
  redelivered: boolean
  /** set when the message is written to the store for this queue */
  stored: boolean
  /** when the message expires in this queue (ms since the epoch): x-message-ttl or expiration, set on enqueue */
  expiresAt?: number
  /** when it entered this queue, if not now (a recovered message: its TTL counts from then, as in RabbitMQ) */
  enqueuedAt?: number
}

export function isPersistent(properties: BasicProperties): boolean {
  return properties.deliveryMode === 2
}
