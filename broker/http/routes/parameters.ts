import { canSeeVhost, created, noContent, vhostOf, type ApiRequest } from '../context'
import { badRequest, objectNotFound } from '../errors'
import type { Route } from '../router'

/**
 * Runtime parameters (RabbitMQ's /api/parameters): only component `shovel` (dynamic shovels, broker/core/shovel/)
 * exists; setting another component is refused as RabbitMQ refuses a component whose plugin is not enabled. The core
 * validates and stores; this file parses and calls it.
 */

function visible(req: ApiRequest, component?: string) {
  return req.deps.core.shovels.parameters(component).filter((p) => canSeeVhost(req, p.vhost))
}

function getParameter(req: ApiRequest) {
  const vhost = vhostOf(req)
  const parameter = req.deps.core.shovels.parameter(vhost.name, req.params.component, req.params.name)
  if (!parameter) throw objectNotFound()
  return parameter
}

function putParameter(req: ApiRequest) {
  const vhost = vhostOf(req)
  if (req.body.value === undefined || req.body.value === null) throw badRequest('[{key_missing,value}]')
  const { created: isNew } = req.deps.core.shovels.setParameter(vhost.name, req.params.component, req.params.name, req.body.value, req.user.name)
  return isNew ? created() : noContent()
}

async function deleteParameter(req: ApiRequest) {
  const vhost = vhostOf(req)
  if (!(await req.deps.core.shovels.clear(vhost.name, req.params.name, req.params.component))) throw objectNotFound()
  return noContent()
}

export const parameterRoutes: Route[] = [
  { method: 'GET', path: '/api/parameters', access: 'policymaker', list: true, handler: (req) => visible(req) },
  { method: 'GET', path: '/api/parameters/:component', access: 'policymaker', list: true, handler: (req) => visible(req, req.params.component) },
  {
    method: 'GET',
    path: '/api/parameters/:component/:vhost',
    access: 'policymaker',
    list: true,
    handler: (req) => req.deps.core.shovels.parameters(req.params.component, vhostOf(req).name),
  },
  { method: 'GET', path: '/api/parameters/:component/:vhost/:name', access: 'policymaker', handler: getParameter },
  { method: 'PUT', path: '/api/parameters/:component/:vhost/:name', access: 'policymaker', handler: putParameter },
  { method: 'DELETE', path: '/api/parameters/:component/:vhost/:name', access: 'policymaker', handler: deleteParameter },
]
