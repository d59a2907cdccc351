import { encodeFieldTable, plainFieldValue, TypedValue, type FieldTable, type FieldValue } from '../protocol'

/** RabbitMQ's names for field types, as they appear in its "inequivalent arg" messages. */
export function typeName(value: FieldValue | undefined): string {
  if (value instanceof TypedValue) {
    const names: Record<string, string> = { b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'signedint', i: 'unsignedint', l: 'long', f: 'float', d: 'double', S: 'longstr' }
    return names[value.type] ?? value.type
  }
  if (typeof value === 'boolean') return 'bool'
  if (typeof value === 'number') return Number.isInteger(value) ? ((value | 0) === value ? 'signedint' : 'long') : 'double'
  if (typeof value === 'bigint') return 'long'
  if (typeof value === 'string') return 'longstr'
  if (Buffer.isBuffer(value)) return 'binary'
  if (Array.isArray(value)) return 'array'
  if (value instanceof Date) return 'timestamp'
  if (value === null) return 'void'
  return 'table'
}

function sameValue(a: FieldValue | undefined, b: FieldValue | undefined): boolean {
  const plainA = a === undefined ? undefined : plainFieldValue(a)
  const plainB = b === undefined ? undefined : plainFieldValue(b)
  if (typeof plainA === 'number' || typeof plainA === 'bigint') return String(plainA) === String(plainB)
  return JSON.stringify(plainA) === JSON.stringify(plainB)
}

const INTEGER_TYPE_NAMES = new Set(['byte', 'short', 'signedint', 'long', 'unsignedbyte', 'unsignedshort', 'unsignedint', 'decimal'])

function typeClass(value: FieldValue | undefined): string {
  const name = typeName(value)
  return INTEGER_TYPE_NAMES.has(name) ? 'int' : name === 'float' || name === 'double' ? 'float' : name
}

const show = (value: FieldValue | undefined) => String(value === undefined ? '' : plainFieldValue(value))

/** The queue arguments RabbitMQ 3.10 compares on redeclare (rabbit_amqqueue:declare_args). */
const QUEUE_EQUIVALENCE_KEYS = new Set([
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-single-active-consumer',
  'x-queue-type',
  'x-quorum-initial-group-size',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-initial-cluster-size',
  'x-queue-leader-locator',
])

/** The exchange arguments compared on redeclare: alternate-exchange (rabbit_exchange), x-delayed-type (the plugin). */
const EXCHANGE_EQUIVALENCE_KEYS = new Set(['alternate-exchange', 'x-delayed-type'])

/**
 * Compares redeclared arguments with the current ones, as RabbitMQ's rabbit_misc:assert_args_equivalence does, and
 * returns the explanation of the first difference, or undefined when they are equivalent.
 */
export function argumentsDifference(kind: 'queue' | 'exchange', name: string, vhost: string, received: FieldTable, current: FieldTable): string | undefined {
  const compared = kind === 'queue' ? QUEUE_EQUIVALENCE_KEYS : EXCHANGE_EQUIVALENCE_KEYS
  const keys = new Set([...Object.keys(received), ...Object.keys(current)])
  for (const key of keys) {
    // RabbitMQ compares only the arguments it knows; others may differ on redeclare
    if (!compared.has(key)) continue
    if (sameValue(received[key], current[key])) continue
    // same type class (rabbit_misc:type_class), different value: RabbitMQ shows the bare values
    if (received[key] !== undefined && current[key] !== undefined && typeClass(received[key]) === typeClass(current[key])) {
      return `inequivalent arg '${key}' for ${kind} '${name}' in vhost '${vhost}': received '${show(received[key])}' but current is '${show(current[key])}'`
    }
    const receivedText = received[key] === undefined ? 'none' : `the value '${show(received[key])}' of type '${typeName(received[key])}'`
    const currentText = current[key] === undefined ? 'none' : `the value '${show(current[key])}' of type '${typeName(current[key])}'`
    return `inequivalent arg '${key}' for ${kind} '${name}' in vhost '${vhost}': received ${receivedText} but current is ${currentText}`
  }
  return undefined
}

/** A canonical encoding of a table (keys sorted), to compare binding arguments and key bindings by them. */
export function canonicalTableKey(table: FieldTable): string {
  const keys = Object.keys(table)
  if (keys.length === 0) return ''
  const sorted: FieldTable = {}
  for (const key of keys.sort()) sorted[key] = table[key]
  return encodeFieldTable(sorted).toString('base64')
}

/** Reads a numeric argument; undefined when absent. */
export function numericArgument(table: FieldTable, key: string): number | undefined {
  const value = table[key]
  if (value === undefined) return undefined
  const plain = plainFieldValue(value)
  return typeof plain === 'number' ? plain : typeof plain === 'bigint' ? Number(plain) : Number.NaN
}
