/**
 * Dead letters as plain data: x-death parsing, reasons, and the fingerprint that identifies a message in a queue
 * that has no message ids.
 *
 * Why fingerprints: AMQP queues have no addressable message ids (message_id is optional and not unique), and
 * RabbitMQ cannot even peek. To act on a message the user picked in a browse, the replay/delete job consumes the
 * queue (manual ack), computes each delivery's fingerprint, acts on the ones that were selected and requeues the
 * rest (nack requeue=true puts them back at their original position on classic queues and on Warren). The cost:
 * the requeued messages are marked redelivered, identical messages are indistinguishable (a selection of n
 * identical messages acts on any n of them), and a message whose headers change between browse and action (it
 * died again) is no longer found — the job reports it as not found instead of guessing.
 *
 * The fingerprint must come out the same whether the message was read over the management HTTP API (JSON:
 * timestamps as seconds) or over AMQP with amqplib (typed values such as {'!': 'timestamp', value}), so both are
 * reduced to one canonical JSON form first.
 */
import { createHash } from 'node:crypto'
import type { ArgTable, ArgValue, DeadLetterMessage, DeadLetterReason, DeathEntry, MessageProperties } from '../../contract'

/** amqplib's typed values ({'!': type, value}), Buffers, and plain JSON → plain JSON with sorted keys. */
export function canonical(v: unknown): ArgValue {
  if (v === null || v === undefined) return null
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (typeof v === 'bigint') return Number(v)
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('utf8')
  if (Array.isArray(v)) return v.map(canonical)
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    if ('!' in o && 'value' in o && Object.keys(o).length === 2) return canonical(o.value)
    const out: Record<string, ArgValue> = {}
    for (const k of Object.keys(o).sort()) out[k] = canonical(o[k])
    return out
  }
  return String(v)
}

/** Headers as JSON the UI can show (timestamps as seconds, as the management API gives them). */
export function plainHeaders(h: unknown): ArgTable | undefined {
  if (!h || typeof h !== 'object') return undefined
  return canonical(h) as ArgTable
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(canonical(v)))
const num = (v: unknown): number | undefined => {
  const c = canonical(v)
  return typeof c === 'number' ? c : undefined
}

/** A message's x-death header as entries, newest first (as the broker keeps it). Non-table entries are skipped. */
export function parseDeaths(headers: ArgTable | Record<string, unknown> | undefined): DeathEntry[] {
  const raw = headers?.['x-death']
  if (!Array.isArray(raw)) return []
  const out: DeathEntry[] = []
  for (const entry of raw) {
    const e = canonical(entry)
    if (!e || typeof e !== 'object' || Array.isArray(e)) continue
    const keys = e['routing-keys']
    const time = num(e.time)
    const d: DeathEntry = {
      count: num(e.count) ?? 1,
      reason: str(e.reason),
      queue: str(e.queue),
      exchange: str(e.exchange),
      routingKeys: Array.isArray(keys) ? keys.map((k) => str(k)) : [],
    }
    // x-death times are AMQP timestamps: seconds
    if (time !== undefined) d.time = time * 1000
    if (e['original-expiration'] !== undefined) d.originalExpiration = str(e['original-expiration'])
    out.push(d)
  }
  return out
}

const REASONS = new Set<DeadLetterReason>(['rejected', 'expired', 'maxlen', 'delivery_limit'])

export function reasonOf(deaths: DeathEntry[]): DeadLetterReason {
  const r = deaths[0]?.reason
  return r && REASONS.has(r as DeadLetterReason) ? (r as DeadLetterReason) : 'unknown'
}

const PROPERTY_KEYS: (keyof MessageProperties)[] = [
  'contentType',
  'contentEncoding',
  'deliveryMode',
  'priority',
  'correlationId',
  'replyTo',
  'expiration',
  'messageId',
  'timestamp',
  'type',
  'userId',
  'appId',
  'headers',
]

/** amqplib's message properties → contract properties (absent and empty values dropped, headers as plain JSON). */
export function fromAmqpProperties(p: Record<string, unknown>): MessageProperties {
  const out: Record<string, unknown> = {}
  for (const k of PROPERTY_KEYS) {
    const v = p[k]
    if (v === undefined || v === null || v === '') continue
    out[k] = k === 'headers' ? plainHeaders(v) : canonical(v)
  }
  return out as MessageProperties
}

/**
 * SHA-256 (hex, first 32 chars) over the body and the canonical properties (headers included, so the x-death
 * history is part of it). `redelivered`, the routing key and the position are not: they change when a message is
 * requeued or read through another API.
 */
