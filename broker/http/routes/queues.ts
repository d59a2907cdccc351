import type { Vhost } from '../../core/vhost'
import { actorFor, boolField, canSeeVhost, created, noContent, objectField, stringField, vhostOf, type ApiRequest } from '../context'
import { badRequest, objectNotFound } from '../errors'
import { fieldTableFrom } from '../json'
import type { Route } from '../router'
import { bindingJson, defaultBindingJson, queueJson } from '../views'

export function queueOf(req: ApiRequest, vhost: Vhost = vhostOf(req)) {
  const queue = vhost.queues.get(req.params.queue)
  if (!queue) throw objectNotFound()
  return queue
}

function putQueue(req: ApiRequest) {
  const vhost = vhostOf(req)
  const name = req.params.queue
  if (name === '') throw badRequest('queue name must not be empty')
  const existed = vhost.queues.has(name)
  const args = fieldTableFrom(objectField(req.body, 'arguments'))
  const type = req.body.type ?? args['x-queue-type']
  if (type !== undefined && type !== 'classic') throw badRequest(`unsupported queue type '${String(type)}' (Warren has classic queues only)`)
  // the same call an AMQP queue.declare makes; HTTP is never the owner of an exclusive queue
  vhost.declareQueue(actorFor(req, vhost.name), {
    name,
    durable: boolField(req.body, 'durable', false),
    exclusive: false,
    autoDelete: boolField(req.body, 'auto_delete', false),
    arguments: args,
  })
  if (req.body.node !== undefined) stringField(req.body, 'node')
  return existed ? noContent() : created()
}

function deleteQueue(req: ApiRequest) {
  const vhost = vhostOf(req)
  queueOf(req, vhost)
  vhost.deleteQueue(actorFor(req, vhost.name), req.params.queue, { ifUnused: req.query.get('if-unused') === 'true', ifEmpty: req.query.get('if-empty') === 'true' })
  return noContent()
}

function purgeQueue(req: ApiRequest) {
  const vhost = vhostOf(req)
  queueOf(req, vhost)
  vhost.purgeQueue(actorFor(req, vhost.name), req.params.queue)
  return noContent()
}

function queueBindings(req: ApiRequest) {
  const vhost = vhostOf(req)
  const queue = queueOf(req, vhost)
  return [defaultBindingJson(queue), ...[...queue.bindings].map((binding) => bindingJson(binding, vhost.name))]
}

export const queueRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/queues',
    access: 'management',
    list: true,
    handler: (req) =>
      [...req.deps.core.vhosts.values()]
        .filter((vhost) => canSeeVhost(req, vhost.name))
        .flatMap((vhost) => [...vhost.queues.values()].map((queue) => queueJson(req.deps, queue))),
  },
  { method: 'GET', path: '/api/queues/:vhost', access: 'management', list: true, handler: (req) => [...vhostOf(req).queues.values()].map((queue) => queueJson(req.deps, queue)) },
  { method: 'GET', path: '/api/queues/:vhost/:queue', access: 'management', handler: (req) => queueJson(req.deps, queueOf(req), true) },
  { method: 'PUT', path: '/api/queues/:vhost/:queue', access: 'management', handler: putQueue },
  { method: 'DELETE', path: '/api/queues/:vhost/:queue', access: 'management', handler: deleteQueue },
  { method: 'DELETE', path: '/api/queues/:vhost/:queue/contents', access: 'management', handler: purgeQueue },
  { method: 'GET', path: '/api/queues/:vhost/:queue/bindings', access: 'management', list: true, handler: queueBindings },
]
