import { encodeBasicProperties } from '../../protocol'
import { actorFor, Reply, vhostOf, type ApiRequest } from '../context'
import type { Route } from '../router'

const ALIVENESS_QUEUE = 'aliveness-test'

/**
 * RabbitMQ's aliveness test: declares the queue "aliveness-test" in the vhost, publishes a message to it through
 * the default exchange and gets it back, with the user's own permissions.
 */
function aliveness(req: ApiRequest) {
  const vhost = vhostOf(req)
  const actor = actorFor(req, vhost.name)
  const queue = vhost.declareQueue(actor, { name: ALIVENESS_QUEUE, durable: false, exclusive: false, autoDelete: false, arguments: {} })
  const exchange = vhost.exchangeForPublish(actor, '')
  const properties = {}
  vhost.publish(exchange, { exchange: '', routingKey: ALIVENESS_QUEUE, properties, encodedProperties: encodeBasicProperties(properties), body: Buffer.from('test_message') })
  vhost.authorize(actor, 'read', 'queue', ALIVENESS_QUEUE)
  const entry = queue.take(true)
  if (!entry) return { status: 'failed', reason: 'the test message did not come back' }
  return { status: 'ok' }
}

export const healthRoutes: Route[] = [
  { method: 'GET', path: '/api/aliveness-test/:vhost', access: 'management', handler: aliveness },
  { method: 'GET', path: '/api/health/checks/alarms', access: 'monitoring', handler: (req) => (req.deps.core.memory.alarm ? new Reply(503, { status: 'failed', reason: 'resource alarm(s) in effect in the cluster' }) : { status: 'ok' }) },
  { method: 'GET', path: '/api/health/checks/virtual-hosts', access: 'monitoring', handler: () => ({ status: 'ok' }) },
]
