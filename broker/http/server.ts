/**
 * The management HTTP API of the embedded broker, shaped like RabbitMQ's (rabbitmq_management 3.10): the same paths,
 * JSON field names, status codes and error bodies, HTTP basic auth with the broker's users and their tags. Routes
 * are a table (routes/*.ts); state changes go through the same core calls as the AMQP channel.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, Server as HttpsServerClass } from 'node:https'
import type { SecureContextOptions } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { AmqpConnection, Logger } from '../amqp/connection'
import type { BrokerCore } from '../core/broker'
import type { UserRecord } from '../store/store'
import { hasTag, Reply, type ApiDeps, type ApiRequest } from './context'
import { crossSiteCheck, isLoopbackAddress } from './csrf'
import { HttpError, notAuthorised, toHttpError, badRequest } from './errors'
import { applyListQuery } from './list-query'
import { allRoutes } from './routes'
import { Router, type Access } from './router'
import { RateSampler } from './sampler'
import { sampledValues } from './stats-view'
import { connectionValues, vhostOctets } from './views'

/** Something else served from the same port (the web console): returns true when it answered the request. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>

export interface ManagementApiOptions {
  core: BrokerCore
  connections(): Iterable<AmqpConnection>
  /** tried, in order, for requests no API route matches, before the 404 */
  handlers?: HttpHandler[]
  /** how often rates are sampled; default 5000 ms (RabbitMQ's collect_statistics_interval) */
  statsIntervalMs?: number
  amqpListener?: { port: number; host: string }
  logger?: Logger
  /** serve HTTPS with these certificate files' contents (key, cert, optional ca) instead of plain HTTP */
  tls?: SecureContextOptions
  /** host names (besides localhost and IP literals) a loopback-only API answers to; see csrf.ts */
  allowedHosts?: string[]
}

/** Request bodies above this are refused with 413 (definitions and published payloads fit well below it). */
const MAX_BODY_BYTES = 64 * 1024 * 1024

const TAG_RULES: Record<Access, { tags: string[]; reason: string }> = {
  management: { tags: ['management', 'policymaker', 'monitoring', 'administrator'], reason: 'Not management user' },
  // RabbitMQ 3.10's is_authorized_policies words it so (checked against a real node: test/integration/security-permissions.test.ts)
  policymaker: { tags: ['policymaker', 'administrator'], reason: 'User not authorised to access object' },
  monitoring: { tags: ['monitoring', 'administrator'], reason: 'Not monitor user' },
  administrator: { tags: ['administrator'], reason: 'Not administrator user' },
}

export class ManagementApi {
  private readonly server: Server
  private readonly router = new Router().add(allRoutes)
  private readonly deps: ApiDeps
  private readonly handlers: HttpHandler[]
  private readonly logger: Logger | undefined
  private readonly allowedHosts: string[]
  /** set by listen(): whether the API is reachable from this machine only (then the Host header is checked too) */
  private loopbackOnly = true

