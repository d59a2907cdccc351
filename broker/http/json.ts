/** Conversions between AMQP values (field tables, basic properties) and the JSON RabbitMQ's API uses. */
import { Decimal, TypedValue, plainFieldValue, type BasicProperties, type FieldTable, type FieldValue, type PlainFieldValue } from '../protocol'
import { badRequest } from './errors'

/** A field value as JSON: longstr bytes as text, timestamps as seconds, bigints as numbers. */
export function jsonValue(value: FieldValue | undefined): unknown {
  return plainToJson(plainFieldValue(value))
}

function plainToJson(value: PlainFieldValue): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value
  if (typeof value === 'bigint') return Number(value)
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (value instanceof Date) return Math.floor(value.getTime() / 1000)
  if (value instanceof Decimal) return value.toNumber()
  if (Array.isArray(value)) return value.map(plainToJson)
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    if (key === '__proto__') Object.defineProperty(out, key, { value: plainToJson(item), enumerable: true, writable: true, configurable: true })
    else out[key] = plainToJson(item)
  }
  return out
}

export function jsonTable(table: FieldTable | undefined): Record<string, unknown> {
  return table ? (jsonValue(table) as Record<string, unknown>) : {}
}

/** JSON from a request (arguments, headers) as a field table: numbers become ints or doubles by their value. */
export function fieldTableFrom(json: unknown, what = 'arguments'): FieldTable {
  if (json === undefined || json === null || (Array.isArray(json) && json.length === 0)) return {}
  if (typeof json !== 'object' || Array.isArray(json)) throw badRequest(`${what} must be a JSON object`)
  const table: FieldTable = {}
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    // JSON.parse makes "__proto__" an own key; assigning it would set the table's prototype instead (as the codec does)
    if (key === '__proto__') Object.defineProperty(table, key, { value: fieldValueFrom(value), enumerable: true, writable: true, configurable: true })
    else table[key] = fieldValueFrom(value)
  }
  return table
}

function fieldValueFrom(value: unknown): FieldValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? new TypedValue('d', value) : value
  if (Array.isArray(value)) return value.map(fieldValueFrom)
  if (typeof value === 'object') return fieldTableFrom(value)
  throw badRequest(`unsupported value ${JSON.stringify(value)}`)
}

/** AMQP basic property names as the API spells them. */
const PROPERTY_NAMES: [keyof BasicProperties, string][] = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['headers', 'headers'],
  ['deliveryMode', 'delivery_mode'],
  ['priority', 'priority'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
]

/** Message properties as /api/queues/.../get shows them; RabbitMQ writes no properties as [] (Erlang's empty list). */
export function propertiesJson(properties: BasicProperties): Record<string, unknown> | [] {
  const out: Record<string, unknown> = {}
  for (const [field, name] of PROPERTY_NAMES) {
    const value = properties[field]
    if (value === undefined || value === null) continue
    out[name] = field === 'headers' ? jsonTable(value as FieldTable) : value
  }
  return Object.keys(out).length === 0 ? [] : out
}

/** The numeric properties and their largest values: octets, and a 64-bit timestamp (as far as a JSON number is exact). */
const NUMERIC = new Map([
  ['delivery_mode', 255],
  ['priority', 255],
  ['timestamp', Number.MAX_SAFE_INTEGER],
])

/** Properties of an HTTP publish; unknown names are a 400 as in RabbitMQ. */
export function propertiesFrom(json: unknown): BasicProperties {
  if (json === undefined || json === null || (Array.isArray(json) && json.length === 0)) return {}
  if (typeof json !== 'object' || Array.isArray(json)) throw badRequest('properties must be a JSON object')
  const byName = new Map(PROPERTY_NAMES.map(([field, name]) => [name, field]))
  const properties: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    const field = byName.get(name)
    if (!field) throw badRequest(`invalid property '${name}'`)
    if (name === 'headers') properties[field] = fieldTableFrom(value, 'headers')
    else if (NUMERIC.has(name)) {
      const number = Number(value)
      // out of range it would not fit its field (priority 1e308 was a 500, found by test/soak/fuzz-http)
      const max = NUMERIC.get(name)!
      if (!Number.isInteger(number) || number < 0 || number > max) throw badRequest(`property '${name}' must be an integer from 0 to ${max}`)
      properties[field] = number
    } else {
      const text = String(value)
      // every other property is an AMQP shortstr (a 300-byte content_type was a 500 from the encoder; test/soak/fuzz-http)
      if (Buffer.byteLength(text) > 255) throw badRequest(`property '${name}' is longer than 255 bytes`)
      properties[field] = text
    }
  }
  return properties as BasicProperties
}

/** A payload as /get and /messages return it: "auto" gives text when the bytes are valid UTF-8, else base64. */
export function payloadJson(body: Buffer, encoding: 'auto' | 'base64', truncate?: number): { payload: string; payload_encoding: 'string' | 'base64' } {
  const bytes = truncate !== undefined && truncate >= 0 && body.length > truncate ? body.subarray(0, truncate) : body
  if (encoding === 'auto') {
    const text = bytes.toString('utf8')
    if (Buffer.from(text, 'utf8').equals(bytes)) return { payload: text, payload_encoding: 'string' }
  }
  return { payload: bytes.toString('base64'), payload_encoding: 'base64' }
}
