/**
 * The ONE contract between Warren's console backend and its user interface.
 *
 * Only two shapes cross the boundary:
 *  - commands: request → Promise of a `Result` (errors cross as data, never as thrown exceptions), and
 *  - events: pushed from the backend, fire-and-forget.
 *
 * The desktop preload (main/shell/preload.ts) implements `WarrenBridge` over Electron IPC; a future web console
 * implements the same interface over HTTP, so the renderer cannot tell them apart.
 *
 * This file must stay free of runtime dependencies (no electron, no node:*): the renderer and the preload
 * bundle it.
 */

import { DEAD_LETTER_COMMANDS, DEAD_LETTER_EVENTS, type DeadLetterCommands, type DeadLetterEvents } from './dead-letters'
import { METRICS_COMMANDS, METRICS_EVENTS, type MetricsCommands, type MetricsEvents } from './metrics'
import { TOPOLOGY_COMMANDS, TOPOLOGY_EVENTS, type TopologyCommands, type TopologyEvents } from './topology'
import { SCHEDULED_COMMANDS, SCHEDULED_EVENTS, type ScheduledCommands, type ScheduledEvents } from './scheduled'
import { CLUSTER_COMMANDS, CLUSTER_EVENTS, type ClusterCommands, type ClusterEvents } from './cluster'

export * from './dead-letters'
export * from './metrics'
export * from './scheduled'
export * from './topology'
export * from './cluster'

// ---------------------------------------------------------------------------------------------------------------
// Errors and results

export interface WarrenError {
  /** stable, machine-readable: e.g. 'UNKNOWN_COMMAND', 'FORBIDDEN', 'BROKER_NOT_RUNNING', 'INTERNAL' */
  code: string
  /** for humans; for broker errors, the broker's reply text */
  message: string
  /** the broker's reply code (AMQP reply code or HTTP status), when the error came from the broker */
  replyCode?: number
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: WarrenError }

export function ok<T>(value: T): Result<T> {
  return { ok: true, value }
}

export function err<T = never>(code: string, message: string): Result<T> {
  return { ok: false, error: { code, message } }
}

/** Turns anything thrown into a WarrenError; an Error carrying a string `code` keeps it. */
export function toWarrenError(e: unknown, fallbackCode = 'INTERNAL'): WarrenError {
  if (e instanceof Error) {
    const { code, replyCode } = e as Error & { code?: unknown; replyCode?: unknown }
    const error: WarrenError = { code: typeof code === 'string' && code !== '' ? code : fallbackCode, message: e.message }
    if (typeof replyCode === 'number') error.replyCode = replyCode
    return error
  }
  return { code: fallbackCode, message: typeof e === 'string' ? e : 'unknown error' }
}

/** Unwraps a Result, throwing a WarrenCommandError when it is an error. For callers that prefer exceptions. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value
  throw new WarrenCommandError(result.error)
}

export class WarrenCommandError extends Error {
  readonly code: string
  constructor(error: WarrenError) {
    super(error.message)
    this.name = 'WarrenCommandError'
    this.code = error.code
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Data types

export type BrokerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

/** The embedded broker as the console sees it. Fields other than `state` are present when known. */
export interface BrokerStatus {
  state: BrokerState
  /** for clients on this machine, e.g. amqp://127.0.0.1:5672 */
  amqpUrl?: string
  host?: string
  port?: number
  /** absolute path of the SQLite store; absent for an in-memory store */
  dataDir?: string
  /** milliseconds since the broker reported it was listening */
  uptimeMs?: number
  /** process id of the broker host process */
  pid?: number
  /** why the broker is `failed` (or why it stopped unexpectedly) */
  error?: WarrenError
  /** the broker's management HTTP API (RabbitMQ-compatible), e.g. http://127.0.0.1:15672 */
  httpUrl?: string
}

// ---------------------------------------------------------------------------------------------------------------
// Console data: profiles, broker objects, messages


export interface ConnectionProfile {
  id: string
  name: string
  /** 'embedded' is the console's own broker: always present, cannot be deleted */
  kind: 'embedded' | 'remote'
  amqpUrl: string
  managementUrl: string
  username: string
  vhost: string
  /** shown colour-coded everywhere */
  production: boolean
  /** every changing action is refused (backend) and disabled (UI) */
  readOnly: boolean
  /** the password is stored encrypted and never leaves the backend */
  hasPassword: boolean
}

export interface ProfileInput {
  name: string
  amqpUrl: string
  managementUrl: string
  username: string
  /** omitted on update = keep the stored one */
  password?: string
  vhost: string
  production: boolean
  readOnly: boolean
}

