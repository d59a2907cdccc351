/**
 * Shovels and federation links, from the management API's /api/shovels and /api/federation-links (RabbitMQ's
 * shovel/federation management plugins; the same shapes on Warren's embedded broker once it has shovels), and the
 * dynamic shovel parameter written by PUT /api/parameters/shovel/{vhost}/{name}.
 */
import type { FederationLinkStatus, ShovelSpec, ShovelStatus } from '../../contract'
import { ConsoleError } from '../profiles'

type Json = Record<string, unknown>
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined)

/** "2026-11-26 2:17:58" (RabbitMQ's timestamps, UTC) or ms since the epoch → ms since the epoch */
export function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v !== 'string') return undefined
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})/.exec(v)
  if (!m) return undefined
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

/** RabbitMQ quotes Erlang terms in reasons ("\"needed a restart\""); shows them as plain text */
export function reasonText(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return s.replace(/^"(.*)"$/s, '$1')
}

/** a URI without its password (shown in the view) */
export function safeUri(v: unknown): string | undefined {
  const s = str(v)
  if (!s) return undefined
  return s.replace(/^(amqps?:\/\/[^:/@]*):[^@/]*@/, '$1:***@')
}

function endpoint(q: unknown, x: unknown, key: unknown): string | undefined {
  if (str(q)) return `queue ${str(q)}`
  if (str(x)) return `exchange ${str(x)}${str(key) ? ` (key ${str(key)})` : ''}`
  return undefined
}

export function shovelOf(s: Json): ShovelStatus {
  return {
    name: str(s.name) ?? '?',
    vhost: str(s.vhost) ?? '/',
    type: str(s.type) ?? 'dynamic',
    state: str(s.state) ?? 'unknown',
    node: str(s.node),
    reason: reasonText(s.reason),
    srcUri: safeUri(s.src_uri),
    source: endpoint(s.src_queue, s.src_exchange, s.src_exchange_key),
    destUri: safeUri(s.dest_uri),
    destination: endpoint(s.dest_queue, s.dest_exchange, s.dest_exchange_key),
    since: timeOf(s.timestamp),
  }
}

export function federationLinkOf(l: Json): FederationLinkStatus {
  return {
    upstream: str(l.upstream) ?? '?',
    vhost: str(l.vhost) ?? '/',
    type: str(l.type) ?? 'exchange',
    target: str(l.exchange) ?? str(l.queue) ?? '?',
    status: str(l.status) ?? 'unknown',
    node: str(l.node),
    uri: safeUri(l.uri),
    error: reasonText(l.error),
    since: timeOf(l.timestamp),
  }
}

/** The shovel parameter's value (RabbitMQ 3.10's amqp091 keys). */
export function shovelParameter(spec: ShovelSpec): Record<string, unknown> {
  if (!spec.name?.trim()) throw new ConsoleError('INVALID', 'a shovel needs a name')
  if (!spec.srcUri?.trim() || !spec.destUri?.trim()) throw new ConsoleError('INVALID', 'a shovel needs a source URI and a destination URI (amqp:// is this broker)')
  if (!!spec.srcQueue === !!spec.srcExchange) throw new ConsoleError('INVALID', 'a shovel reads either a source queue or a source exchange')
  if (spec.destQueue && spec.destExchange) throw new ConsoleError('INVALID', 'a shovel writes either to a destination queue or to a destination exchange')
  const value: Record<string, unknown> = { 'src-protocol': 'amqp091', 'src-uri': spec.srcUri.trim(), 'dest-protocol': 'amqp091', 'dest-uri': spec.destUri.trim() }
  if (spec.srcQueue) value['src-queue'] = spec.srcQueue
  else {
    value['src-exchange'] = spec.srcExchange
    if (spec.srcExchangeKey !== undefined) value['src-exchange-key'] = spec.srcExchangeKey
  }
  if (spec.destQueue) value['dest-queue'] = spec.destQueue
  if (spec.destExchange) {
    value['dest-exchange'] = spec.destExchange
    if (spec.destExchangeKey !== undefined && spec.destExchangeKey !== '') value['dest-exchange-key'] = spec.destExchangeKey
  }
  value['ack-mode'] = spec.ackMode ?? 'on-confirm'
  if (spec.prefetchCount !== undefined) {
    if (!Number.isInteger(spec.prefetchCount) || spec.prefetchCount < 1) throw new ConsoleError('INVALID', 'prefetch must be a positive whole number')
    value['src-prefetch-count'] = spec.prefetchCount
  }
  if (spec.deleteAfter !== undefined && spec.deleteAfter !== 'never') {
    if (typeof spec.deleteAfter === 'number' && (!Number.isInteger(spec.deleteAfter) || spec.deleteAfter < 1)) throw new ConsoleError('INVALID', 'delete-after must be a positive whole number')
    value['src-delete-after'] = spec.deleteAfter
  }
  return value
}
