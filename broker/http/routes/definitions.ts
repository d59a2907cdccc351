import { compilePermission } from '../../core/users'
import type { Actor, Vhost } from '../../core/vhost'
import { SHA256_ALGORITHM, hashPassword } from '../../core/users'
import { noContent, vhostOf, type ApiRequest } from '../context'
import { badRequest, objectNotFound } from '../errors'
import { fieldTableFrom, jsonTable } from '../json'
import type { Route } from '../router'
import { bindingJson, userJson, vhostBindings } from '../views'
import { PRODUCT_VERSION, RABBITMQ_VERSION } from './overview'
import { permissionsWhere, tagsFrom } from './vhosts'
import { policiesOf, policyFromJson, supportsPolicies } from './policies'

const isExported = (name: string) => !name.startsWith('amq.') && name !== ''

function vhostDefinitions(vhost: Vhost) {
  const queues = [...vhost.queues.values()]
    .filter((queue) => !queue.exclusive)
    .map((queue) => ({ name: queue.name, vhost: vhost.name, durable: queue.durable, auto_delete: queue.autoDelete, arguments: jsonTable(queue.arguments) }))
  const exchanges = [...vhost.exchanges.values()]
    .filter((exchange) => isExported(exchange.name))
    .map((exchange) => ({ name: exchange.name, vhost: vhost.name, type: exchange.type, durable: exchange.durable, auto_delete: exchange.autoDelete, internal: exchange.internal, arguments: jsonTable(exchange.arguments) }))
  const bindings = vhostBindings(vhost)
    .filter((binding) => binding.destination.kind === 'exchange' || !binding.destination.queue.exclusive)
    .map((binding) => {
      const { properties_key: _key, ...json } = bindingJson(binding, vhost.name)
      return json
    })
  return { queues, exchanges, bindings, policies: policiesOf(vhost) }
}

/** GET /api/definitions: the format of `rabbitmqctl export_definitions`. */
function exportAll(req: ApiRequest) {
  const { core, vhostMeta } = req.deps
  const perVhost = [...core.vhosts.values()].map(vhostDefinitions)
  return {
    rabbit_version: RABBITMQ_VERSION,
    rabbitmq_version: RABBITMQ_VERSION,
    product_name: 'Warren',
    product_version: PRODUCT_VERSION,
    users: [...core.users.values()].map(userJson),
    vhosts: [...core.vhosts.keys()].map((name) => {
      const meta = vhostMeta.get(name)
      return { name, ...(meta?.description ? { description: meta.description } : {}), ...(meta?.tags.length ? { tags: meta.tags } : {}) }
    }),
    permissions: permissionsWhere(req, () => true),
    topic_permissions: [],
    parameters: core.shovels.parameters(),
    global_parameters: [],
    policies: perVhost.flatMap((d) => d.policies),
    queues: perVhost.flatMap((d) => d.queues),
    exchanges: perVhost.flatMap((d) => d.exchanges),
    bindings: perVhost.flatMap((d) => d.bindings),
  }
}

function exportVhost(req: ApiRequest) {
  const vhost = vhostOf(req)
  const { queues, exchanges, bindings, policies } = vhostDefinitions(vhost)
  const strip = (items: Record<string, unknown>[]) => items.map(({ vhost: _vhost, ...rest }) => rest)
  return { rabbit_version: RABBITMQ_VERSION, rabbitmq_version: RABBITMQ_VERSION, product_name: 'Warren', product_version: PRODUCT_VERSION, parameters: req.deps.core.shovels.parameters(undefined, vhost.name), policies: strip(policies), queues: strip(queues), exchanges: strip(exchanges), bindings: strip(bindings) }
}

type Item = Record<string, unknown>

function list(body: Record<string, unknown>, key: string): Item[] {
  const value = body[key]
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw badRequest(`${key} must be a list`)
  return value as Item[]
}

const str = (item: Item, key: string, fallback = '') => (item[key] === undefined || item[key] === null ? fallback : String(item[key]))
const bool = (item: Item, key: string, fallback: boolean) => (item[key] === undefined ? fallback : item[key] === true || item[key] === 'true')