export interface ProfilesState {
  profiles: ConnectionProfile[]
  activeId: string
}

export interface ProfileTestResult {
  amqp: { ok: boolean; message: string }
  management: { ok: boolean; message: string; product?: string }
}

/** A JSON value: what x-arguments, headers and table fields may hold. */
export type ArgValue = string | number | boolean | null | ArgValue[] | { [key: string]: ArgValue }
export type ArgTable = Record<string, ArgValue>

export interface ObjectRef {
  vhost: string
  name: string
}

export interface ListRequest {
  /** omitted: all vhosts */
  vhost?: string
  /** 1-based */
  page: number
  pageSize: number
  /** a field name of the listed item, e.g. 'name', 'messages' */
  sort?: string
  sortReverse?: boolean
  /** name filter (substring, or a regular expression when `regex`) */
  filter?: string
  regex?: boolean
}

export interface Page<T> {
  items: T[]
  page: number
  pageSize: number
  /** matching the filter */
  filteredCount: number
  totalCount: number
}

export interface Rates {
  publish: number
  deliver: number
  ack: number
  redeliver: number
}

export interface Totals {
  queues: number
  exchanges: number
  connections: number
  channels: number
  consumers: number
  messages: number
  messagesReady: number
  messagesUnacked: number
}

export interface NodeFacts {
  name: string
  running: boolean
  uptimeMs?: number
  memUsed?: number
  memLimit?: number
  diskFree?: number
  fdUsed?: number
  fdTotal?: number
  processors?: number
}

export interface Overview {
  profileId: string
  /** 'RabbitMQ' or 'Warren' */
  product: string
  productVersion: string
  managementVersion?: string
  clusterName?: string
  node?: string
  totals: Totals
  rates: Rates
  nodes: NodeFacts[]
  /** how messages.browse works on this broker */
  browseMode: BrowseMode
  /** listeners: protocol → port */
  listeners: { protocol: string; port: number }[]
}

export interface OverviewTick {
  profileId: string
  at: number
  totals: Totals
  rates: Rates
}

export interface QueueSummary {
  vhost: string
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  exclusive: boolean
  arguments: ArgTable
  messages: number
  messagesReady: number
  messagesUnacked: number
  consumers: number
  state: string
  publishRate: number
  deliverRate: number
}

export interface Binding {
  vhost: string
  source: string
  destination: string
  destinationType: 'queue' | 'exchange'
  routingKey: string
  arguments: ArgTable
  propertiesKey: string
}

export interface ConsumerInfo {
  consumerTag: string
  channel: string
  ackRequired: boolean
  exclusive: boolean
  prefetchCount: number
}

export interface QueueDetails extends QueueSummary {
  bindings: Binding[]
  consumerDetails: ConsumerInfo[]
  node?: string
  memory?: number
}

export interface ExchangeSummary {
  vhost: string
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  arguments: ArgTable
  publishInRate: number
  publishOutRate: number
}

export interface ExchangeDetails extends ExchangeSummary {
  /** bindings where this exchange is the source */
  outgoing: Binding[]
  /** exchange-to-exchange bindings where this exchange is the destination */
  incoming: Binding[]
}

export interface QueueSpec {
  vhost: string
  name: string
  /** 'classic' | 'quorum' | 'stream' (x-queue-type) */
  type?: string
  durable: boolean
  autoDelete: boolean
  arguments: ArgTable
}

export interface ExchangeSpec {
  vhost: string
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  arguments: ArgTable
}

export interface BindingSpec {
  vhost: string
  source: string
  destination: string
  destinationType: 'queue' | 'exchange'
  routingKey: string
  arguments: ArgTable
}

/** 'peek': non-destructive (embedded broker); 'requeue': basic.get then requeue (RabbitMQ: sets redelivered, may reorder) */
export type BrowseMode = 'peek' | 'requeue'

export interface MessageProperties {
  contentType?: string
  contentEncoding?: string
  deliveryMode?: number
  priority?: number
  correlationId?: string
  replyTo?: string
  expiration?: string
  messageId?: string
  timestamp?: number
  type?: string
  userId?: string
  appId?: string
  headers?: ArgTable
}

export interface BrowsedMessage {
  /** position in the queue when browsed (0 = head) */
  index: number
  exchange: string
  routingKey: string
  redelivered: boolean
  properties: MessageProperties
  /** the body, base64 (always: bodies are bytes) */
  payloadBase64: string
  payloadBytes: number
}

export interface BrowseRequest {
  vhost: string
  queue: string
  offset: number
  limit: number
}

