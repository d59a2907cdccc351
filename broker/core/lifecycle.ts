import { Decimal, encodeBasicProperties, plainFieldValue, TypedValue, type BasicProperties, type FieldTable, type FieldValue } from '../protocol'
import { typeName } from './arguments'
import { describeResource, preconditionFailed } from './errors'
import type { Message } from './message'
import type { PolicyDefinition } from './policy'

/** Why a message was dead-lettered (the x-death reason). */
export type DeathReason = 'rejected' | 'expired' | 'maxlen'

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx'

/** A queue's effective lifecycle settings: its arguments combined with the policy in force. */
export interface QueueSettings {
  messageTtl?: number
  expires?: number
  deadLetterExchange?: string
  deadLetterRoutingKey?: string
  maxLength?: number
  maxLengthBytes?: number
  overflow: Overflow
  singleActiveConsumer: boolean
}

const INTEGER_TYPES = new Set(['byte', 'short', 'signedint', 'long', 'unsignedbyte', 'unsignedshort', 'unsignedint'])

function plainNumber(value: FieldValue | undefined): number | undefined {
  if (value === undefined) return undefined
  const plain = plainFieldValue(value)
  return typeof plain === 'bigint' ? Number(plain) : typeof plain === 'number' ? plain : undefined
}

function plainString(value: FieldValue | undefined): string | undefined {
  if (value === undefined) return undefined
  const plain = plainFieldValue(value)
  return typeof plain === 'string' ? plain : Buffer.isBuffer(plain) ? plain.toString('utf8') : undefined
}

/**
 * Combines queue arguments with a policy as RabbitMQ 3.10 does (rabbit_queue_type_util:args_policy_lookup): for
 * TTLs, expiry and length limits the lower of the two wins; for dead-lettering and overflow the argument wins.
 */
export function queueSettings(args: FieldTable, policy: PolicyDefinition | undefined): QueueSettings {
  const lower = (arg: number | undefined, fromPolicy: number | undefined) => (arg === undefined ? fromPolicy : fromPolicy === undefined ? arg : Math.min(arg, fromPolicy))
  const argDlx = plainString(args['x-dead-letter-exchange'])
  return {
    messageTtl: lower(plainNumber(args['x-message-ttl']), policy?.['message-ttl']),
    expires: lower(plainNumber(args['x-expires']), policy?.expires),
    deadLetterExchange: argDlx ?? policy?.['dead-letter-exchange'],
    deadLetterRoutingKey: plainString(args['x-dead-letter-routing-key']) ?? policy?.['dead-letter-routing-key'],
    maxLength: lower(plainNumber(args['x-max-length']), policy?.['max-length']),
    maxLengthBytes: lower(plainNumber(args['x-max-length-bytes']), policy?.['max-length-bytes']),
    overflow: (plainString(args['x-overflow']) as Overflow | undefined) ?? policy?.overflow ?? 'drop-head',
    singleActiveConsumer: plainFieldValue(args['x-single-active-consumer'] ?? false) === true,
  }
}

/**
 * Validates the lifecycle arguments of queue.declare as rabbit_amqqueue:declare_args does, with its 406 texts
 * ("invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}").
 */
