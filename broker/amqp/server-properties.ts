import type { FieldTable } from '../protocol'

export const BROKER_VERSION = '0.1.0'

/**
 * connection.start server-properties, shaped like RabbitMQ's so clients that look for capabilities find them
 * (https://www.rabbitmq.com/docs/connections#capabilities).
 */
export function serverProperties(): FieldTable {
  return {
    product: 'Warren',
    version: BROKER_VERSION,
    platform: `Node.js ${process.version}`,
    copyright: 'Warren contributors',
    information: 'Embedded AMQP 0-9-1 broker of the Warren console',
    cluster_name: 'warren',
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: false,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: false,
    },
  }
}
