import { Decimal, decodeBasicProperties, encodeBasicProperties, plainFieldValue, TypedValue, type BasicProperties, type FieldTable, type FieldValue } from '../../protocol'
import { commandInvalid, preconditionFailed } from '../errors'
import { createRoutingTable, type RoutingTable } from '../exchanges'

/**
 * The x-delayed-message exchange type, as the rabbitmq-delayed-message-exchange plugin defines it: the exchange
 * routes like its `x-delayed-type` (direct, fanout, topic or headers); a message published with an `x-delay`
 * header of more than 0 ms (and at most 2^32-1 ms, Erlang's longest timer) is held and routed only when due.
 */
export const DELAYED_EXCHANGE_TYPE = 'x-delayed-message'

/** Erlang's longest timer, the plugin's upper bound: a longer delay means no delay at all. */
export const MAX_DELAY_MS = 4294967295

/** Whether exchange.declare accepts the type: the built-in ones and x-delayed-message. */
export function isKnownExchangeType(type: string): boolean {
  return type === DELAYED_EXCHANGE_TYPE || createRoutingTable(type) !== undefined
}

/** The x-delayed-type of a delayed exchange's arguments (undefined when missing or not a string). */
export function delayedTypeOf(args: FieldTable): string | undefined {
  const value = plainFieldValue(args['x-delayed-type'])
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('latin1')
  return undefined
}

/** Checks the arguments of a new x-delayed-message exchange, with the plugin's errors. */
export function validateDelayedArguments(args: FieldTable): void {
  const type = delayedTypeOf(args)
  // the plugin's own text (PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type)
  if (type === undefined || type === DELAYED_EXCHANGE_TYPE) {
    throw preconditionFailed(`Invalid argument, 'x-delayed-type' must be an existing exchange type`)
  }
  // rabbit_exchange:check_type, which the plugin calls on the value
  if (!createRoutingTable(type)) throw commandInvalid(`unknown exchange type '${type}'`)
}

/** The routing table of an exchange: its type's, or for x-delayed-message that of its x-delayed-type. */
export function routingTableFor(type: string, args: FieldTable): RoutingTable | undefined {
  if (type !== DELAYED_EXCHANGE_TYPE) return createRoutingTable(type)
  const delayedType = delayedTypeOf(args)
  return delayedType === undefined ? undefined : createRoutingTable(delayedType)
}

/** The routing type an exchange behaves as (its x-delayed-type for a delayed exchange). */
export function routingTypeOf(exchange: { type: string; arguments: FieldTable }): string | undefined {
  return exchange.type === DELAYED_EXCHANGE_TYPE ? delayedTypeOf(exchange.arguments) : exchange.type
}

const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l'])
const FLOAT_TYPES = new Set(['f', 'd', 'D'])

/**
 * The x-delay header as the plugin reads it: integer types as they are, strings parsed as integers, floats and
 * decimals truncated; any other type (or an unparseable string) means no delay. Undefined when absent.
 */
export function delayHeader(headers: FieldTable | undefined): number | undefined {
  if (!headers || !Object.prototype.hasOwnProperty.call(headers, 'x-delay')) return undefined
  const raw: FieldValue = headers['x-delay']
  const type = raw instanceof TypedValue ? raw.type : undefined
  const value = plainFieldValue(raw)
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'number') {
    if (type !== undefined && !INTEGER_TYPES.has(type) && !FLOAT_TYPES.has(type)) return undefined
    return Number.isFinite(value) ? Math.trunc(value) : undefined
  }
  if (typeof value === 'string') return /^[+-]?\d+$/.test(value) ? Number(value) : undefined
  if (value instanceof Decimal) return Math.trunc(value.toNumber())
  return undefined
}

/** The delay in ms a message asks for, or undefined when it is to be routed now (absent, <= 0, too long, bad type). */
export function delayOf(headers: FieldTable | undefined): number | undefined {
  const delay = delayHeader(headers)
  return delay !== undefined && delay > 0 && delay <= MAX_DELAY_MS ? delay : undefined
}

/**
 * The properties a delayed message is routed with when it falls due: x-delay becomes -x-delay (a signedint), as the
 * plugin does (a plain number encodes as signedint, or long beyond 2^31), so it is not delayed again by another delayed exchange and consumers can tell where it came from.
 */
export function dueProperties(encoded: Buffer): { properties: BasicProperties; encodedProperties: Buffer } {
  const properties = decodeBasicProperties(encoded)
  const delay = delayHeader(properties.headers)
  if (delay === undefined || delay <= 0) return { properties, encodedProperties: encoded }
  const swapped: BasicProperties = { ...properties, headers: { ...properties.headers, 'x-delay': -delay } }
  return { properties: swapped, encodedProperties: encodeBasicProperties(swapped) }
}
