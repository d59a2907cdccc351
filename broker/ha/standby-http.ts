/**
 * The management HTTP port of a standby member. It has no broker (no core), so it is not the management API: it
 * answers GET /api/ha and /api/health/checks/*, and everything else with 503 {"error":"standby"} naming the active
 * member. Users are checked against the users table of the shared warren.db, opened read-only for each login (the
 * standby never writes the main database the active is using).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { SecureContextOptions } from 'node:tls'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { Logger } from '../amqp/connection'
import { hashPassword, passwordMatches, SHA256_ALGORITHM } from '../core/users'
import { crossSiteCheck, isLoopbackAddress } from '../http/csrf'
import type { UserRecord } from '../store/store'
import type { HaStatus } from './status'

export interface StandbyHttpOptions {
  dataDir: string
  status(): HaStatus
  logger?: Logger
  tls?: SecureContextOptions
  allowedHosts?: string[]
}

const MANAGEMENT_TAGS = ['management', 'policymaker', 'monitoring', 'administrator']
const MONITORING_TAGS = ['monitoring', 'administrator']

export class StandbyHttp {
  private readonly server: Server
  private loopbackOnly = true

  constructor(private readonly options: StandbyHttpOptions) {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      try {
        this.handle(req, res)
      } catch (error) {
        options.logger?.error(`standby HTTP: ${error instanceof Error ? error.message : String(error)}`)
        send(res, 500, { error: 'internal_error', reason: error instanceof Error ? error.message : String(error) })
      }
    }
    this.server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener)
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
    return address
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    req.resume() // bodies are never read here
    const { refused } = crossSiteCheck(req.headers, { loopbackOnly: this.loopbackOnly, allowedHosts: this.options.allowedHosts })
    if (refused) return send(res, 403, { error: 'forbidden', reason: refused })
    const isHa = url.pathname === '/api/ha'
    const isHealth = url.pathname.startsWith('/api/health/checks/')
    if (!isHa && !isHealth) return send(res, 503, standbyError(this.options.status()))
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, undefined, { Allow: 'GET, HEAD' })
    const user = this.authenticate(req, res)
    if (!user) return
    const tags = isHa ? MANAGEMENT_TAGS : MONITORING_TAGS
    if (!tags.some((tag) => user.tags.includes(tag))) {
      return send(res, 401, { error: 'not_authorised', reason: isHa ? 'Not management user' : 'Not monitor user' })
    }
    const status = this.options.status()
    if (isHa) return send(res, 200, status)
    const check = url.pathname.slice('/api/health/checks/'.length)
    // a standby has no resource alarm; everything that asks whether this node serves (listeners, virtual hosts) fails
    if (check === 'alarms' || check === 'local-alarms') return send(res, 200, { status: 'ok' })
    return send(res, 503, { status: 'failed', reason: standbyError(status).reason })
  }

  private authenticate(req: IncomingMessage, res: ServerResponse): UserRecord | undefined {
    const challenge = { 'WWW-Authenticate': 'Basic realm="RabbitMQ Management"' }
    const header = req.headers.authorization
    const fail = (): undefined => {
      send(res, 401, { error: 'not_authorized', reason: 'Login failed' }, challenge)
      return undefined
    }
    if (!header || !header.startsWith('Basic ')) return fail()
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return fail()
    const user = readUser(this.options.dataDir, decoded.slice(0, colon))
    if (!user || !passwordMatches(user, decoded.slice(colon + 1))) return fail()
    if (user.name === 'guest' && !isLoopbackAddress(req.socket.remoteAddress)) {
      send(res, 401, { error: 'not_authorised', reason: 'User can only log in via localhost' })
      return undefined
    }
    return user
  }
}

export function standbyError(status: HaStatus): { error: 'standby'; reason: string } {
  const active = status.members.find((m) => m.role === 'active')
  const where = active ? `${active.name} at ${active.amqp}` : 'not known (no member is active right now)'
  return { error: 'standby', reason: `this broker is the standby of a pair; the active one is ${where}` }
}

/**
 * One user from the shared warren.db, read-only; undefined when there is no such user. Before any broker has
 * written its definitions (no database yet, or one without users and vhosts) the users are what a fresh broker
 * starts with (BrokerCore): guest/guest, administrator.
 */
function readUser(dataDir: string, name: string): UserRecord | undefined {
  const file = join(dataDir, 'warren.db')
  const fresh = (): UserRecord | undefined =>
    name === 'guest' ? { name: 'guest', passwordHash: hashPassword('guest'), hashingAlgorithm: SHA256_ALGORITHM, tags: ['administrator'] } : undefined
  if (!existsSync(file)) return fresh()
  let db: Database.Database | undefined
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 1000 })
    const defined = db.prepare("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM vhosts) AS n").get() as { n: number }
    if (defined.n === 0) return fresh()
    const row = db.prepare('SELECT name, password_hash, hashing_algorithm, tags FROM users WHERE name = ?').get(name) as
      | { name: string; password_hash: string; hashing_algorithm: string; tags: string }
      | undefined
    if (!row) return undefined
    const tags: unknown = JSON.parse(row.tags)
    return { name: row.name, passwordHash: row.password_hash, hashingAlgorithm: row.hashing_algorithm, tags: Array.isArray(tags) ? tags.map(String) : [] }
  } catch {
    return undefined
  } finally {
    db?.close()
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, {
    ...(text ? { 'Content-Type': 'application/json' } : {}),
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  })
  res.end(text)
}