export interface BrowseResult {
  mode: BrowseMode
  messages: BrowsedMessage[]
  /** messages in the queue when browsed */
  total: number
  /** what this browse cost, for the UI to show */
  notice?: string
}

export interface GetRequest {
  vhost: string
  queue: string
  count: number
  ackMode: 'ack_requeue_true' | 'ack_requeue_false' | 'reject_requeue_true' | 'reject_requeue_false'
}

export interface PublishRequest {
  vhost: string
  exchange: string
  routingKey: string
  properties: MessageProperties
  body: string
  bodyEncoding: 'text' | 'json' | 'base64'
  /** default 1 */
  repeat?: number
}

export interface PublishResult {
  published: number
  /** how many were routed to at least one queue */
  routed: number
}

export interface ConnectionInfo {
  name: string
  user: string
  vhost: string
  peerHost: string
  peerPort: number
  client: string
  channels: number
  state: string
  protocol: string
  connectedAt?: number
  recvRate: number
  sendRate: number
}

export interface ChannelInfo {
  name: string
  connectionName: string
  number: number
  user: string
  vhost: string
  consumers: number
  prefetchCount: number
  unacked: number
  confirm: boolean
  transactional: boolean
  state: string
  publishRate: number
}

// ---------------------------------------------------------------------------------------------------------------
// Commands and events

/** The management commands: profiles and every broker object. */
export interface ManagementCommands {
  'broker.status': (req: void) => Promise<Result<BrokerStatus>>
  'profiles.list': (req: void) => Promise<Result<ProfilesState>>
  'profiles.add': (req: ProfileInput) => Promise<Result<ConnectionProfile>>
  'profiles.update': (req: { id: string; changes: Partial<ProfileInput> }) => Promise<Result<ConnectionProfile>>
  'profiles.delete': (req: { id: string }) => Promise<Result<ProfilesState>>
  /** tries the AMQP and management endpoints of a saved profile, or of unsaved input */
  'profiles.test': (req: { id: string } | { input: ProfileInput }) => Promise<Result<ProfileTestResult>>
  'profiles.activate': (req: { id: string }) => Promise<Result<ProfilesState>>
  'overview.get': (req: void) => Promise<Result<Overview>>
  'vhosts.list': (req: void) => Promise<Result<string[]>>
  'exchanges.list': (req: ListRequest) => Promise<Result<Page<ExchangeSummary>>>
  'exchanges.get': (req: ObjectRef) => Promise<Result<ExchangeDetails>>
  'exchanges.create': (req: ExchangeSpec) => Promise<Result<void>>
  'exchanges.delete': (req: ObjectRef & { ifUnused?: boolean }) => Promise<Result<void>>
  'queues.list': (req: ListRequest) => Promise<Result<Page<QueueSummary>>>
  'queues.get': (req: ObjectRef) => Promise<Result<QueueDetails>>
  'queues.create': (req: QueueSpec) => Promise<Result<void>>
  'queues.delete': (req: ObjectRef & { ifUnused?: boolean; ifEmpty?: boolean }) => Promise<Result<void>>
  'queues.purge': (req: ObjectRef) => Promise<Result<void>>
  'bindings.create': (req: BindingSpec) => Promise<Result<void>>
  'bindings.delete': (req: BindingSpec & { propertiesKey: string }) => Promise<Result<void>>
  /** pages through a queue's messages without consuming them (see BrowseResult.mode for what it costs) */
  'messages.browse': (req: BrowseRequest) => Promise<Result<BrowseResult>>
  /** basic.get: takes messages, then acks or requeues them as asked */
  'messages.get': (req: GetRequest) => Promise<Result<BrowsedMessage[]>>
  'messages.publish': (req: PublishRequest) => Promise<Result<PublishResult>>
  'connections.list': (req: ListRequest) => Promise<Result<Page<ConnectionInfo>>>
  'connections.close': (req: { name: string; reason?: string }) => Promise<Result<void>>
  'channels.list': (req: ListRequest) => Promise<Result<Page<ChannelInfo>>>
  /**
   * Closes one channel (channel.close 320 CONNECTION_FORCED), leaving its connection open. The embedded broker only
   * (a Warren extension of the HTTP API); RabbitMQ's API cannot, so a remote profile gets an UNSUPPORTED error.
   */
  'channels.close': (req: { name: string; reason?: string }) => Promise<Result<void>>
}

/** The management events. */
export interface ManagementEvents {
  'broker.statusChanged': BrokerStatus
  'profiles.changed': ProfilesState
  /** the active broker's totals and rates, at most every 2 s while a console listens */
  'overview.tick': OverviewTick
}

