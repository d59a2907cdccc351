import { SHA256_ALGORITHM, hashPassword } from '../../core/users'
import { created, noContent, stringField, type ApiRequest } from '../context'
import { badRequest, objectNotFound } from '../errors'
import type { Route } from '../router'
import { userJson } from '../views'
import { permissionsWhere, tagsFrom } from './vhosts'

function putUser(req: ApiRequest) {
  const { core } = req.deps
  const name = req.params.user
  const existing = core.users.get(name)
  if (req.body.tags === undefined) throw badRequest('tags_not_present')
  const tags = tagsFrom(req.body.tags)
  let passwordHash = existing?.passwordHash ?? ''
  let hashingAlgorithm = existing?.hashingAlgorithm ?? SHA256_ALGORITHM
  if (req.body.password !== undefined) {
    passwordHash = hashPassword(stringField(req.body, 'password'))
    hashingAlgorithm = SHA256_ALGORITHM
  } else if (req.body.password_hash !== undefined) {
    passwordHash = stringField(req.body, 'password_hash')
    hashingAlgorithm = stringField(req.body, 'hashing_algorithm', SHA256_ALGORITHM)
    if (hashingAlgorithm !== SHA256_ALGORITHM) throw badRequest(`unsupported hashing algorithm '${hashingAlgorithm}' (Warren supports ${SHA256_ALGORITHM})`)
  }
  core.putUserRecord({ name, passwordHash, hashingAlgorithm, tags })
  return existing ? noContent() : created()
}

function permissionOf(req: ApiRequest) {
  const { core } = req.deps
  const { vhost, user } = req.params
  const permission = core.vhosts.has(vhost) && core.users.has(user) ? core.permission(user, vhost) : undefined
  if (!permission) throw objectNotFound()
  const { configure, write, read } = permission.source
  return { user, vhost, configure, write, read }
}

function putPermission(req: ApiRequest) {
  const { core } = req.deps
  const { vhost, user } = req.params
  if (!core.vhosts.has(vhost)) throw badRequest('vhost_not_found')
  if (!core.users.has(user)) throw badRequest('user_not_found')
  const existed = core.permission(user, vhost) !== undefined
  const record = { user, vhost, configure: stringField(req.body, 'configure'), write: stringField(req.body, 'write'), read: stringField(req.body, 'read') }
  for (const key of ['configure', 'write', 'read'] as const) {
    try {
      new RegExp(record[key])
    } catch {
      throw badRequest(`invalid regular expression '${record[key]}' for ${key}`)
    }
  }
  core.setPermission(record)
  return existed ? noContent() : created()
}

export const userRoutes: Route[] = [
  { method: 'GET', path: '/api/users', access: 'administrator', list: true, handler: (req) => [...req.deps.core.users.values()].map(userJson) },
  {
    method: 'GET',
    path: '/api/users/without-permissions',
    access: 'administrator',
    list: true,
    handler: (req) => [...req.deps.core.users.values()].filter((user) => permissionsWhere(req, (name) => name === user.name).length === 0).map(userJson),
  },
  {
    method: 'GET',
    path: '/api/users/:user',
    access: 'administrator',
    handler: (req) => {
      const user = req.deps.core.users.get(req.params.user)
      if (!user) throw objectNotFound()
      return userJson(user)
    },
  },
  { method: 'PUT', path: '/api/users/:user', access: 'administrator', handler: putUser },
  {
    method: 'DELETE',
    path: '/api/users/:user',
    access: 'administrator',
    handler: (req) => {
      if (!req.deps.core.deleteUser(req.params.user)) throw objectNotFound()
      return noContent()
    },
  },
  {
    method: 'GET',
    path: '/api/users/:user/permissions',
    access: 'administrator',
    list: true,
    handler: (req) => {
      if (!req.deps.core.users.has(req.params.user)) throw objectNotFound()
      return permissionsWhere(req, (user) => user === req.params.user)
    },
  },
  { method: 'GET', path: '/api/permissions', access: 'administrator', list: true, handler: (req) => permissionsWhere(req, () => true) },
  { method: 'GET', path: '/api/permissions/:vhost/:user', access: 'administrator', handler: permissionOf },
  { method: 'PUT', path: '/api/permissions/:vhost/:user', access: 'administrator', handler: putPermission },
  {
    method: 'DELETE',
    path: '/api/permissions/:vhost/:user',
    access: 'administrator',
    handler: (req) => {
      permissionOf(req)
      req.deps.core.clearPermission(req.params.user, req.params.vhost)
      return noContent()
    },
  },
]
