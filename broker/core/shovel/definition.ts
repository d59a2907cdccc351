/**
 * A dynamic shovel's definition: the value of a runtime parameter of component `shovel` (RabbitMQ's
 * rabbitmq_shovel 3.10, AMQP 0-9-1 on both ends), validated as rabbit_shovel_parameters does, with the same error
 * texts in the same order, so the HTTP API answers a bad definition with RabbitMQ's 400 reason.
 */
import { preconditionFailed } from '../errors'
import { erlangTerm, htmlEscape } from './erlang-terms'
import { parseShovelUri, type ShovelEndpointUri } from './uri'

export type AckMode = 'on-confirm' | 'on-publish' | 'no-ack'

/** Message properties a shovel may set on what it publishes (dest-publish-properties), in amqplib's option names. */
export interface PublishOverrides {
  [option: string]: unknown
}

export interface ShovelDefinition {
  srcUris: ShovelEndpointUri[]
  destUris: ShovelEndpointUri[]
  srcQueue?: string
  srcExchange?: string
  /** '' when not given (RabbitMQ's default) */
  srcExchangeKey: string
  destQueue?: string
  destExchange?: string
  destExchangeKey?: string
  ackMode: AckMode
  prefetchCount: number
  /** how many messages to move before the shovel deletes itself */
  deleteAfter: 'never' | 'queue-length' | number
  /** seconds; 0: do not reconnect */
  reconnectDelay: number
  addForwardHeaders: boolean
  addTimestampHeader: boolean
  publishProperties: PublishOverrides
}

export const DEFAULT_PREFETCH = 1000
export const DEFAULT_RECONNECT_DELAY = 5

type Check = (key: string, value: unknown) => string[]

const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value)

const number: Check = (key, value) => (isNumber(value) ? [] : [`${key} should be a number, actually was ${erlangTerm(value)}`])
const binary: Check = (key, value) => (typeof value === 'string' ? [] : [`${key} should be binary, actually was ${erlangTerm(value)}`])
const boolean: Check = (key, value) => (typeof value === 'boolean' ? [] : [`${key} should be boolean, actually was ${erlangTerm(value)}`])
const oneOf =
  (values: string[]): Check =>
  (key, value) =>
    typeof value === 'string' && values.includes(value) ? [] : [`${key} should be one of ${erlangTerm(values)}, actually was ${erlangTerm(value)}`]

const deleteAfter: Check = (key, value) =>
  value === 'never' || value === 'queue-length' || (typeof value === 'number' && Number.isInteger(value) && value >= 0)
    ? []
    : [`${key} should be a number greater than or equal to 0, "never" or "queue-length", actually was ${erlangTerm(value)}`]

const uris: Check = (key, value) => {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined
  if (!list) return [`${key} should be list, actually was ${erlangTerm(value)}`]
  return list.flatMap((uri) => {
    const parsed = parseShovelUri(uri)
    return 'error' in parsed ? [parsed.error] : []
  })
}

/** RabbitMQ's rabbit_shovel_parameters:validate_properties: AMQP basic properties by their Erlang record names. */
const PROPERTIES: Record<string, { option: string; check: Check }> = {
  content_type: { option: 'contentType', check: binary },
  content_encoding: { option: 'contentEncoding', check: binary },
  headers: { option: 'headers', check: (key, value) => (typeof value === 'object' && value !== null ? [] : [`${key} should be a table, actually was ${erlangTerm(value)}`]) },
  delivery_mode: { option: 'deliveryMode', check: number },
  priority: { option: 'priority', check: number },
  correlation_id: { option: 'correlationId', check: binary },
  reply_to: { option: 'replyTo', check: binary },
  expiration: { option: 'expiration', check: binary },
  message_id: { option: 'messageId', check: binary },
  timestamp: { option: 'timestamp', check: number },
  type: { option: 'type', check: binary },
  user_id: { option: 'userId', check: binary },
  app_id: { option: 'appId', check: binary },
  cluster_id: { option: 'clusterId', check: binary },
}

