import type { BrokerCore } from '../../core/broker'
import type { Vhost } from '../../core/vhost'
import { canSeeVhost, created, intField, noContent, objectField, stringField, vhostOf, type ApiRequest } from '../context'
import { notImplementedHttp, objectNotFound } from '../errors'
import type { Route } from '../router'

/**
 * What the API needs of the core's policies (Vhost.setPolicy/deletePolicy/listPolicies). Typed structurally and
 * looked up at run time, so this file does not depend on the policy code being present: without it, 501.
 */
interface PolicyRecord {
  name: string
  pattern: string
  applyTo: string
  priority: number
  definition: Record<string, unknown>
}
interface PolicyCapable {
  setPolicy(policy: PolicyRecord): unknown
  deletePolicy(name: string): boolean
  listPolicies(): PolicyRecord[]
}

function policyApi(vhost: Vhost): PolicyCapable | undefined {
  const candidate = vhost as unknown as Partial<PolicyCapable>
  return typeof candidate.setPolicy === 'function' && typeof candidate.listPolicies === 'function' && typeof candidate.deletePolicy === 'function' ? (candidate as PolicyCapable) : undefined
}

export function supportsPolicies(core: BrokerCore): boolean {
  const any = core.vhosts.values().next().value
  return any !== undefined && policyApi(any) !== undefined
}

function policiesIn(vhost: Vhost): PolicyCapable {
  const api = policyApi(vhost)
  if (!api) throw notImplementedHttp('policies are not implemented by this broker build')
  return api
}

/** A policy as RabbitMQ's API shows it. */
export function policiesOf(vhost: Vhost) {
  const api = policyApi(vhost)
  if (!api) return []
  return api.listPolicies().map((policy) => ({ vhost: vhost.name, name: policy.name, pattern: policy.pattern, 'apply-to': policy.applyTo, definition: policy.definition, priority: policy.priority }))
}

/** Sets a policy from its JSON form; the core validates it (406 → 400 with RabbitMQ's explanation). */
export function policyFromJson(vhost: Vhost, name: string, body: Record<string, unknown>): void {
  policiesIn(vhost).setPolicy({
    name,
    pattern: stringField(body, 'pattern'),
    applyTo: stringField(body, 'apply-to', 'all'),
    priority: intField(body, 'priority', 0),
    definition: objectField(body, 'definition'),
  })
}

function putPolicy(req: ApiRequest) {
  const vhost = vhostOf(req)
  const existed = policiesIn(vhost).listPolicies().some((policy) => policy.name === req.params.name)
  policyFromJson(vhost, req.params.name, req.body)
  return existed ? noContent() : created()
}

function getPolicy(req: ApiRequest) {
  const vhost = vhostOf(req)
  policiesIn(vhost)
  const policy = policiesOf(vhost).find((p) => p.name === req.params.name)
  if (!policy) throw objectNotFound()
  return policy
}

export const policyRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/policies',
    access: 'management',
    list: true,
    handler: (req) => {
      if (!supportsPolicies(req.deps.core)) policiesIn([...req.deps.core.vhosts.values()][0])
      return [...req.deps.core.vhosts.values()].filter((vhost) => canSeeVhost(req, vhost.name)).flatMap(policiesOf)
    },
  },
  {
    method: 'GET',
    path: '/api/policies/:vhost',
    access: 'management',
    list: true,
    handler: (req) => {
      const vhost = vhostOf(req)
      policiesIn(vhost)
      return policiesOf(vhost)
    },
  },
  { method: 'GET', path: '/api/policies/:vhost/:name', access: 'management', handler: getPolicy },
  { method: 'PUT', path: '/api/policies/:vhost/:name', access: 'policymaker', handler: putPolicy },
  {
    method: 'DELETE',
    path: '/api/policies/:vhost/:name',
    access: 'policymaker',
    handler: (req) => {
      if (!policiesIn(vhostOf(req)).deletePolicy(req.params.name)) throw objectNotFound()
      return noContent()
    },
  },
]
