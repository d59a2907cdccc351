/**
 * BrokerBackend over the RabbitMQ management HTTP API (+ AMQP with amqplib for publishing and connection tests).
 * Serves a remote RabbitMQ and the embedded broker, whose HTTP API is RabbitMQ-compatible; where the embedded API
 * has extras (non-destructive browse), `embedded: true` uses them.
 */
import amqp from 'amqplib'
import type {
  ArgTable,
  Binding,
  BindingSpec,
  BrowseRequest,
  BrowseResult,
  BrowsedMessage,
  ChannelInfo,
  ConnectionInfo,
  ConsumerInfo,
  ExchangeDetails,
  ExchangeSpec,
  ExchangeSummary,
  GetRequest,
  ListRequest,
  MessageProperties,
  NodeFacts,
  ObjectRef,
  Overview,
  OverviewTick,
  Page,
  ProfileTestResult,
  PublishRequest,
  PublishResult,
  QueueDetails,
  QueueSpec,
  QueueSummary,
  Rates,
  Totals,
} from '../contract'
import { REPLY_CODE_NAMES } from '../../broker/protocol'
import type { BrokerBackend } from './backend'
import { ConsoleError } from './profiles'

export interface ManagementTarget {
  profileId: string
  amqpUrl: string
  managementUrl: string
  username: string
  password: string
  vhost: string
  /** the console's own broker: browse is non-destructive (GET .../messages) */
  embedded: boolean
}

type Json = Record<string, unknown>

/** The most messages a requeueing browse fetches in one go (RabbitMQ's get holds them all unacked meanwhile). */
export const MAX_REQUEUE_BROWSE = 2000
export const MAX_PUBLISH_REPEAT = 100_000

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const rate = (stats: unknown, key: string): number => num(obj(obj(stats)[`${key}_details`]).rate)

/** AMQP reply code → name (NOT_FOUND, …), from the codec generated out of the spec. */
const AMQP_NAMES = REPLY_CODE_NAMES
const HTTP_NAMES: Record<number, string> = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'ACCESS_REFUSED', 404: 'NOT_FOUND', 405: 'NOT_ALLOWED', 409: 'CONFLICT' }

/** An error the broker reported, with its reply code and text. */
export class BrokerReplyError extends ConsoleError {
  constructor(
    code: string,
    message: string,
    readonly replyCode: number,
  ) {
    super(code, message)
  }
}

/** Turns a management API error body into a BrokerReplyError; an AMQP reply inside the reason wins ("406 PRECONDITION_FAILED - ..."). */
export function httpError(status: number, body: string): BrokerReplyError {
  let reason = body
  try {
    const parsed = obj(JSON.parse(body))
    reason = str(parsed.reason) || str(parsed.error) || body
  } catch {
    // not JSON: keep the text
  }
  const amqpName = /\b([A-Z][A-Z_]+) - /.exec(reason)?.[1]
  const amqpCode = amqpName ? Number(Object.entries(AMQP_NAMES).find(([, n]) => n === amqpName)?.[0]) : NaN
  if (amqpName && Number.isFinite(amqpCode)) return new BrokerReplyError(amqpName, `${amqpCode} ${reason}`, amqpCode)
  const name = HTTP_NAMES[status] ?? (status >= 500 ? 'BROKER_ERROR' : 'HTTP_ERROR')
  return new BrokerReplyError(name, `${status} ${name} - ${reason || 'no reason given'}`, status)
}

/** amqplib's errors carry the reply code as `code` and the text in the message. */
export function amqpError(e: unknown): ConsoleError {
  if (e instanceof ConsoleError) return e
  const error = e as { code?: unknown; message?: unknown }
  const message = str(error?.message) || String(e)
  if (typeof error?.code === 'number') {
    const name = AMQP_NAMES[error.code] ?? 'AMQP_ERROR'
    const text = /with message "([^"]*)"/.exec(message)?.[1] ?? message
    return new BrokerReplyError(name, `${error.code} ${text}`, error.code)
  }
  if (typeof error?.code === 'string') return new ConsoleError(error.code === 'ECONNREFUSED' ? 'UNREACHABLE' : error.code, message)
  return new ConsoleError('AMQP_ERROR', message)
}