export function validateLifecycleArguments(vhost: string, queue: string, args: FieldTable): void {
  const fail = (key: string, error: string) => {
    throw preconditionFailed(`invalid arg '${key}' for ${describeResource('queue', vhost, queue)}: ${error}`)
  }
  const integer = (key: string, check: (value: number) => string | undefined) => {
    const value = args[key]
    if (value === undefined) return
    const type = typeName(value)
    if (!INTEGER_TYPES.has(type)) return fail(key, `"expected integer, got ${type}"`)
    const error = check(plainNumber(value)!)
    if (error) fail(key, error)
  }
  const nonNegative = (value: number) => (value < 0 ? `{value_negative,${value}}` : undefined)
  const dlx = args['x-dead-letter-exchange']
  if (dlx !== undefined && typeName(dlx) !== 'longstr') {
    throw preconditionFailed(`invalid type '${typeName(dlx)}' for arg 'x-dead-letter-exchange' in ${describeResource('queue', vhost, queue)}`)
  }
  // A dead-lettered message carries the DLX name and routing key to consumers in basic.deliver's shortstr fields: longer
  // ones could never be delivered (a message expiring into one threw out of its TTL timer and killed the broker)
  if (dlx !== undefined && Buffer.byteLength(plainString(dlx) ?? '') > 255) fail('x-dead-letter-exchange', '{name_too_long,255}')
  integer('x-expires', (value) => (value < 0 ? `{value_negative,${value}}` : value === 0 ? `{value_zero,${value}}` : undefined))
  integer('x-message-ttl', nonNegative)
  const dlrk = args['x-dead-letter-routing-key']
  if (dlrk !== undefined) {
    if (typeName(dlrk) !== 'longstr') fail('x-dead-letter-routing-key', `{unacceptable_type,${typeName(dlrk)}}`)
    else if (dlx === undefined) fail('x-dead-letter-routing-key', 'routing_key_but_no_dlx_defined')
    else if (Buffer.byteLength(plainString(dlrk) ?? '') > 255) fail('x-dead-letter-routing-key', '{routing_key_too_long,255}')
  }
  integer('x-max-length', nonNegative)
  integer('x-max-length-bytes', nonNegative)
  integer('x-max-priority', (value) => (value < 0 ? `{value_negative,${value}}` : value > 255 ? `{max_value_exceeded,${value}}` : undefined))
  const overflow = args['x-overflow']
  if (overflow !== undefined) {
    if (typeName(overflow) !== 'longstr') fail('x-overflow', `{unacceptable_type,${typeName(overflow)}}`)
    else if (!['drop-head', 'reject-publish', 'reject-publish-dlx'].includes(plainString(overflow)!)) fail('x-overflow', 'invalid_overflow')
  }
  const mode = args['x-queue-mode']
  if (mode !== undefined) {
    if (typeName(mode) !== 'longstr') fail('x-queue-mode', `{unacceptable_type,${typeName(mode)}}`)
    else if (!['default', 'lazy'].includes(plainString(mode)!)) fail('x-queue-mode', `"unsupported queue mode '${plainString(mode)}'"`)
  }
  const sac = args['x-single-active-consumer']
  if (sac !== undefined && typeName(sac) !== 'bool') fail('x-single-active-consumer', `{unacceptable_type,${typeName(sac)}}`)
  const type = args['x-queue-type']
  if (type !== undefined) {
    if (typeName(type) !== 'longstr') fail('x-queue-type', `{unacceptable_type,${typeName(type)}}`)
    else if (plainString(type) !== 'classic') fail('x-queue-type', `"unsupported queue type '${plainString(type)}'"`)
  }
}

/** The per-message TTL of the expiration property, in ms; undefined when absent or not a valid one. */
export function messageExpiration(properties: BasicProperties): number | undefined {
  const expiration = properties.expiration
  if (expiration === undefined || !/^[+-]?\d+$/.test(expiration)) return undefined
  const value = Number(expiration)
  return value < 0 ? undefined : value
}

/** The largest TTL RabbitMQ accepts (rabbit_misc:check_expiry, ?MAX_EXPIRY_TIMER). */
const MAX_EXPIRY = 4294967295

/**
 * Validates the expiration property of a publish as rabbit_channel:check_expiration_header does (Erlang's
 * string:to_integer, then non-negative); throws its 406 "invalid expiration '...': ..." otherwise.
 */
export function checkExpiration(properties: BasicProperties): void {
  const expiration = properties.expiration
  if (expiration === undefined) return
  const match = /^([+-]?\d+)(.*)$/s.exec(expiration)
  let error: string | undefined
  if (!match) error = 'no_integer'
  else if (match[2] !== '') error = `{leftover_string,${JSON.stringify(match[2])}}`
  else {
    const value = Number(match[1])
    if (value < 0) error = `{value_negative,${value}}`
    else if (value > MAX_EXPIRY) error = `{value_too_large,${value}}`
  }
  if (error) throw preconditionFailed(`invalid expiration '${expiration}': ${error}`)
}

/**
 * The routing keys a message was published with: its routing key, then the CC and BCC header keys
 * (RabbitMQ's sender-selected distribution, rabbit_basic:header_routes).
 */