/** Imports definitions through the same core calls as AMQP and the other endpoints, as the internal (all-powerful) user. */
function importDefinitions(req: ApiRequest, onlyVhost?: string) {
  const { core, vhostMeta } = req.deps
  const body = req.body
  if (onlyVhost === undefined) {
    for (const item of list(body, 'vhosts')) {
      const name = str(item, 'name')
      const description = str(item, 'description', str((item.metadata as Item | undefined) ?? {}, 'description'))
      const tags = tagsFrom(item.tags ?? (item.metadata as Item | undefined)?.tags)
      core.addVhost({ name, description, tags })
      vhostMeta.set(name, { description, tags })
    }
    for (const item of list(body, 'users')) {
      const name = str(item, 'name')
      const tags = tagsFrom(item.tags)
      if (item.password !== undefined) core.putUserRecord({ name, passwordHash: hashPassword(str(item, 'password')), hashingAlgorithm: SHA256_ALGORITHM, tags })
      else {
        const algorithm = str(item, 'hashing_algorithm', SHA256_ALGORITHM)
        if (algorithm !== SHA256_ALGORITHM) throw badRequest(`user '${name}': unsupported hashing algorithm '${algorithm}'`)
        core.putUserRecord({ name, passwordHash: str(item, 'password_hash'), hashingAlgorithm: algorithm, tags })
      }
    }
    for (const item of list(body, 'permissions')) {
      const user = str(item, 'user')
      const vhost = str(item, 'vhost')
      if (!core.users.has(user) || !core.vhosts.has(vhost)) throw badRequest(`permission for unknown user '${user}' or vhost '${vhost}'`)
      core.setPermission({ user, vhost, configure: str(item, 'configure'), write: str(item, 'write'), read: str(item, 'read') })
    }
  }
  const vhostFor = (item: Item): Vhost => {
    const name = onlyVhost ?? str(item, 'vhost')
    const vhost = core.vhosts.get(name)
    if (!vhost) throw badRequest(`vhost '${name}' does not exist`)
    return vhost
  }
  const internal = (vhost: Vhost): Actor => ({ user: req.user.name, permission: compilePermission({ user: req.user.name, vhost: vhost.name, configure: '.*', write: '.*', read: '.*' }) })
  const policies = list(body, 'policies')
  if (policies.length > 0 && !supportsPolicies(core)) throw badRequest('policies are not supported by this broker build')
  for (const item of policies) {
    const vhost = vhostFor(item)
    policyFromJson(vhost, str(item, 'name'), item)
  }
  for (const item of list(body, 'exchanges')) {
    const vhost = vhostFor(item)
    vhost.declareExchange(internal(vhost), { name: str(item, 'name'), type: str(item, 'type', 'direct'), durable: bool(item, 'durable', true), autoDelete: bool(item, 'auto_delete', false), internal: bool(item, 'internal', false), arguments: fieldTableFrom(item.arguments) })
  }
  for (const item of list(body, 'queues')) {
    const vhost = vhostFor(item)
    vhost.declareQueue(internal(vhost), { name: str(item, 'name'), durable: bool(item, 'durable', true), exclusive: false, autoDelete: bool(item, 'auto_delete', false), arguments: fieldTableFrom(item.arguments) })
  }
  for (const item of list(body, 'bindings')) {
    const vhost = vhostFor(item)
    const args = fieldTableFrom(item.arguments)
    if (str(item, 'destination_type', 'queue') === 'queue') vhost.bindQueue(internal(vhost), str(item, 'destination'), str(item, 'source'), str(item, 'routing_key'), args)
    else vhost.bindExchange(internal(vhost), str(item, 'destination'), str(item, 'source'), str(item, 'routing_key'), args)
  }
  // runtime parameters (dynamic shovels) last, so a shovel's first connection finds the imported queues declared
  for (const item of list(body, 'parameters')) {
    const vhost = vhostFor(item)
    core.shovels.setParameter(vhost.name, str(item, 'component'), str(item, 'name'), item.value, req.user.name)
  }
  return noContent()
}

export const definitionRoutes: Route[] = [
  { method: 'GET', path: '/api/definitions', access: 'administrator', handler: exportAll },
  { method: 'POST', path: '/api/definitions', access: 'administrator', handler: (req) => importDefinitions(req) },
  { method: 'GET', path: '/api/definitions/:vhost', access: 'administrator', handler: exportVhost },
  {
    method: 'POST',
    path: '/api/definitions/:vhost',
    access: 'administrator',
    handler: (req) => {
      if (!req.deps.core.vhosts.has(req.params.vhost)) throw objectNotFound()
      return importDefinitions(req, req.params.vhost)
    },
  },
]