const enc = encodeURIComponent
const exchangePath = (name: string): string => enc(name === '' ? 'amq.default' : name)

const SORT_FIELDS: Record<string, string> = {
  name: 'name',
  vhost: 'vhost',
  type: 'type',
  durable: 'durable',
  messages: 'messages',
  messagesReady: 'messages_ready',
  messagesUnacked: 'messages_unacknowledged',
  consumers: 'consumers',
  state: 'state',
  publishRate: 'message_stats.publish_details.rate',
  deliverRate: 'message_stats.deliver_get_details.rate',
  publishInRate: 'message_stats.publish_in_details.rate',
  user: 'user',
  channels: 'channels',
  peerHost: 'peer_host',
  connectionName: 'connection_details.name',
  unacked: 'messages_unacknowledged',
  prefetchCount: 'prefetch_count',
}

function getPath(item: Json, path: string): unknown {
  let v: unknown = item
  for (const part of path.split('.')) v = obj(v)[part]
  return v
}

/** Sorting, filtering and paging done here when a broker returns a plain array (no `pagination` support). */
export function pageLocally(all: Json[], req: ListRequest, nameKey = 'name'): { items: Json[]; filteredCount: number; totalCount: number } {
  let items = all
  if (req.filter) {
    let test: (s: string) => boolean
    if (req.regex) {
      let re: RegExp
      try {
        re = new RegExp(req.filter)
      } catch {
        throw new ConsoleError('INVALID', `not a regular expression: ${req.filter}`)
      }
      test = (s) => re.test(s)
    } else {
      const needle = req.filter.toLowerCase()
      test = (s) => s.toLowerCase().includes(needle)
    }
    items = items.filter((i) => test(str(i[nameKey])))
  }
  if (req.sort) {
    const path = SORT_FIELDS[req.sort] ?? req.sort
    const dir = req.sortReverse ? -1 : 1
    items = [...items].sort((a, b) => {
      const x = getPath(a, path)
      const y = getPath(b, path)
      if (typeof x === 'number' || typeof y === 'number') return (num(x) - num(y)) * dir
      return str(x).localeCompare(str(y)) * dir
    })
  }
  const start = (Math.max(1, req.page) - 1) * req.pageSize
  return { items: items.slice(start, start + req.pageSize), filteredCount: items.length, totalCount: all.length }
}

function toArgs(v: unknown): ArgTable {
  return obj(v) as ArgTable
}

function toBinding(b: Json): Binding {
  return {
    vhost: str(b.vhost),
    source: str(b.source),
    destination: str(b.destination),
    destinationType: b.destination_type === 'exchange' ? 'exchange' : 'queue',
    routingKey: str(b.routing_key),
    arguments: toArgs(b.arguments),
    propertiesKey: str(b.properties_key) || '~',
  }
}

export function toQueue(q: Json): QueueSummary {
  const args = toArgs(q.arguments)
  return {
    vhost: str(q.vhost),
    name: str(q.name),
    type: str(q.type) || str(args['x-queue-type']) || 'classic',
    durable: q.durable === true,
    autoDelete: q.auto_delete === true,
    exclusive: q.exclusive === true || (q.exclusive_consumer_tag !== undefined && q.exclusive === true),
    arguments: args,
    messages: num(q.messages),
    messagesReady: num(q.messages_ready),
    messagesUnacked: num(q.messages_unacknowledged),
    consumers: num(q.consumers),
    state: str(q.state) || 'running',
    publishRate: rate(q.message_stats, 'publish'),
    deliverRate: rate(q.message_stats, 'deliver_get'),
  }
}

export function toExchange(x: Json): ExchangeSummary {
  return {
    vhost: str(x.vhost),
    name: str(x.name),
    type: str(x.type),
    durable: x.durable === true,
    autoDelete: x.auto_delete === true,
    internal: x.internal === true,
    arguments: toArgs(x.arguments),
    publishInRate: rate(x.message_stats, 'publish_in'),
    publishOutRate: rate(x.message_stats, 'publish_out'),
  }
}

