/**
 * Scheduled (delayed) messages: schedule, list, cancel, reschedule, deliver now.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 *
 * Three mechanisms, picked per broker (scheduled.capabilities says which):
 *  - 'warren': the embedded broker (or any Warren broker): x-delayed-message exchanges whose scheduled messages the
 *    broker stores and lists (HTTP API: /api/exchanges/{vhost}/{name}/scheduled…). Listable, cancellable.
 *  - 'plugin': RabbitMQ with rabbitmq_delayed_message_exchange: the console publishes through the plugin; RabbitMQ
 *    cannot list or cancel what it holds (the console only keeps a log of what it scheduled itself).
 *  - 'ttl': RabbitMQ without the plugin: per-message TTL + dead-lettering, one delay queue per delay bucket; the
 *    console records what it scheduled and can list, cancel, reschedule and deliver now from those queues.
 */

import type { MessageProperties, Page, Result } from './index'

export type ScheduleMechanism = 'warren' | 'plugin' | 'ttl'

/** Where pending messages are listed from: a delayed exchange (warren), the console's TTL registry, or its plugin log. */
export interface ScheduledSource {
  /** 'exchange:<name>' | 'ttl' | 'plugin-log' */
  id: string
  label: string
  mechanism: ScheduleMechanism
  /** how many are pending there (when known) */
  pending?: number
  /** list, cancel, reschedule and deliver now work from this source */
  manageable: boolean
}

export interface ScheduledCapabilities {
  profileId: string
  vhost: string
  product: string
  /** what scheduling uses on this broker */
  mechanism: ScheduleMechanism
  /** every mechanism this broker supports (a request may ask for another one of these) */
  mechanisms: ScheduleMechanism[]
  /** the x-delayed-message exchange type is there (the embedded broker, or RabbitMQ with the plugin) */
  delayedExchangeType: boolean
  sources: ScheduledSource[]
  /** plain words for the view: what works and what does not on this broker */
  notice: string
  /** how precise delays are with this mechanism */
  precision: string
}

export interface ScheduleRequest {
  vhost: string
  /** the exchange the message goes to when it falls due */
  exchange: string
  routingKey: string
  properties?: MessageProperties
  body: string
  bodyEncoding: 'text' | 'json' | 'base64'
  /** when (ms since the epoch); or */
  dueAt?: number
  /** after how long (ms from now) */
  delayMs?: number
  /** default: capabilities.mechanism */
  mechanism?: ScheduleMechanism
}

export interface RouteCheck {
  /** the exchange routes the key (and headers) to at least one queue now */
  routed: boolean
  /** the queues it reaches now */
  queues: string[]
  /** for the UI, e.g. "routes to orders, audit" or why not */
  message: string
}

export interface ScheduleResult {
  id: string
  source: string
  mechanism: ScheduleMechanism
  dueAt: number
  /** set when no queue would get the message if it fell due now */
  routeWarning?: string
  /** the delay queue (ttl) */
  bucket?: string
}

export type ScheduledSort = 'dueAt' | 'routingKey' | 'exchange'

export interface ScheduledListRequest {
  vhost: string
  source: string
  /** 1-based */
  page: number
  pageSize: number
  sort?: ScheduledSort
  sortReverse?: boolean
}

export interface ScheduledItem {
  id: string
  source: string
  mechanism: ScheduleMechanism
  vhost: string
  /** where it goes when due */
  exchange: string
  routingKey: string
  /** ms since the epoch */
  dueAt: number
  properties: MessageProperties
  payloadBytes: number
  /** the delay queue holding it (ttl) */
  bucket?: string
  /** cancel / reschedule / deliver now are possible */
  manageable: boolean
}

export interface ScheduledPage extends Page<ScheduledItem> {
  /** the sort the source supports (warren lists only in due order) */
  sorts: ScheduledSort[]
  /** a note for the view, e.g. that RabbitMQ cannot list plugin-held messages */
  notice?: string
}

export interface ScheduledRef {
  vhost: string
  source: string
  id: string
}

export interface ScheduledDetail extends ScheduledItem {
  payloadBase64: string
}

export interface RescheduleRequest extends ScheduledRef {
  dueAt?: number
  delayMs?: number
}

export interface ScheduledTimeline {
  /** start of the first slot and end of the last (ms since the epoch); 0 when nothing is pending */
  from: number
  to: number
  slotMs: number
  counts: number[]
  total: number
}

export interface UnroutedScheduled {
  id: string
  /** the exchange that held it */
  exchange: string
  /** where it was meant to go */
  target: string
  routingKey: string
  dueAt: number
  /** when it was found to reach no queue */
  at: number
  reason: string
  properties: MessageProperties
  payloadBase64: string
  payloadBytes: number
}

export interface ScheduledCommands {
  /** what this broker offers: mechanism, sources to list, what the view must say */
  'scheduled.capabilities': (req: { vhost: string }) => Promise<Result<ScheduledCapabilities>>
  /** whether the exchange routes the key to a queue now (the form warns when not) */
  'scheduled.checkRoute': (req: { vhost: string; exchange: string; routingKey: string; headers?: MessageProperties['headers'] }) => Promise<Result<RouteCheck>>
  'scheduled.schedule': (req: ScheduleRequest) => Promise<Result<ScheduleResult>>
  'scheduled.list': (req: ScheduledListRequest) => Promise<Result<ScheduledPage>>
  'scheduled.get': (req: ScheduledRef) => Promise<Result<ScheduledDetail>>
  'scheduled.cancel': (req: ScheduledRef) => Promise<Result<void>>
  'scheduled.reschedule': (req: RescheduleRequest) => Promise<Result<void>>
  'scheduled.deliverNow': (req: ScheduledRef) => Promise<Result<void>>
  'scheduled.timeline': (req: { vhost: string; source: string; slots?: number }) => Promise<Result<ScheduledTimeline>>
  /** due messages that reached no queue (warren sources) */
  'scheduled.unrouted': (req: { vhost: string; source: string }) => Promise<Result<UnroutedScheduled[]>>
  'scheduled.clearUnrouted': (req: { vhost: string; source: string }) => Promise<Result<void>>
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ScheduledEvents {}

export const SCHEDULED_COMMANDS: { readonly [K in keyof ScheduledCommands]: true } = {
  'scheduled.capabilities': true,
  'scheduled.checkRoute': true,
  'scheduled.schedule': true,
  'scheduled.list': true,
  'scheduled.get': true,
  'scheduled.cancel': true,
  'scheduled.reschedule': true,
  'scheduled.deliverNow': true,
  'scheduled.timeline': true,
  'scheduled.unrouted': true,
  'scheduled.clearUnrouted': true,
}
export const SCHEDULED_EVENTS: { readonly [E in keyof ScheduledEvents]: true } = {}
