/**
 * Warren's own endpoints for the scheduled messages of an x-delayed-message exchange (the delayed-message engine in
 * broker/core/delayed). The engine is looked up at run time through Vhost.scheduled(name), typed structurally here,
 * so that without it these paths answer 501.
 */
import { decodeBasicProperties, type BasicProperties } from '../../protocol'
import type { Vhost } from '../../core/vhost'
import { actorFor, intField, noContent, vhostOf, type ApiRequest } from '../context'
import { badRequest, notImplementedHttp, objectNotFound } from '../errors'
import { payloadJson, propertiesJson } from '../json'
import type { Route } from '../router'
import { exchangeParam } from './exchanges'

interface Summary {
  id: number
  dueAt: number
  routingKey: string
  properties: BasicProperties
  bodySize: number
}
interface UnroutedItem {
  id: number
  exchange: string
  routingKey: string
  properties: Buffer
  body: Buffer
  dueAt: number
  at: number
  reason: string
  detail?: string
}
interface ScheduledApi {
  list(options: { after?: { dueAt: number; id: number }; limit?: number; offset?: number; reverse?: boolean }): { items: Summary[]; next?: { dueAt: number; id: number }; total: number }
  timeline?(options: { slots?: number; from?: number; to?: number }): { from: number; to: number; slotMs: number; counts: number[]; total: number }
  unrouted?(): UnroutedItem[]
  clearUnrouted?(): number
  get(id: number): (Summary & { body: Buffer }) | undefined
  cancel(id: number): boolean
  reschedule(id: number, dueAt: number): boolean
  deliverNow(id: number): boolean
  purge(): number
}

function scheduledOf(req: ApiRequest, access: 'read' | 'configure'): ScheduledApi {
  const vhost = vhostOf(req)
  const open = (vhost as unknown as { scheduled?: (name: string) => ScheduledApi }).scheduled
  if (typeof open !== 'function') throw notImplementedHttp('delayed messages (x-delayed-message) are not implemented by this broker build')
  const name = exchangeParam(req)
  if (!vhost.exchanges.has(name)) throw objectNotFound()
  ;(vhost as Vhost).authorize(actorFor(req, vhost.name), access, 'exchange', name)
  return open.call(vhost, name)
}

function summaryJson(item: Summary, now: number) {
  return { id: item.id, due_at: new Date(item.dueAt).toISOString(), due_at_ms: item.dueAt, delay_remaining_ms: Math.max(0, item.dueAt - now), routing_key: item.routingKey, properties: propertiesJson(item.properties), payload_bytes: item.bodySize }
}

function idOf(req: ApiRequest): number {
  const id = Number(req.params.id)
  if (!Number.isSafeInteger(id) || id <= 0) throw objectNotFound()
  return id
}

function list(req: ApiRequest) {
  const api = scheduledOf(req, 'read')
  const query = Object.fromEntries(req.query)
  const limit = intField(query, 'limit', 100)
  const afterDue = req.query.get('after_due')
  const after = afterDue === null ? undefined : { dueAt: intField(query, 'after_due', 0), id: intField(query, 'after_id', 0) }
  const offset = intField(query, 'offset', 0)
  if (offset < 0) throw badRequest('offset must not be negative')
  const reverse = req.query.get('sort_reverse') === 'true'
  const page = api.list({ after, limit, offset, reverse })
  const now = Date.now()
  return { total: page.total, items: page.items.map((item) => summaryJson(item, now)), ...(page.next ? { next: { after_due: page.next.dueAt, after_id: page.next.id } } : {}) }
}

function getOne(req: ApiRequest) {
  const message = scheduledOf(req, 'read').get(idOf(req))
  if (!message) throw objectNotFound()
  const encoding = req.query.get('encoding') === 'base64' ? 'base64' : 'auto'
  return { ...summaryJson(message, Date.now()), ...payloadJson(message.body, encoding) }
}

function reschedule(req: ApiRequest) {
  const api = scheduledOf(req, 'configure')
  let dueAt: number
  if (req.body.due_at !== undefined) {
    dueAt = typeof req.body.due_at === 'number' ? req.body.due_at : Date.parse(String(req.body.due_at))
    if (!Number.isFinite(dueAt)) throw badRequest('due_at must be a time (ms since the epoch or an ISO 8601 string)')
  } else if (req.body.delay !== undefined) dueAt = Date.now() + intField(req.body, 'delay', 0)
  else throw badRequest('give due_at (ms since the epoch or ISO 8601) or delay (ms from now)')
  if (!api.reschedule(idOf(req), dueAt)) throw objectNotFound()
  return noContent()
}

function timeline(req: ApiRequest) {
  const api = scheduledOf(req, 'read')
  if (!api.timeline) throw notImplementedHttp('the scheduled timeline is not implemented by this broker build')
  const query = Object.fromEntries(req.query)
  const from = req.query.get('from')
  const to = req.query.get('to')
  const t = api.timeline({ slots: intField(query, 'slots', 60), from: from === null ? undefined : intField(query, 'from', 0), to: to === null ? undefined : intField(query, 'to', 0) })
  return { from: t.from, to: t.to, slot_ms: t.slotMs, counts: t.counts, total: t.total }
}

function unrouted(req: ApiRequest) {
  const api = scheduledOf(req, 'read')
  if (!api.unrouted) throw notImplementedHttp('unrouted scheduled messages are not recorded by this broker build')
  const encoding = req.query.get('encoding') === 'base64' ? 'base64' : 'auto'
  return api.unrouted().map((r) => ({
    id: r.id,
    exchange: r.exchange,
    routing_key: r.routingKey,
    due_at: new Date(r.dueAt).toISOString(),
    due_at_ms: r.dueAt,
    unrouted_at: new Date(r.at).toISOString(),
    unrouted_at_ms: r.at,
    reason: r.reason,
    ...(r.detail ? { detail: r.detail } : {}),
    properties: propertiesJson(decodeBasicProperties(r.properties)),
    payload_bytes: r.body.length,
    ...payloadJson(r.body, encoding),
  }))
}

const base = '/api/exchanges/:vhost/:exchange/scheduled'

export const scheduledRoutes: Route[] = [
  { method: 'GET', path: base, access: 'management', handler: list },
  {
    method: 'DELETE',
    path: base,
    access: 'management',
    handler: (req) => {
      scheduledOf(req, 'configure').purge()
      return noContent()
    },
  },
  { method: 'GET', path: `${base}/:id`, access: 'management', handler: getOne },
  {
    method: 'DELETE',
    path: `${base}/:id`,
    access: 'management',
    handler: (req) => {
      if (!scheduledOf(req, 'configure').cancel(idOf(req))) throw objectNotFound()
      return noContent()
    },
  },
  {
    method: 'POST',
    path: `${base}/:id/deliver`,
    access: 'management',
    handler: (req) => {
      if (!scheduledOf(req, 'configure').deliverNow(idOf(req))) throw objectNotFound()
      return noContent()
    },
  },
  { method: 'POST', path: `${base}/:id/reschedule`, access: 'management', handler: reschedule },
  { method: 'GET', path: `${base}-timeline`, access: 'management', handler: timeline },
  { method: 'GET', path: `${base}-unrouted`, access: 'management', handler: unrouted },
  {
    method: 'DELETE',
    path: `${base}-unrouted`,
    access: 'management',
    handler: (req) => {
      const api = scheduledOf(req, 'configure')
      if (!api.clearUnrouted) throw notImplementedHttp('unrouted scheduled messages are not recorded by this broker build')
      api.clearUnrouted()
      return noContent()
    },
  },
]