const properties: Check = (key, value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${key} should be an object, actually was ${erlangTerm(value)}`]
  const entries = Object.entries(value as Record<string, unknown>)
  const unknown = entries.filter(([name]) => !(name in PROPERTIES))
  const errors = entries.filter(([name]) => name in PROPERTIES).flatMap(([name, item]) => PROPERTIES[name].check(name, item))
  return unknown.length > 0 ? [`Unrecognised terms ${erlangTerm(Object.fromEntries(unknown))} in ${key}`, ...errors] : errors
}

/** The keys rabbit_shovel_parameters knows for AMQP 0-9-1, in its order; old (pre-3.7) names included. */
const CONSTRAINTS: Array<[string, Check, 'mandatory' | 'optional']> = [
  ['reconnect-delay', number, 'optional'],
  ['ack-mode', oneOf(['no-ack', 'on-publish', 'on-confirm']), 'optional'],
  ['src-protocol', oneOf(['amqp10', 'amqp091']), 'optional'],
  ['dest-protocol', oneOf(['amqp10', 'amqp091']), 'optional'],
  ['src-uri', uris, 'mandatory'],
  ['src-exchange', binary, 'optional'],
  ['src-exchange-key', binary, 'optional'],
  ['src-queue', binary, 'optional'],
  ['prefetch-count', number, 'optional'],
  ['src-prefetch-count', number, 'optional'],
  ['delete-after', deleteAfter, 'optional'],
  ['src-delete-after', deleteAfter, 'optional'],
  ['dest-uri', uris, 'mandatory'],
  ['dest-exchange', binary, 'optional'],
  ['dest-exchange-key', binary, 'optional'],
  ['dest-queue', binary, 'optional'],
  ['add-forward-headers', boolean, 'optional'],
  ['add-timestamp-header', boolean, 'optional'],
  ['dest-add-forward-headers', boolean, 'optional'],
  ['dest-add-timestamp-header', boolean, 'optional'],
  ['publish-properties', properties, 'optional'],
  ['dest-publish-properties', properties, 'optional'],
]

const present = (value: Record<string, unknown>, key: string) => value[key] !== undefined

/**
 * The list of reasons a definition is invalid (empty when it is valid), in RabbitMQ's order: the source and
 * destination checks, then the unrecognised keys, then each key's check from last to first (rabbit_parameter_validation
 * folds the constraints and prepends each result).
 */
export function shovelValidationErrors(name: string, value: Record<string, unknown>): string[] {
  const errors: string[] = []
  if (value['src-protocol'] === 'amqp10' || value['dest-protocol'] === 'amqp10') {
    return ['AMQP 1.0 shovels (src-protocol/dest-protocol "amqp10") are not supported by Warren; use "amqp091"']
  }
  const src = Number(present(value, 'src-exchange')) + Number(present(value, 'src-queue'))
  if (src === 0) errors.push("Must specify 'src-exchange' or 'src-queue'")
  if (src === 2) errors.push("Cannot specify 'src-exchange' and 'src-queue'")
  if (present(value, 'dest-exchange') && present(value, 'dest-queue')) errors.push("Cannot specify 'dest-exchange' and 'dest-queue'")
  const results: string[][] = []
  for (const [key, check, needed] of CONSTRAINTS) {
    if (present(value, key)) results.unshift(check(key, value[key]))
    else if (needed === 'mandatory') results.unshift([`Key "${key}" not found in ${name}`])
  }
  const known = new Set(CONSTRAINTS.map(([key]) => key))
  const unknown = Object.entries(value).filter(([key, item]) => !known.has(key) && item !== undefined)
  if (unknown.length > 0) errors.push(`Unrecognised terms ${erlangTerm(Object.fromEntries(unknown))} in ${name}`)
  for (const result of results) errors.push(...result)
  return errors
}

/** The 400 reason RabbitMQ's management API gives for these errors. */
export function validationReason(errors: string[]): string {
  return htmlEscape(`Validation failed\n\n${errors.map((e) => `${e}\n`).join('')}`)
}

/**
 * Validates a shovel's parameter value and reads it into a definition. Throws a PRECONDITION_FAILED core error (the
 * HTTP API's 400) with RabbitMQ's reason text when it is invalid.
 */
export function parseShovelDefinition(name: string, raw: unknown): ShovelDefinition {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw preconditionFailed(validationReason([`value should be a JSON object, actually was ${erlangTerm(raw)}`]))
  const value = raw as Record<string, unknown>
  const errors = shovelValidationErrors(name, value)
  if (errors.length > 0) throw preconditionFailed(validationReason(errors))
  return readDefinition(value)
}

/** A definition from an already validated value (also used at recovery, for values validated when they were set). */
export function readDefinition(value: Record<string, unknown>): ShovelDefinition {
  const endpoints = (key: string): ShovelEndpointUri[] => {
    const list = typeof value[key] === 'string' ? [value[key] as string] : ((value[key] as string[] | undefined) ?? [])
    return list.map((uri) => parseShovelUri(uri)).filter((parsed): parsed is ShovelEndpointUri => !('error' in parsed))
  }
  const str = (key: string) => (typeof value[key] === 'string' ? (value[key] as string) : undefined)
  const first = (...keys: string[]) => keys.map((key) => value[key]).find((item) => item !== undefined)
  const prefetch = first('src-prefetch-count', 'prefetch-count')
  const reconnect = value['reconnect-delay']
  const overrides: PublishOverrides = {}
  const props = first('dest-publish-properties', 'publish-properties')
  if (props && typeof props === 'object') {
    for (const [key, item] of Object.entries(props as Record<string, unknown>)) if (PROPERTIES[key]) overrides[PROPERTIES[key].option] = item
  }
  return {
    srcUris: endpoints('src-uri'),
    destUris: endpoints('dest-uri'),
    srcQueue: str('src-queue'),
    srcExchange: str('src-exchange'),
    srcExchangeKey: str('src-exchange-key') ?? '',
    destQueue: str('dest-queue'),
    destExchange: str('dest-exchange'),
    destExchangeKey: str('dest-exchange-key'),
    ackMode: (str('ack-mode') as AckMode | undefined) ?? 'on-confirm',
    prefetchCount: typeof prefetch === 'number' && prefetch >= 1 ? Math.min(Math.floor(prefetch), 65535) : DEFAULT_PREFETCH,
    deleteAfter: (first('src-delete-after', 'delete-after') as ShovelDefinition['deleteAfter'] | undefined) ?? 'never',
    reconnectDelay: typeof reconnect === 'number' ? Math.max(0, reconnect) : DEFAULT_RECONNECT_DELAY,
    addForwardHeaders: first('dest-add-forward-headers', 'add-forward-headers') === true,
    addTimestampHeader: first('dest-add-timestamp-header', 'add-timestamp-header') === true,
    publishProperties: overrides,
  }
}
