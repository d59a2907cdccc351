import type { AmqpConnection } from '../amqp/connection'
import type { BrokerCore } from '../core/broker'
import type { Vhost, Actor } from '../core/vhost'
import type { UserRecord } from '../store/store'
import { badRequest, notAuthorised, objectNotFound, vhostNotFound } from './errors'
import type { RateSampler } from './sampler'

/** What the HTTP API needs from the running broker. */
export interface ApiDeps {
  core: BrokerCore
  /** live AMQP connections */
  connections(): Iterable<AmqpConnection>
  sampler: RateSampler
  /** the node's name in responses (RabbitMQ's node field) */
  node: string
  startedAt: number
  listeners: { protocol: string; port: number; ip_address: string }[]
  /** vhost descriptions and tags (the core keeps only names; the store has the rest) */
  vhostMeta: Map<string, { description: string; tags: string[]; defaultQueueType?: string }>
}

export interface ApiRequest {
  readonly deps: ApiDeps
  readonly method: string
  readonly user: UserRecord
  readonly params: Record<string, string>
  readonly query: URLSearchParams
  readonly headers: import('node:http').IncomingHttpHeaders
  /** the parsed JSON body ({} when there is none) */
  readonly body: Record<string, unknown>
}

/** A handler's answer when it is not a plain 200 JSON value. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export const created = (headers: Record<string, string> = {}) => new Reply(201, undefined, headers)
export const noContent = () => new Reply(204)

export const hasTag = (user: UserRecord, tag: string) => user.tags.includes(tag)
export const isAdministrator = (user: UserRecord) => hasTag(user, 'administrator')
/** administrators and monitoring users see every vhost's objects (RabbitMQ) */
export const seesEverything = (user: UserRecord) => isAdministrator(user) || hasTag(user, 'monitoring')

/** Whether the user may see a vhost's objects: a permission there, or a tag that sees every vhost. */
export function canSeeVhost(req: ApiRequest, vhost: string): boolean {
  return seesEverything(req.user) || req.deps.core.permission(req.user.name, vhost) !== undefined
}

/**
 * The vhost named by the :vhost parameter, after RabbitMQ's checks: it exists (404), and the user may use it
 * (401 "User not authorised to access virtual host"). Administrators may look at any vhost; changes go through the
 * core, which checks the user's permissions there.
 */
export function vhostOf(req: ApiRequest, param = 'vhost'): Vhost {
  const name = req.params[param]
  const vhost = req.deps.core.vhosts.get(name)
  if (!vhost) throw req.method === 'PUT' || req.method === 'POST' ? vhostNotFound() : objectNotFound()
  const permitted = req.deps.core.permission(req.user.name, name) !== undefined
  const looking = req.method === 'GET' && seesEverything(req.user)
  if (!permitted && !looking && !isAdministrator(req.user)) throw notAuthorised('User not authorised to access virtual host')
  return vhost
}

/** The user as the core's Actor in a vhost: the same permission checks an AMQP channel gets. */
export function actorFor(req: ApiRequest, vhost: string): Actor {
  return { user: req.user.name, permission: req.deps.core.permission(req.user.name, vhost) }
}

// --- body fields (rabbitmqadmin sends booleans and numbers as strings: "true", "1") ----------------------------

export function boolField(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = body[key]
  if (value === undefined || value === null) return fallback
  if (typeof value === 'boolean') return value
  if (value === 'true') return true
  if (value === 'false') return false
  throw badRequest(`${key} must be a boolean, got ${JSON.stringify(value)}`)
}

export function stringField(body: Record<string, unknown>, key: string, fallback?: string): string {
  const value = body[key]
  if (value === undefined || value === null) {
    if (fallback === undefined) throw badRequest(`[{key_missing,${key}}]`)
    return fallback
  }
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw badRequest(`${key} must be a string`)
}

export function intField(body: Record<string, unknown>, key: string, fallback: number): number {
  const value = body[key]
  if (value === undefined || value === null || value === '') return fallback
  const number = typeof value === 'number' ? value : Number(value)
  if (!Number.isInteger(number)) throw badRequest(`${key} must be an integer, got ${JSON.stringify(value)}`)
  return number
}

export function objectField(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = body[key]
  if (value === undefined || value === null) return {}
  // Erlang's JSON encoder writes an empty proplist as [], and clients send it back that way
  if (Array.isArray(value) && value.length === 0) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${key} must be a JSON object`)
  return value as Record<string, unknown>
}