/**
 * Command name → (request) ⇒ Promise<Result<response>>. Requests and responses are plain data (structured-clonable).
 * Each area of the console declares its commands and events in its own file; this is their union.
 */
export interface WarrenCommands extends ManagementCommands, MetricsCommands, DeadLetterCommands, ScheduledCommands, TopologyCommands, ClusterCommands {}

/** Event name → payload, pushed from the backend to every console window. */
export interface WarrenEvents extends ManagementEvents, MetricsEvents, DeadLetterEvents, ScheduledEvents, TopologyEvents, ClusterEvents {}

export type CommandName = keyof WarrenCommands
export type EventName = keyof WarrenEvents
export type CommandRequest<K extends CommandName> = Parameters<WarrenCommands[K]>[0]
export type CommandResponse<K extends CommandName> = Awaited<ReturnType<WarrenCommands[K]>> extends Result<infer T> ? T : never

/**
 * Runtime lists of command and event names (the preload and the HTTP server validate against them). Written as
 * records keyed by the interfaces so the compiler fails when a name is added to one but not the other.
 */
const MANAGEMENT_COMMANDS: { readonly [K in keyof ManagementCommands]: true } = {
  'broker.status': true,
  'profiles.list': true,
  'profiles.add': true,
  'profiles.update': true,
  'profiles.delete': true,
  'profiles.test': true,
  'profiles.activate': true,
  'overview.get': true,
  'vhosts.list': true,
  'exchanges.list': true,
  'exchanges.get': true,
  'exchanges.create': true,
  'exchanges.delete': true,
  'queues.list': true,
  'queues.get': true,
  'queues.create': true,
  'queues.delete': true,
  'queues.purge': true,
  'bindings.create': true,
  'bindings.delete': true,
  'messages.browse': true,
  'messages.get': true,
  'messages.publish': true,
  'connections.list': true,
  'connections.close': true,
  'channels.list': true,
  'channels.close': true,
}
const MANAGEMENT_EVENTS: { readonly [E in keyof ManagementEvents]: true } = { 'broker.statusChanged': true, 'profiles.changed': true, 'overview.tick': true }
const COMMANDS: { readonly [K in CommandName]: true } = { ...MANAGEMENT_COMMANDS, ...METRICS_COMMANDS, ...DEAD_LETTER_COMMANDS, ...SCHEDULED_COMMANDS, ...TOPOLOGY_COMMANDS, ...CLUSTER_COMMANDS }
const EVENTS: { readonly [E in EventName]: true } = { ...MANAGEMENT_EVENTS, ...METRICS_EVENTS, ...DEAD_LETTER_EVENTS, ...SCHEDULED_EVENTS, ...TOPOLOGY_EVENTS, ...CLUSTER_EVENTS }
export const COMMAND_NAMES = Object.freeze(Object.keys(COMMANDS)) as readonly CommandName[]
export const EVENT_NAMES = Object.freeze(Object.keys(EVENTS)) as readonly EventName[]

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(COMMANDS, name)
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(EVENTS, name)
}

/** The IPC channel names used by the desktop bridge. */
export function commandChannel(name: CommandName): string {
  return `warren:command:${name}`
}
export function eventChannel(name: EventName): string {
  return `warren:event:${name}`
}

/** What the renderer sees as `window.warren`, whatever transport is underneath (Electron IPC, HTTP). */
export interface WarrenBridge {
  invoke<K extends CommandName>(command: K, request: CommandRequest<K>): ReturnType<WarrenCommands[K]>
  /** Subscribes to a pushed event; returns a function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: WarrenEvents[E]) => void): () => void
}

/**
 * What the backend implements: one function per command, returning the bare value (or a Promise of it). A thrown
 * error is turned into `{ ok: false, error }` by `dispatchCommand`, so handlers never build Results themselves.
 */
export type CommandHandlers = {
  [K in CommandName]: (request: CommandRequest<K>) => CommandResponse<K> | Promise<CommandResponse<K>>
}

/** Runs one command against the handlers; never throws, never rejects. */
export async function dispatchCommand(handlers: CommandHandlers, name: unknown, request: unknown): Promise<Result<unknown>> {
  if (!isCommandName(name)) return err('UNKNOWN_COMMAND', `unknown command: ${String(name)}`)
  try {
    const handler = handlers[name] as (req: unknown) => unknown
    return ok(await handler(request))
  } catch (e) {
    return { ok: false, error: toWarrenError(e) }
  }
}
