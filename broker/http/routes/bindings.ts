import type { Binding } from '../../core/binding'
import type { Vhost } from '../../core/vhost'
import { actorFor, canSeeVhost, created, noContent, objectField, stringField, vhostOf, type ApiRequest } from '../context'
import { objectNotFound } from '../errors'
import { fieldTableFrom } from '../json'
import type { Route } from '../router'
import { bindingJson, defaultBindingJson, propertiesKey, vhostBindings } from '../views'

type Kind = 'q' | 'e'

function allBindings(vhost: Vhost) {
  return [...[...vhost.queues.values()].map(defaultBindingJson), ...vhostBindings(vhost).map((binding) => bindingJson(binding, vhost.name))]
}

/** Both ends must exist (404 otherwise, as RabbitMQ). */
function ends(req: ApiRequest, kind: Kind) {
  const vhost = vhostOf(req)
  const source = req.params.source === 'amq.default' ? '' : req.params.source
  const destination = req.params.destination
  if (source !== '' && !vhost.exchanges.has(source)) throw objectNotFound()
  if (kind === 'q' ? !vhost.queues.has(destination) : !vhost.exchanges.has(destination)) throw objectNotFound()
  return { vhost, source, destination }
}

function between(req: ApiRequest, kind: Kind): { vhost: Vhost; bindings: Binding[] } {
  const { vhost, source, destination } = ends(req, kind)
  const wanted = kind === 'q' ? 'queue' : 'exchange'
  const exchange = vhost.exchanges.get(source)
  const bindings = exchange ? [...exchange.bindings.values()].filter((b) => b.destination.kind === wanted && (b.destination.kind === 'queue' ? b.destination.queue.name : b.destination.exchange.name) === destination) : []
  return { vhost, bindings }
}

function listBetween(req: ApiRequest, kind: Kind) {
  const { vhost, bindings } = between(req, kind)
  const out = bindings.map((binding) => bindingJson(binding, vhost.name))
  // the default exchange's implicit binding shows up between it and each queue
  if (kind === 'q' && (req.params.source === '' || req.params.source === 'amq.default')) out.unshift(defaultBindingJson(vhost.queues.get(req.params.destination)!))
  return out
}

function createBinding(req: ApiRequest, kind: Kind) {
  // missing ends are the core's 404s here ("no exchange 'x' in vhost '/'"), as RabbitMQ answers a POST
  const vhost = vhostOf(req)
  const source = req.params.source === 'amq.default' ? '' : req.params.source
  const destination = req.params.destination
  const routingKey = stringField(req.body, 'routing_key', '')
  const args = fieldTableFrom(objectField(req.body, 'arguments'))
  const actor = actorFor(req, vhost.name)
  // the same calls as AMQP queue.bind / exchange.bind
  if (kind === 'q') vhost.bindQueue(actor, destination, source, routingKey, args)
  else vhost.bindExchange(actor, destination, source, routingKey, args)
  const location = `${encodeURIComponent(destination)}/${encodeURIComponent(propertiesKey(routingKey, args))}`
  return created({ Location: location })
}

function findByProps(req: ApiRequest, kind: Kind) {
  const { vhost, bindings } = between(req, kind)
  const binding = bindings.find((b) => propertiesKey(b.routingKey, b.arguments) === req.params.props)
  if (!binding) throw objectNotFound()
  return { vhost, binding }
}

function deleteBinding(req: ApiRequest, kind: Kind) {
  const { vhost, binding } = findByProps(req, kind)
  const actor = actorFor(req, vhost.name)
  if (binding.destination.kind === 'queue') vhost.unbindQueue(actor, binding.destination.queue.name, binding.source.name, binding.routingKey, binding.arguments)
  else vhost.unbindExchange(actor, binding.destination.exchange.name, binding.source.name, binding.routingKey, binding.arguments)
  return noContent()
}

function routesFor(kind: Kind): Route[] {
  const base = `/api/bindings/:vhost/e/:source/${kind}/:destination`
  return [
    { method: 'GET', path: base, access: 'management', list: true, handler: (req) => listBetween(req, kind) },
    { method: 'POST', path: base, access: 'management', handler: (req) => createBinding(req, kind) },
    {
      method: 'GET',
      path: `${base}/:props`,
      access: 'management',
      handler: (req) => {
        const { vhost, binding } = findByProps(req, kind)
        return bindingJson(binding, vhost.name)
      },
    },
    { method: 'DELETE', path: `${base}/:props`, access: 'management', handler: (req) => deleteBinding(req, kind) },
  ]
}

export const bindingRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/bindings',
    access: 'management',
    list: true,
    handler: (req) => [...req.deps.core.vhosts.values()].filter((vhost) => canSeeVhost(req, vhost.name)).flatMap(allBindings),
  },
  { method: 'GET', path: '/api/bindings/:vhost', access: 'management', list: true, handler: (req) => allBindings(vhostOf(req)) },
  ...routesFor('q'),
  ...routesFor('e'),
]
