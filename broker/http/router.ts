import type { ApiRequest, Reply } from './context'
import { badRequest } from './errors'

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE'

/**
 * Who may call a route, by user tag (RabbitMQ's rabbit_mgmt_util:is_authorized_* checks):
 * management: any of management/policymaker/monitoring/administrator; monitoring: monitoring or administrator; ...
 */
export type Access = 'management' | 'policymaker' | 'monitoring' | 'administrator'

export interface Route {
  method: Method
  /** '/api/queues/:vhost/:name'; a ':name' matches one URL-encoded segment, decoded */
  path: string
  access: Access
  /** a list endpoint: ?columns=, ?sort=, ?sort_reverse=, ?page= apply to its result */
  list?: boolean
  handler: (req: ApiRequest) => Reply | unknown | Promise<Reply | unknown>
}

interface CompiledRoute extends Route {
  segments: string[]
}

export interface RouteMatch {
  route: Route
  params: Record<string, string>
}

/** A table of routes, matched segment by segment (no regexes, no framework). */
export class Router {
  private readonly routes: CompiledRoute[] = []

  add(routes: readonly Route[]): this {
    for (const route of routes) this.routes.push({ ...route, segments: route.path.split('/').slice(1) })
    return this
  }

  /** The route for a method and a raw (still URL-encoded) path; `methods` lists the allowed ones when only the method is wrong. */
  match(method: string, rawPath: string): { found?: RouteMatch; methods: string[] } {
    const raw = rawPath.split('/').slice(1)
    if (raw.length > 1 && raw[raw.length - 1] === '') raw.pop()
    let segments: string[]
    try {
      segments = raw.map((segment) => decodeURIComponent(segment))
    } catch {
      return { methods: [] }
    }
    const methods: string[] = []
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments)
      if (!params) continue
      if (route.method === method) return { found: { route, params }, methods }
      methods.push(route.method)
    }
    return { methods }
  }
}

/**
 * Path parameters that name AMQP things and travel in AMQP shortstr fields (connection.open, basic.deliver...): a
 * longer name could be created over HTTP but never used over AMQP, and a message published to such an exchange made
 * the delivery to an AMQP consumer throw (found by test/soak/fuzz-http). They get a 400 instead.
 */
const SHORTSTR_PARAMS = new Set(['vhost', 'exchange', 'queue', 'source', 'destination'])

function matchSegments(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]
    if (expected.startsWith(':')) params[expected.slice(1)] = segments[i]
    else if (expected !== segments[i]) return undefined
  }
  for (const [name, value] of Object.entries(params)) {
    if (SHORTSTR_PARAMS.has(name) && Buffer.byteLength(value) > 255) throw badRequest(`${name} name is longer than 255 bytes`)
  }
  return params
}
