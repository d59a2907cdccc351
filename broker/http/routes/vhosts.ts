import { canSeeVhost, created, noContent, stringField, type ApiRequest } from '../context'
import { badRequest, notAuthorised, objectNotFound } from '../errors'
import type { Route } from '../router'
import { vhostJson } from '../views'

function tagsFrom(value: unknown): string[] {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) return value.map(String).filter((tag) => tag !== '')
  return String(value)
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '')
}

function putVhost(req: ApiRequest) {
  const { core, vhostMeta } = req.deps
  const name = req.params.vhost
  const existed = core.vhosts.has(name)
  const previous = vhostMeta.get(name)
  const description = stringField(req.body, 'description', previous?.description ?? '')
  const tags = req.body.tags === undefined ? (previous?.tags ?? []) : tagsFrom(req.body.tags)
  const defaultQueueType = req.body.default_queue_type === undefined ? previous?.defaultQueueType : stringField(req.body, 'default_queue_type')
  if (defaultQueueType !== undefined && !['classic', 'undefined'].includes(defaultQueueType)) throw badRequest(`unsupported default queue type '${defaultQueueType}' (Warren has classic queues only)`)
  core.addVhost({ name, description, tags, ...(defaultQueueType ? { defaultQueueType } : {}) })
  vhostMeta.set(name, { description, tags, defaultQueueType })
  if (existed) return noContent()
  // RabbitMQ gives the user who creates a vhost over HTTP full permissions in it
  core.setPermission({ user: req.user.name, vhost: name, configure: '.*', write: '.*', read: '.*' })
  return created()
}

async function deleteVhost(req: ApiRequest) {
  const { core, vhostMeta } = req.deps
  const name = req.params.vhost
  const vhost = core.vhosts.get(name)
  if (!vhost) throw objectNotFound()
  // clients of the vhost are disconnected first, as RabbitMQ does
  const closing = [...req.deps.connections()].filter((connection) => connection.vhost === vhost).map((connection) => connection.forceClose(`vhost '${name}' is deleted`))
  await Promise.all(closing)
  core.deleteVhost(name)
  vhostMeta.delete(name)
  return noContent()
}

export const vhostRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/vhosts',
    access: 'management',
    list: true,
    handler: (req) => [...req.deps.core.vhosts.values()].filter((vhost) => canSeeVhost(req, vhost.name)).map((vhost) => vhostJson(req.deps, vhost)),
  },
  {
    method: 'GET',
    path: '/api/vhosts/:vhost',
    access: 'management',
    handler: (req) => {
      const vhost = req.deps.core.vhosts.get(req.params.vhost)
      if (!vhost) throw objectNotFound()
      if (!canSeeVhost(req, vhost.name)) throw notAuthorised('User not authorised to access virtual host')
      return vhostJson(req.deps, vhost)
    },
  },
  { method: 'PUT', path: '/api/vhosts/:vhost', access: 'administrator', handler: putVhost },
  { method: 'DELETE', path: '/api/vhosts/:vhost', access: 'administrator', handler: deleteVhost },
  {
    method: 'GET',
    path: '/api/vhosts/:vhost/permissions',
    access: 'administrator',
    list: true,
    handler: (req) => {
      if (!req.deps.core.vhosts.has(req.params.vhost)) throw objectNotFound()
      return permissionsWhere(req, (_user, vhost) => vhost === req.params.vhost)
    },
  },
]

/** Every permission as JSON, for the users and vhosts the filter keeps. */
export function permissionsWhere(req: ApiRequest, keep: (user: string, vhost: string) => boolean) {
  const { core } = req.deps
  const out: Record<string, unknown>[] = []
  for (const user of core.users.keys()) {
    for (const vhost of core.vhosts.keys()) {
      const permission = core.permission(user, vhost)
      if (!permission || !keep(user, vhost)) continue
      const { configure, write, read } = permission.source
      out.push({ user, vhost, configure, write, read })
    }
  }
  return out
}

export { tagsFrom }
