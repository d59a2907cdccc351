import { actorFor, boolField, canSeeVhost, created, noContent, objectField, stringField, vhostOf, type ApiRequest } from '../context'
import { objectNotFound } from '../errors'
import { fieldTableFrom } from '../json'
import type { Route } from '../router'
import { bindingJson, defaultExchangeJson, exchangeJson } from '../views'
import type { Vhost } from '../../core/vhost'

/** "amq.default" is how the API names the default exchange (whose real name is ''). */
export const exchangeParam = (req: ApiRequest) => (req.params.exchange === 'amq.default' ? '' : req.params.exchange)

function exchangesOf(req: ApiRequest, vhost: Vhost) {
  return [defaultExchangeJson(req.deps, vhost), ...[...vhost.exchanges.values()].map((exchange) => exchangeJson(req.deps, exchange))]
}

function getExchange(req: ApiRequest) {
  const vhost = vhostOf(req)
  const name = exchangeParam(req)
  if (name === '') return defaultExchangeJson(req.deps, vhost, true)
  const exchange = vhost.exchanges.get(name)
  if (!exchange) throw objectNotFound()
  return exchangeJson(req.deps, exchange, true)
}

function putExchange(req: ApiRequest) {
  const vhost = vhostOf(req)
  const name = exchangeParam(req)
  const existed = vhost.exchanges.has(name)
  // the same call an AMQP exchange.declare makes: validation, permissions and equivalence are the core's
  vhost.declareExchange(actorFor(req, vhost.name), {
    name,
    type: stringField(req.body, 'type', 'direct'),
    durable: boolField(req.body, 'durable', false),
    autoDelete: boolField(req.body, 'auto_delete', false),
    internal: boolField(req.body, 'internal', false),
    arguments: fieldTableFrom(objectField(req.body, 'arguments')),
  })
  return existed ? noContent() : created()
}

function deleteExchange(req: ApiRequest) {
  const vhost = vhostOf(req)
  const name = exchangeParam(req)
  if (name !== '' && !vhost.exchanges.has(name)) throw objectNotFound()
  vhost.deleteExchange(actorFor(req, vhost.name), name, req.query.get('if-unused') === 'true')
  return noContent()
}

function exchangeBindings(req: ApiRequest, side: 'source' | 'destination') {
  const vhost = vhostOf(req)
  const name = exchangeParam(req)
  if (name === '') {
    if (side === 'destination') return []
    return [...vhost.queues.values()].map((queue) => ({ source: '', vhost: vhost.name, destination: queue.name, destination_type: 'queue', routing_key: queue.name, arguments: {}, properties_key: queue.name }))
  }
  const exchange = vhost.exchanges.get(name)
  if (!exchange) throw objectNotFound()
  const bindings = side === 'source' ? [...exchange.bindings.values()] : [...exchange.incoming]
  return bindings.map((binding) => bindingJson(binding, vhost.name))
}

export const exchangeRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/exchanges',
    access: 'management',
    list: true,
    handler: (req) => [...req.deps.core.vhosts.values()].filter((vhost) => canSeeVhost(req, vhost.name)).flatMap((vhost) => exchangesOf(req, vhost)),
  },
  { method: 'GET', path: '/api/exchanges/:vhost', access: 'management', list: true, handler: (req) => exchangesOf(req, vhostOf(req)) },
  { method: 'GET', path: '/api/exchanges/:vhost/:exchange', access: 'management', handler: getExchange },
  { method: 'PUT', path: '/api/exchanges/:vhost/:exchange', access: 'management', handler: putExchange },
  { method: 'DELETE', path: '/api/exchanges/:vhost/:exchange', access: 'management', handler: deleteExchange },
  { method: 'GET', path: '/api/exchanges/:vhost/:exchange/bindings/source', access: 'management', list: true, handler: (req) => exchangeBindings(req, 'source') },
  { method: 'GET', path: '/api/exchanges/:vhost/:exchange/bindings/destination', access: 'management', list: true, handler: (req) => exchangeBindings(req, 'destination') },
]