export function toProperties(p: Json): MessageProperties {
  const out: MessageProperties = {}
  const s = (k: keyof MessageProperties, v: unknown): void => {
    if (typeof v === 'string' && v !== '') (out as Record<string, unknown>)[k] = v
  }
  s('contentType', p.content_type)
  s('contentEncoding', p.content_encoding)
  s('correlationId', p.correlation_id)
  s('replyTo', p.reply_to)
  s('expiration', p.expiration)
  s('messageId', p.message_id)
  s('type', p.type)
  s('userId', p.user_id)
  s('appId', p.app_id)
  if (typeof p.delivery_mode === 'number') out.deliveryMode = p.delivery_mode
  if (typeof p.priority === 'number') out.priority = p.priority
  if (typeof p.timestamp === 'number') out.timestamp = p.timestamp
  if (p.headers && typeof p.headers === 'object') out.headers = p.headers as ArgTable
  return out
}

export function toMessage(m: Json, index: number): BrowsedMessage {
  const payload = str(m.payload)
  const base64 = m.payload_encoding === 'base64' ? payload : Buffer.from(payload, 'utf8').toString('base64')
  return {
    index,
    exchange: str(m.exchange),
    routingKey: str(m.routing_key),
    redelivered: m.redelivered === true,
    properties: toProperties(obj(m.properties)),
    payloadBase64: base64,
    payloadBytes: typeof m.payload_bytes === 'number' ? m.payload_bytes : Buffer.from(base64, 'base64').length,
  }
}

/** The body bytes of a publish request, checked against its declared encoding. */
export function encodeBody(req: Pick<PublishRequest, 'body' | 'bodyEncoding'>): Buffer {
  switch (req.bodyEncoding) {
    case 'text':
      return Buffer.from(req.body, 'utf8')
    case 'json':
      try {
        JSON.parse(req.body)
      } catch (e) {
        throw new ConsoleError('INVALID', `body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`)
      }
      return Buffer.from(req.body, 'utf8')
    case 'base64': {
      const clean = req.body.replace(/\s+/g, '')
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) throw new ConsoleError('INVALID', 'body is not valid base64')
      return Buffer.from(clean, 'base64')
    }
    default:
      throw new ConsoleError('INVALID', `unknown body encoding ${String(req.bodyEncoding)}`)
  }
}

/** amqplib publish options from contract properties. */
export function publishOptions(p: MessageProperties): amqp.Options.Publish {
  const o: amqp.Options.Publish = { mandatory: true }
  if (p.contentType) o.contentType = p.contentType
  if (p.contentEncoding) o.contentEncoding = p.contentEncoding
  if (p.deliveryMode) o.deliveryMode = p.deliveryMode
  if (p.priority !== undefined) o.priority = p.priority
  if (p.correlationId) o.correlationId = p.correlationId
  if (p.replyTo) o.replyTo = p.replyTo
  if (p.expiration) o.expiration = p.expiration
  if (p.messageId) o.messageId = p.messageId
  if (p.timestamp !== undefined) o.timestamp = p.timestamp
  if (p.type) o.type = p.type
  if (p.userId) o.userId = p.userId
  if (p.appId) o.appId = p.appId
  if (p.headers) o.headers = p.headers
  return o
}

/** The AMQP URL with the profile's credentials and vhost filled in (never logged). */
export function amqpConnectUrl(t: Pick<ManagementTarget, 'amqpUrl' | 'username' | 'password'>, vhost: string): string {
  const url = new URL(t.amqpUrl)
  url.username = enc(t.username)
  url.password = enc(t.password)
  url.pathname = '/' + enc(vhost)
  return url.toString()
}

interface Counters {
  at: number
  publish: number
  deliver: number
  ack: number
  redeliver: number
}