export function headerRoutes(headers: FieldTable | undefined): string[] {
  const routes: string[] = []
  for (const key of ['CC', 'BCC']) {
    const value = headers?.[key]
    if (value === undefined) continue
    const plain = plainFieldValue(value)
    if (Array.isArray(plain)) for (const item of plain) if (typeof item === 'string') routes.push(item)
  }
  return routes
}

/** What a dead-lettered copy looks like: where it goes, with its new headers (rabbit_dead_letter:make_msg, 3.10). */
export interface DeadLetter {
  properties: BasicProperties
  /** the keys to route it with */
  routingKeys: string[]
}

/**
 * Builds the properties of a dead-lettered copy as RabbitMQ 3.10 does: the x-death entry for (queue, reason) is
 * counted up and moved to the front (or added, count 1, with the time, exchange, routing keys and
 * original-expiration); x-first-death-* are set once; the expiration property is removed.
 */
export function deadLetterMessage(message: Message, reason: DeathReason, queue: string, deadLetterRoutingKey: string | undefined, now: number): DeadLetter | undefined {
  const properties: BasicProperties = { ...message.properties }
  const headers: FieldTable = { ...(properties.headers ?? {}) }
  const originalRoutes = [message.routingKey, ...headerRoutes(message.properties.headers)]
  const info: FieldTable = {
    count: new TypedValue('l', 1),
    reason,
    queue,
    time: new TypedValue('T', Math.floor(now / 1000)),
    exchange: message.exchange,
    'routing-keys': originalRoutes,
  }
  if (properties.expiration !== undefined) info['original-expiration'] = properties.expiration
  const existing = headers['x-death']
  const deaths = existing === undefined ? undefined : plainFieldValue(existing)
  if (Array.isArray(deaths)) {
    const raw = existing instanceof TypedValue ? (existing.value as FieldValue[]) : (existing as FieldValue[])
    const isTable = (death: FieldValue) =>
      death instanceof TypedValue ? death.type === 'F' : typeof death === 'object' && death !== null && !Array.isArray(death) && !(death instanceof Date) && !(death instanceof Decimal) && !Buffer.isBuffer(death)
    // RabbitMQ 3.10 fails to dead-letter a message whose x-death array holds anything but tables: it is lost
    if (!raw.every(isTable)) return undefined
    const tables = [...raw] as (FieldTable | TypedValue)[]
    const asTable = (death: FieldTable | TypedValue): FieldTable => (death instanceof TypedValue ? (death.value as FieldTable) : death)
    const index = tables.findIndex((death) => plainString(asTable(death).queue) === queue && plainString(asTable(death).reason) === reason)
    let first: FieldTable = info
    if (index >= 0) {
      const match = asTable(tables[index])
      first = { ...match, count: new TypedValue('l', (plainNumber(match.count) ?? 0) + 1) }
      tables.splice(index, 1)
    }
    headers['x-death'] = [first, ...tables]
  } else {
    headers['x-death'] = [info]
    headers['x-first-death-reason'] = reason
    headers['x-first-death-queue'] = queue
    headers['x-first-death-exchange'] = message.exchange
  }
  if (deadLetterRoutingKey !== undefined) delete headers.CC
  properties.headers = headers
  delete properties.expiration
  return { properties, routingKeys: deadLetterRoutingKey === undefined ? originalRoutes : [deadLetterRoutingKey] }
}

/**
 * RabbitMQ 3.10's cycle rule (rabbit_dead_letter:is_cycle): a dead-lettered message that would reach a queue it
 * already died in is dropped for that queue, unless one of the deaths since (and including) that one was a reject.
 */
export function isDeadLetterCycle(properties: BasicProperties, reason: DeathReason, target: string): boolean {
  if (reason === 'rejected') return false
  const deaths = plainFieldValue(properties.headers?.['x-death'] ?? null)
  if (!Array.isArray(deaths)) return false
  const index = deaths.findIndex((death) => typeof death === 'object' && death !== null && !Array.isArray(death) && (death as Record<string, unknown>).queue === target)
  if (index < 0) return false
  return deaths.slice(0, index + 1).every((death) => typeof death === 'object' && death !== null && !Array.isArray(death) && (death as Record<string, unknown>).reason !== 'rejected')
}

export function encodeProperties(properties: BasicProperties): Buffer {
  return encodeBasicProperties(properties)
}