export function fingerprint(body: Buffer, properties: MessageProperties | Record<string, unknown>): string {
  const props: Record<string, ArgValue> = {}
  const p = properties as Record<string, unknown>
  for (const k of PROPERTY_KEYS) {
    const v = p[k]
    if (v === undefined || v === null || v === '') continue
    props[k] = canonical(v)
  }
  if (props.headers && typeof props.headers === 'object' && !Array.isArray(props.headers) && Object.keys(props.headers).length === 0) delete props.headers
  const h = createHash('sha256')
  h.update(createHash('sha256').update(body).digest())
  h.update(JSON.stringify(props))
  return h.digest('hex').slice(0, 32)
}

/** The replay header names. */
export const REPLAYED_AT = 'x-warren-replayed-at'
export const REPLAY_COUNT = 'x-warren-replay-count'
export const REPLAY_ID = 'x-warren-replay-id'
export const ORIGINAL_DEATH = 'x-warren-original-death'
export const ORIGINAL_USER_ID = 'x-warren-original-user-id'
const FIRST_DEATH = ['x-first-death-reason', 'x-first-death-queue', 'x-first-death-exchange']

/**
 * The headers a replayed message carries: every header it had, plus when and how often it was replayed. With
 * `rename`, x-death and x-first-death-* are moved to x-warren-original-death (-first-death-*) so the broker starts
 * a fresh history (RabbitMQ 4 ignores a client-set x-death anyway). Values keep their AMQP types (amqplib's typed
 * values pass through untouched).
 */
export function replayHeaders(headers: Record<string, unknown> | undefined, mode: 'keep' | 'rename', replayId: string, now = Date.now()): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(headers ?? {}) }
  const count = num(out[REPLAY_COUNT]) ?? 0
  if (mode === 'rename') {
    if (out['x-death'] !== undefined) {
      out[ORIGINAL_DEATH] = out['x-death']
      delete out['x-death']
    }
    for (const k of FIRST_DEATH) {
      if (out[k] !== undefined) {
        out[k.replace('x-first-death', 'x-warren-original-first-death')] = out[k]
        delete out[k]
      }
    }
  }
  out[REPLAYED_AT] = { '!': 'timestamp', value: Math.floor(now / 1000) }
  out[REPLAY_COUNT] = count + 1
  out[REPLAY_ID] = replayId
  return out
}

/** Headers from JSON (an import, an edit): x-death times back to AMQP timestamps. */
export function typedHeaders(headers: ArgTable | undefined): Record<string, unknown> | undefined {
  if (!headers) return undefined
  const out: Record<string, unknown> = { ...headers }
  for (const key of ['x-death', ORIGINAL_DEATH]) {
    const deaths = out[key]
    if (Array.isArray(deaths)) {
      out[key] = deaths.map((d) => {
        if (!d || typeof d !== 'object' || Array.isArray(d)) return d
        const e = { ...(d as Record<string, unknown>) }
        if (typeof e.time === 'number') e.time = { '!': 'timestamp', value: e.time }
        return e
      })
    }
  }
  if (typeof out[REPLAYED_AT] === 'number') out[REPLAYED_AT] = { '!': 'timestamp', value: out[REPLAYED_AT] }
  return out
}

/** A message read from a dead-letter queue (browse or delivery) as the contract shows it; `body` kept for filters. */
export function describeDeadLetter(m: {
  vhost: string
  queue: string
  index: number
  exchange: string
  routingKey: string
  redelivered: boolean
  properties: MessageProperties
  body: Buffer
  fingerprint?: string
}): DeadLetterMessage & { body: Buffer } {
  const deaths = parseDeaths(m.properties.headers)
  const first = deaths[0]
  const replayCount = num(m.properties.headers?.[REPLAY_COUNT]) ?? 0
  return {
    vhost: m.vhost,
    queue: m.queue,
    fingerprint: m.fingerprint ?? fingerprint(m.body, m.properties),
    index: m.index,
    exchange: m.exchange,
    routingKey: m.routingKey,
    redelivered: m.redelivered,
    properties: m.properties,
    reason: reasonOf(deaths),
    sourceQueue: first?.queue ?? '',
    originalExchange: first?.exchange ?? '',
    originalRoutingKeys: first?.routingKeys ?? [],
    deathTime: first?.time,
    deaths,
    replayCount,
    payloadBytes: m.body.length,
    payloadBase64: m.body.toString('base64'),
    payloadTruncated: false,
    body: m.body,
  }
}

/**
 * Still a dead letter: it carries x-death, and it did not come back from a Warren replay since its last death
 * (a replayed message keeps x-death when the user chose so; it is dead again only if it died after the replay).
 */
export function isDeadLetter(m: Pick<DeadLetterMessage, 'deaths' | 'deathTime' | 'properties'>): boolean {
  if (!m.deaths.length) return false
  const replayed = num(m.properties.headers?.[REPLAYED_AT])
  if (replayed === undefined) return true
  return (m.deathTime ?? 0) >= replayed * 1000
}
