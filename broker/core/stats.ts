/**
 * Message counters as RabbitMQ's management API reports them (message_stats). The hot path only increments plain
 * integer fields; rates are computed elsewhere (broker/http/sampler.ts) by sampling the totals every few seconds.
 *
 * One class for every kind of object (queue, exchange, vhost, channel) keeps the increments monomorphic; each kind
 * reports only the fields RabbitMQ shows for it.
 */
export class MessageStats {
  /** messages published (channel, vhost), or entering a queue */
  publish = 0
  /** exchange: messages published to it / routed onward by it */
  publishIn = 0
  publishOut = 0
  confirm = 0
  returnUnroutable = 0
  dropUnroutable = 0
  /** consumer deliveries, with and without manual ack */
  deliver = 0
  deliverNoAck = 0
  /** basic.get, with and without manual ack, and basic.get on an empty queue */
  get = 0
  getNoAck = 0
  getEmpty = 0
  redeliver = 0
  ack = 0

  /** Adds another object's totals (a deleted queue's counts stay in its vhost's totals). */
  addFrom(other: MessageStats): void {
    this.publish += other.publish
    this.publishIn += other.publishIn
    this.publishOut += other.publishOut
    this.confirm += other.confirm
    this.returnUnroutable += other.returnUnroutable
    this.dropUnroutable += other.dropUnroutable
    this.deliver += other.deliver
    this.deliverNoAck += other.deliverNoAck
    this.get += other.get
    this.getNoAck += other.getNoAck
    this.getEmpty += other.getEmpty
    this.redeliver += other.redeliver
    this.ack += other.ack
  }
}