  constructor(options: ManagementApiOptions) {
    const { core } = options
    this.handlers = options.handlers ?? []
    this.logger = options.logger
    this.allowedHosts = options.allowedHosts ?? []
    const sampler = new RateSampler(
      () =>
        sampledValues(
          core,
          [...options.connections()].flatMap((connection) => [...connection.channels.values()]),
          [...options.connections()].map((connection) => ({ key: connection, values: connectionValues(connection) })),
          (vhost) => vhostOctets(options, vhost),
        ),
      options.statsIntervalMs ?? 5_000,
    )
    this.deps = {
      core,
      connections: options.connections,
      sampler,
      node: `warren@${hostname()}`,
      startedAt: Date.now(),
      listeners: options.amqpListener ? [{ protocol: 'amqp', port: options.amqpListener.port, ip_address: options.amqpListener.host }] : [],
      vhostMeta: loadVhostMeta(core),
    }
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error))
    }
    this.server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener)
  }

  get sampler(): RateSampler {
    return this.deps.sampler
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve(this.server.address() as AddressInfo)
      })
    })
    this.loopbackOnly = isLoopbackAddress(address.address)
    this.deps.listeners.push({ protocol: this.server instanceof HttpsServerClass ? 'https' : 'http', port: address.port, ip_address: address.address })
    this.deps.sampler.start()
    return address
  }

  close(): Promise<void> {
    this.deps.sampler.stop()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      // before authentication and before any change: a foreign page never gets an answer (see csrf.ts)
      const { refused } = crossSiteCheck(req.headers, { loopbackOnly: this.loopbackOnly, allowedHosts: this.allowedHosts })
      if (refused) {
        this.logger?.warn(`HTTP access denied: ${method} ${url.pathname} from ${req.socket.remoteAddress}: ${refused}`)
        throw new HttpError(403, 'forbidden', refused)
      }
    }
    const { found, methods } = this.router.match(method === 'HEAD' ? 'GET' : method, url.pathname)
    if (!found) {
      for (const handler of this.handlers) if (await handler(req, res)) return
      if (methods.length > 0) return this.send(res, 405, undefined, { Allow: [...new Set(methods)].join(', ') })
      throw new HttpError(404, 'Object Not Found', 'Not Found')
    }
    const user = this.authenticate(req)
    const rule = TAG_RULES[found.route.access]
    if (!rule.tags.some((tag) => hasTag(user, tag))) throw notAuthorised(rule.reason)
    const body = method === 'PUT' || method === 'POST' ? await readJson(req) : {}
    const request: ApiRequest = { deps: this.deps, method, user, params: found.params, query: url.searchParams, headers: req.headers, body }
    const result = await found.route.handler(request)
    if (result instanceof Reply) return this.send(res, result.status, result.body, result.headers)
    this.send(res, 200, found.route.list && Array.isArray(result) ? applyListQuery(result, url.searchParams) : result)
  }

  /** HTTP basic auth against the broker's users; guest only from loopback (RabbitMQ's loopback_users default). */
  private authenticate(req: IncomingMessage): UserRecord {
    const header = req.headers.authorization
    const challenge = { 'WWW-Authenticate': 'Basic realm="RabbitMQ Management"' }
    const loginFailed = new HttpError(401, 'not_authorized', 'Login failed', challenge)
    if (!header || !header.startsWith('Basic ')) throw loginFailed
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw loginFailed
    const name = decoded.slice(0, colon)
    const user = this.deps.core.authenticate(name, decoded.slice(colon + 1))
    // RabbitMQ's log line, with the peer; never the password (nor the Authorization header, which encodes it)
    const peer = req.socket.remoteAddress
    if (!user) {
      this.logger?.warn(`HTTP access denied: user '${printable(name)}' - invalid credentials (peer ${peer}, basic auth)`)
      throw loginFailed
    }
    if (user.name === 'guest' && !isLoopbackAddress(peer)) {
      this.logger?.warn(`HTTP access denied: user '${user.name}' can only log in via localhost (peer ${peer}, basic auth)`)
      throw notAuthorised('User can only log in via localhost')
    }
    return user
  }

  private fail(res: ServerResponse, error: unknown): void {
    const http = toHttpError(error)
    if (http) return this.send(res, http.status, { error: http.error, reason: http.reason }, http.headers)
    this.logger?.error(`management API: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    this.send(res, 500, { error: 'internal_error', reason: error instanceof Error ? error.message : String(error) })
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.end()
      return
    }
    const text = body === undefined ? '' : JSON.stringify(body)
    res.writeHead(status, {
      ...(text ? { 'Content-Type': 'application/json' } : {}),
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache',
      Vary: 'accept, accept-encoding, origin',
      // the JSON is never to be read as a script, a style or a page by a browser that loads it from elsewhere
      'X-Content-Type-Options': 'nosniff',
      ...headers,
    })
    res.end(text)
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    // past the limit the rest is read and dropped, not buffered: throwing here would destroy the socket before the
    // 413 goes out, and the client would only see a reset (found by test/soak/fuzz-http)
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer)
  }
  if (size > MAX_BODY_BYTES) throw new HttpError(413, 'bad_request', `request body is larger than ${MAX_BODY_BYTES} bytes`)
  const text = Buffer.concat(chunks).toString('utf8').trim()
  if (text === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw badRequest('not_json')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('not_json')
  return parsed as Record<string, unknown>
}

function loadVhostMeta(core: BrokerCore): ApiDeps['vhostMeta'] {
  const meta: ApiDeps['vhostMeta'] = new Map()
  for (const record of core.store.loadDefinitions().vhosts) {
    meta.set(record.name, { description: record.description, tags: record.tags, defaultQueueType: record.defaultQueueType })
  }
  return meta
}

/** A client-chosen name as it goes into a log line: no control characters (no forged log lines), cut short. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 255)
}