/**
 * One client of a management HTTP API (RabbitMQ's, or the embedded broker's compatible one), shared by every area of
 * the console: base URL, basic auth, JSON in and out, and one error mapping — UNREACHABLE when nothing answers, the
 * broker's status and reason (httpError) when it refuses, BAD_RESPONSE when the answer is not JSON.
 */
export interface ManagementEndpoint {
  managementUrl: string
  username: string
  password: string
}

export interface ManagementHttpOptions {
  fetchImpl?: typeof fetch
  /** per request; default 30 s */
  timeoutMs?: number
}

export class ManagementHttp {
  readonly base: string
  private readonly auth: string
  private readonly fetchImpl: typeof fetch
  private readonly timeoutMs: number

  constructor(endpoint: ManagementEndpoint, options: ManagementHttpOptions = {}) {
    this.base = endpoint.managementUrl.replace(/\/+$/, '')
    this.auth = 'Basic ' + Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64')
    this.fetchImpl = options.fetchImpl ?? fetch
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    let response: Response
    try {
      response = await this.fetchImpl(this.base + path, {
        method,
        headers: { authorization: this.auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause
      throw new ConsoleError('UNREACHABLE', `management API at ${this.base} did not answer: ${cause?.code ?? (e instanceof Error ? e.message : String(e))}`)
    }
    const text = await response.text()
    if (!response.ok) throw httpError(response.status, text)
    if (text === '') return undefined
    try {
      return JSON.parse(text)
    } catch {
      throw new ConsoleError('BAD_RESPONSE', `management API answered ${method} ${path} with something that is not JSON`)
    }
  }

  get(path: string): Promise<unknown> {
    return this.request('GET', path)
  }
}

export class ManagementBackend implements BrokerBackend {
  private readonly http: ManagementHttp
  private last: Counters | undefined

  constructor(
    private readonly target: ManagementTarget,
    fetchImpl: typeof fetch = fetch,
  ) {
    this.http = new ManagementHttp(target, { fetchImpl, timeoutMs: 15_000 })
  }

  private request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    return this.http.request(method, path, body, headers)
  }

  private async list(path: string, req: ListRequest, nameKey = 'name'): Promise<{ items: Json[]; page: number; pageSize: number; filteredCount: number; totalCount: number }> {
    const vhostPath = req.vhost ? `${path}/${enc(req.vhost)}` : path
    const params = new URLSearchParams({ page: String(Math.max(1, req.page)), page_size: String(req.pageSize), pagination: 'true' })
    if (req.filter) params.set('name', req.filter)
    if (req.regex) params.set('use_regex', 'true')
    if (req.sort) params.set('sort', SORT_FIELDS[req.sort] ?? req.sort)
    if (req.sortReverse) params.set('sort_reverse', 'true')
    let answer: unknown
    try {
      answer = await this.request('GET', `${vhostPath}?${params}`)
    } catch (e) {
      // RabbitMQ refuses a page past the end with 400; show the last page instead of an error
      if (e instanceof BrokerReplyError && e.replyCode === 400 && req.page > 1 && /page/i.test(e.message)) {
        return this.list(path, { ...req, page: 1 }, nameKey)
      }
      throw e
    }
    if (Array.isArray(answer)) {
      const local = pageLocally(answer as Json[], req, nameKey)
      return { ...local, page: req.page, pageSize: req.pageSize }
    }
    const p = obj(answer)
    return {
      items: Array.isArray(p.items) ? (p.items as Json[]) : [],
      page: num(p.page) || req.page,
      pageSize: num(p.page_size) || req.pageSize,
      filteredCount: num(p.filtered_count),
      totalCount: num(p.total_count),
    }
  }

  private guardVhost(vhost: string): void {
    if (typeof vhost !== 'string' || vhost === '') throw new ConsoleError('INVALID', 'a vhost is required')
  }

  async test(): Promise<ProfileTestResult> {
    const result: ProfileTestResult = { amqp: { ok: false, message: '' }, management: { ok: false, message: '' } }
    try {
      const o = obj(await this.request('GET', '/api/overview'))
      const product = `${str(o.product_name) || 'RabbitMQ'} ${str(o.product_version) || str(o.rabbitmq_version)}`.trim()
      result.management = { ok: true, message: `management API answered (${product})`, product }
    } catch (e) {
      result.management = { ok: false, message: e instanceof Error ? e.message : String(e) }
    }
    try {
      const connection = await amqp.connect(amqpConnectUrl(this.target, this.target.vhost), { timeout: 10_000 })
      const props = obj(obj(connection.connection as unknown).serverProperties)
      await connection.close()
      result.amqp = { ok: true, message: `AMQP connection opened (${str(props.product)} ${str(props.version)})`.replace(' ()', '') }
    } catch (e) {
      result.amqp = { ok: false, message: amqpError(e).message }
    }
    return result
  }

  async overview(): Promise<Overview> {
    const [o, nodes] = await Promise.all([this.request('GET', '/api/overview').then(obj), this.request('GET', '/api/nodes').catch(() => [])])
    const product = str(o.product_name) || 'RabbitMQ'
    const isWarren = this.target.embedded || /warren/i.test(product)
    return {
      profileId: this.target.profileId,
      product,
      productVersion: str(o.product_version) || str(o.rabbitmq_version),
      managementVersion: str(o.management_version) || undefined,
      clusterName: str(o.cluster_name) || undefined,
      node: str(o.node) || undefined,
      totals: this.totals(o),
      rates: this.rates(o),
      nodes: (Array.isArray(nodes) ? (nodes as Json[]) : []).map(
        (n): NodeFacts => ({
          name: str(n.name),
          running: n.running !== false,
          uptimeMs: typeof n.uptime === 'number' ? n.uptime : undefined,
          memUsed: typeof n.mem_used === 'number' ? n.mem_used : undefined,
          memLimit: typeof n.mem_limit === 'number' ? n.mem_limit : undefined,
          diskFree: typeof n.disk_free === 'number' ? n.disk_free : undefined,
          fdUsed: typeof n.fd_used === 'number' ? n.fd_used : undefined,
          fdTotal: typeof n.fd_total === 'number' ? n.fd_total : undefined,
          processors: typeof n.processors === 'number' ? n.processors : undefined,
        }),
      ),
      browseMode: isWarren ? 'peek' : 'requeue',
      listeners: (Array.isArray(o.listeners) ? (o.listeners as Json[]) : []).map((l) => ({ protocol: str(l.protocol), port: num(l.port) })),
    }
  }

  private totals(o: Json): Totals {
    const t = obj(o.object_totals)
    const q = obj(o.queue_totals)
    return {
      queues: num(t.queues),
      exchanges: num(t.exchanges),
      connections: num(t.connections),
      channels: num(t.channels),
      consumers: num(t.consumers),
      messages: num(q.messages),
      messagesReady: num(q.messages_ready),
      messagesUnacked: num(q.messages_unacknowledged),
    }
  }

  /** The broker's own rates when it reports them, else rates from counter deltas between our polls. */
  private rates(o: Json): Rates {
    const s = obj(o.message_stats)
    const now = Date.now()
    const counters: Counters = { at: now, publish: num(s.publish), deliver: num(s.deliver_get), ack: num(s.ack), redeliver: num(s.redeliver) }
    const prev = this.last
    this.last = counters
    const reported = (key: string): number | undefined => {
      const d = obj(s[`${key}_details`])
      return typeof d.rate === 'number' ? d.rate : undefined
    }
    const derived = (key: keyof Omit<Counters, 'at'>): number => {
      if (!prev || now <= prev.at) return 0
      return Math.max(0, ((counters[key] - prev[key]) * 1000) / (now - prev.at))
    }
    return {
      publish: reported('publish') ?? derived('publish'),
      deliver: reported('deliver_get') ?? derived('deliver'),
      ack: reported('ack') ?? derived('ack'),
      redeliver: reported('redeliver') ?? derived('redeliver'),
    }
  }

  async tick(): Promise<OverviewTick> {
    const o = obj(await this.request('GET', '/api/overview'))
    return { profileId: this.target.profileId, at: Date.now(), totals: this.totals(o), rates: this.rates(o) }
  }

  async vhosts(): Promise<string[]> {
    const list = await this.request('GET', '/api/vhosts')
    return (Array.isArray(list) ? (list as Json[]) : []).map((v) => str(v.name)).sort()
  }

  async listExchanges(req: ListRequest): Promise<Page<ExchangeSummary>> {
    const p = await this.list('/api/exchanges', req)
    return { ...p, items: p.items.map(toExchange) }
  }

  async getExchange(ref: ObjectRef): Promise<ExchangeDetails> {
    this.guardVhost(ref.vhost)
    const path = `/api/exchanges/${enc(ref.vhost)}/${exchangePath(ref.name)}`
    const [x, outgoing, incoming] = await Promise.all([
      this.request('GET', path),
      this.request('GET', `${path}/bindings/source`),
      this.request('GET', `${path}/bindings/destination`),
    ])
    const bindings = (v: unknown): Binding[] => (Array.isArray(v) ? (v as Json[]).map(toBinding) : [])
    return { ...toExchange(obj(x)), outgoing: bindings(outgoing), incoming: bindings(incoming) }
  }

  async createExchange(spec: ExchangeSpec): Promise<void> {
    this.guardVhost(spec.vhost)
    if (!spec.name) throw new ConsoleError('INVALID', 'an exchange needs a name')
    await this.request('PUT', `/api/exchanges/${enc(spec.vhost)}/${enc(spec.name)}`, {
      type: spec.type,
      durable: spec.durable,
      auto_delete: spec.autoDelete,
      internal: spec.internal,
      arguments: spec.arguments ?? {},
    })
  }

  async deleteExchange(ref: ObjectRef, ifUnused?: boolean): Promise<void> {
    this.guardVhost(ref.vhost)
    await this.request('DELETE', `/api/exchanges/${enc(ref.vhost)}/${enc(ref.name)}${ifUnused ? '?if-unused=true' : ''}`)
  }

  async listQueues(req: ListRequest): Promise<Page<QueueSummary>> {
    const p = await this.list('/api/queues', req)
    return { ...p, items: p.items.map(toQueue) }
  }

  async getQueue(ref: ObjectRef): Promise<QueueDetails> {
    this.guardVhost(ref.vhost)
    const path = `/api/queues/${enc(ref.vhost)}/${enc(ref.name)}`
    const [q, bindings] = await Promise.all([this.request('GET', path).then(obj), this.request('GET', `${path}/bindings`)])
    const consumers = Array.isArray(q.consumer_details) ? (q.consumer_details as Json[]) : []
    return {
      ...toQueue(q),
      bindings: Array.isArray(bindings) ? (bindings as Json[]).map(toBinding) : [],
      consumerDetails: consumers.map(
        (c): ConsumerInfo => ({
          consumerTag: str(c.consumer_tag),
          channel: str(obj(c.channel_details).name),
          ackRequired: c.ack_required === true,
          exclusive: c.exclusive === true,
          prefetchCount: num(c.prefetch_count),
        }),
      ),
      node: str(q.node) || undefined,
      memory: typeof q.memory === 'number' ? q.memory : undefined,
    }
  }

  async createQueue(spec: QueueSpec): Promise<void> {
    this.guardVhost(spec.vhost)
    if (!spec.name) throw new ConsoleError('INVALID', 'a queue needs a name (server-named queues cannot be created from the console)')
    const args: ArgTable = { ...(spec.arguments ?? {}) }
    if (spec.type && spec.type !== 'classic') args['x-queue-type'] = spec.type
    await this.request('PUT', `/api/queues/${enc(spec.vhost)}/${enc(spec.name)}`, { durable: spec.durable, auto_delete: spec.autoDelete, arguments: args })
  }

  async deleteQueue(ref: ObjectRef, options: { ifUnused?: boolean; ifEmpty?: boolean } = {}): Promise<void> {
    this.guardVhost(ref.vhost)
    const params = new URLSearchParams()
    if (options.ifUnused) params.set('if-unused', 'true')
    if (options.ifEmpty) params.set('if-empty', 'true')
    const q = params.size ? `?${params}` : ''
    await this.request('DELETE', `/api/queues/${enc(ref.vhost)}/${enc(ref.name)}${q}`)
  }

  async purgeQueue(ref: ObjectRef): Promise<void> {
    this.guardVhost(ref.vhost)
    await this.request('DELETE', `/api/queues/${enc(ref.vhost)}/${enc(ref.name)}/contents`)
  }

  async createBinding(spec: BindingSpec): Promise<void> {
    this.guardVhost(spec.vhost)
    const kind = spec.destinationType === 'exchange' ? 'e' : 'q'
    await this.request('POST', `/api/bindings/${enc(spec.vhost)}/e/${exchangePath(spec.source)}/${kind}/${enc(spec.destination)}`, {
      routing_key: spec.routingKey,
      arguments: spec.arguments ?? {},
    })
  }

  async deleteBinding(spec: BindingSpec & { propertiesKey: string }): Promise<void> {
    this.guardVhost(spec.vhost)
    const kind = spec.destinationType === 'exchange' ? 'e' : 'q'
    await this.request('DELETE', `/api/bindings/${enc(spec.vhost)}/e/${exchangePath(spec.source)}/${kind}/${enc(spec.destination)}/${enc(spec.propertiesKey)}`)
  }

  async browse(req: BrowseRequest): Promise<BrowseResult> {
    this.guardVhost(req.vhost)
    const offset = Math.max(0, Math.floor(req.offset))
    const limit = Math.min(1000, Math.max(1, Math.floor(req.limit)))
    const path = `/api/queues/${enc(req.vhost)}/${enc(req.queue)}`
    if (this.target.embedded) {
      const answer = await this.request('GET', `${path}/messages?offset=${offset}&limit=${limit}`)
      const body = obj(answer)
      const list = Array.isArray(answer) ? (answer as Json[]) : Array.isArray(body.items) ? (body.items as Json[]) : Array.isArray(body.messages) ? (body.messages as Json[]) : []
      let total = typeof body.total === 'number' ? body.total : typeof body.total_count === 'number' ? body.total_count : undefined
      if (total === undefined) total = toQueue(obj(await this.request('GET', path))).messagesReady
      return { mode: 'peek', total, messages: list.map((m, i) => toMessage(m, offset + i)) }
    }
    // RabbitMQ has no peek: take offset+limit messages and requeue them all at once.
    const queue = toQueue(obj(await this.request('GET', path)))
    const count = Math.min(offset + limit, MAX_REQUEUE_BROWSE)
    const notice =
      'RabbitMQ cannot peek: these messages were fetched with basic.get and requeued (ackmode ack_requeue_true). ' +
      'Each one is now marked redelivered, and their order in the queue may change.'
    if (offset >= count) return { mode: 'requeue', total: queue.messagesReady, messages: [], notice: `${notice} Browsing stops at ${MAX_REQUEUE_BROWSE} messages.` }
    const got = await this.request('POST', `${path}/get`, { count, ackmode: 'ack_requeue_true', encoding: 'base64', truncate: 1_000_000 })
    const list = Array.isArray(got) ? (got as Json[]) : []
    return {
      mode: 'requeue',
      // RabbitMQ's queue counters lag by up to its statistics interval
      total: Math.max(queue.messagesReady, list.length),
      messages: list.slice(offset, offset + limit).map((m, i) => toMessage(m, offset + i)),
      notice,
    }
  }

  async get(req: GetRequest): Promise<BrowsedMessage[]> {
    this.guardVhost(req.vhost)
    const allowed = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false']
    if (!allowed.includes(req.ackMode)) throw new ConsoleError('INVALID', `unknown ack mode ${req.ackMode}`)
    const got = await this.request('POST', `/api/queues/${enc(req.vhost)}/${enc(req.queue)}/get`, {
      count: Math.max(1, Math.min(1000, Math.floor(req.count))),
      ackmode: req.ackMode,
      encoding: 'base64',
    })
    return (Array.isArray(got) ? (got as Json[]) : []).map((m, i) => toMessage(m, i))
  }

  async publish(req: PublishRequest): Promise<PublishResult> {
    this.guardVhost(req.vhost)
    const repeat = Math.floor(req.repeat ?? 1)
    if (!(repeat >= 1 && repeat <= MAX_PUBLISH_REPEAT)) throw new ConsoleError('INVALID', `repeat must be between 1 and ${MAX_PUBLISH_REPEAT}`)
    const body = encodeBody(req)
    const options = publishOptions(req.properties ?? {})
    let connection: amqp.ChannelModel | undefined
    let channelError: unknown
    try {
      connection = await amqp.connect(amqpConnectUrl(this.target, req.vhost), { timeout: 10_000 })
      connection.on('error', () => {})
      const channel = await connection.createConfirmChannel()
      channel.on('error', (e) => (channelError = e))
      let returned = 0
      channel.on('return', () => returned++)
      for (let i = 0; i < repeat; i++) {
        if (!channel.publish(req.exchange, req.routingKey, body, options)) await new Promise((r) => channel.once('drain', r))
        if (channelError) throw channelError
      }
      await channel.waitForConfirms()
      if (channelError) throw channelError
      await channel.close()
      return { published: repeat, routed: repeat - returned }
    } catch (e) {
      // the channel's own error (with the broker's reply code) says more than "channel closed"
      throw amqpError(channelError ?? e)
    } finally {
      await connection?.close().catch(() => {})
    }
  }

  async listConnections(req: ListRequest): Promise<Page<ConnectionInfo>> {
    const p = await this.list('/api/connections', { ...req, vhost: undefined })
    const items = p.items.map(
      (c): ConnectionInfo => ({
        name: str(c.name),
        user: str(c.user),
        vhost: str(c.vhost),
        peerHost: str(c.peer_host),
        peerPort: num(c.peer_port),
        client: `${str(obj(c.client_properties).product)} ${str(obj(c.client_properties).version)}`.trim(),
        channels: num(c.channels),
        state: str(c.state) || 'running',
        protocol: str(c.protocol),
        connectedAt: typeof c.connected_at === 'number' ? c.connected_at : undefined,
        recvRate: rate(c, 'recv_oct'),
        sendRate: rate(c, 'send_oct'),
      }),
    )
    return { ...p, items: req.vhost ? items.filter((c) => c.vhost === req.vhost) : items }
  }

  async closeConnection(name: string, reason?: string): Promise<void> {
    await this.request('DELETE', `/api/connections/${enc(name)}`, undefined, { 'x-reason': reason || 'Closed from the Warren console' })
  }

  /** The embedded broker's DELETE /api/channels/{name} (a Warren extension); RabbitMQ's API has no such thing. */
  async closeChannel(name: string, reason?: string): Promise<void> {
    if (!this.target.embedded) {
      throw new ConsoleError('UNSUPPORTED', "RabbitMQ's management API cannot close a single channel: close its connection instead")
    }
    await this.request('DELETE', `/api/channels/${enc(name)}`, undefined, { 'x-reason': reason || 'Closed from the Warren console' })
  }

  async listChannels(req: ListRequest): Promise<Page<ChannelInfo>> {
    const p = await this.list('/api/channels', { ...req, vhost: undefined })
    const items = p.items.map(
      (c): ChannelInfo => ({
        name: str(c.name),
        connectionName: str(obj(c.connection_details).name),
        number: num(c.number),
        user: str(c.user),
        vhost: str(c.vhost),
        consumers: num(c.consumer_count),
        prefetchCount: num(c.prefetch_count),
        unacked: num(c.messages_unacknowledged),
        confirm: c.confirm === true,
        transactional: c.transactional === true,
        state: str(c.state) || 'running',
        publishRate: rate(c.message_stats, 'publish'),
      }),
    )
    return { ...p, items: req.vhost ? items.filter((c) => c.vhost === req.vhost) : items }
  }

  async close(): Promise<void> {
    // no long-lived connections: publish and test open their own
  }
}
