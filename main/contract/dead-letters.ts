/**
 * Dead letters: find, group, inspect, filter, replay, delete, export and import dead-lettered messages.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 */
import type { ArgTable, BrowseMode, MessageProperties, Result } from './index'

/** Why a message was dead-lettered (x-death[0].reason); 'unknown' when it carries no x-death. */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit' | 'unknown'

/** One entry of a message's `x-death` header (newest first), as plain data. */
export interface DeathEntry {
  count: number
  reason: string
  /** the queue the message died in */
  queue: string
  /** when (ms since the epoch); absent if the broker did not record it */
  time?: number
  /** the exchange the message had been published to */
  exchange: string
  routingKeys: string[]
  originalExpiration?: string
}

/** Why a queue is listed as a dead-letter queue. */
export type DlqEvidence = 'dlx-target' | 'x-death' | 'name'

export interface DeadLetterQueue {
  vhost: string
  name: string
  /** messages in the queue (the broker's count) */
  messages: number
  /** how many of them the scan read (browse) */
  scanned: number
  /** the scan stopped before the end of the queue (see DeadLetterScan.scanCap) */
  truncated: boolean
  evidence: DlqEvidence[]
  /** dead-letter exchanges that route here */
  deadLetterExchanges: string[]
  /** queues whose dead letters come here (x-dead-letter-exchange from their arguments or a policy) */
  sources: string[]
}

export interface DeadLetterScanRequest {
  /** default: the profile's vhost */
  vhost?: string
  /**
   * also look into every other queue with messages for ones carrying x-death. On the embedded broker this is a
   * peek; on RabbitMQ it is get + requeue (marks those messages redelivered), so it is off unless asked.
   */
  deep?: boolean
}

export interface DeadLetterScan {
  vhost: string
  /** 'Warren' or 'RabbitMQ' */
  product: string
  browseMode: BrowseMode
  /** how replay, delete and purge work, for the view to show */
  mechanism: string
  /** what browsing costs on this broker */
  browseNotice?: string
  /** the most messages read per queue */
  scanCap: number
  queues: DeadLetterQueue[]
  scannedAt: number
}

/** A filter over dead letters; every given part must match. */
export interface DeadLetterFilter {
  /** restrict to these dead-letter queues (default: every scanned one) */
  queues?: string[]
  reasons?: DeadLetterReason[]
  /** the queue the message died in (x-death[0].queue) */
  sourceQueues?: string[]
  /** death time (x-death[0].time), ms since the epoch, inclusive */
  from?: number
  to?: number
  /** header name → substring its value (as text/JSON) must contain; an empty value only needs the header present */
  headers?: { name: string; value?: string }[]
  /** substring of the body text (case-insensitive) */
  bodyText?: string
  /** a JSON path into a JSON body, e.g. `$.order.items[0].sku` */
  jsonPath?: { path: string; op: 'exists' | 'eq' | 'ne' | 'contains' | 'gt' | 'lt' | 'regex'; value?: string }
}

/**
 * Identifies one message in a queue that has no ids: a SHA-256 over the body, the properties and the x-death
 * history. Identical messages share a fingerprint; a selection of n identical ones acts on n of them.
 */
export interface DeadLetterRef {
  queue: string
  fingerprint: string
}

export interface DeadLetterMessage extends DeadLetterRef {
  vhost: string
  /** position in the queue when scanned (0 = head) */
  index: number
  /** the exchange/routing key it was dead-lettered with (the DLX route) */
  exchange: string
  routingKey: string
  redelivered: boolean
  properties: MessageProperties
  reason: DeadLetterReason
  /** x-death[0].queue */
  sourceQueue: string
  /** the original route: exchange and routing keys of x-death[0] */
  originalExchange: string
  originalRoutingKeys: string[]
  /** x-death[0].time, ms */
  deathTime?: number
  deaths: DeathEntry[]
  /** how often Warren replayed it before (x-warren-replay-count) */
  replayCount: number
  payloadBytes: number
  /** the body, base64; in lists only the first 512 bytes (see payloadTruncated) */
  payloadBase64: string
  payloadTruncated: boolean
}

export interface DeadLetterGroup {
  key: string
  count: number
  /** death times, ms */
  firstAt?: number
  lastAt?: number
}

export interface DeadLetterGroups {
  byReason: DeadLetterGroup[]
  bySourceQueue: DeadLetterGroup[]
  /** key "exchange → routing keys" */
  byRoute: DeadLetterGroup[]
}

export interface DeadLetterListRequest {
  vhost?: string
  filter?: DeadLetterFilter
  offset: number
  limit: number
}

export interface DeadLetterList {
  /** scanned messages (of the filtered queues) */
  total: number
  /** matching the filter */
  matched: number
  offset: number
  messages: DeadLetterMessage[]
  /** groups over the matching messages */
  groups: DeadLetterGroups
  firstAt?: number
  lastAt?: number
}

/** Where a replay sends messages. */
export type ReplayTarget =
  /** the exchange and routing keys of x-death[0] (several keys: the first as routing key, the rest as CC) */
  | { kind: 'original' }
  /** straight back to the queue it died in (default exchange, routing key = x-death[0].queue) */
  | { kind: 'source-queue' }
  | { kind: 'custom'; exchange: string; routingKey: string }

export interface ReplayRequest {
  vhost?: string
  /** the messages to act on: a selection, or every one matching a filter (`{}` = all in the filtered queues) */
  selection?: DeadLetterRef[]
  filter?: DeadLetterFilter
  target: ReplayTarget
  /** 'keep': x-death (and x-first-death-*) travel on; 'rename': kept as x-warren-original-death (-first-death-*) */
  deathHeaders: 'keep' | 'rename'
  /** messages per second; 0 or absent = as fast as confirms come back */
  rateLimit?: number
  /** only with a selection of one: replace the body and/or the headers */
  edit?: { body?: string; bodyEncoding?: 'text' | 'json' | 'base64'; headers?: ArgTable }
}

export interface DryRunItem extends DeadLetterRef {
  index: number
  exchange: string
  routingKeys: string[]
  /** queues the message would reach now (from the current bindings); empty = unroutable */
  queues: string[]
}

export interface DryRunResult {
  items: DryRunItem[]
  /** "exchange → keys" → count */
  destinations: { exchange: string; routingKeys: string[]; queues: string[]; count: number }[]
  unroutable: number
  notice?: string
}

export interface DeleteRequest {
  vhost?: string
  selection?: DeadLetterRef[]
  filter?: DeadLetterFilter
}

export type JobAction = 'replay' | 'delete'
export type JobState = 'running' | 'paused' | 'done' | 'cancelled' | 'failed'

export interface DeadLetterJob {
  id: string
  action: JobAction
  state: JobState
  vhost: string
  queues: string[]
  /** messages that will be acted on (an estimate until the queues are read through) */
  total: number
  /** acted on or given up on so far */
  processed: number
  replayed: number
  deleted: number
  /** a publish the broker nacked or could not route: the message stays in its dead-letter queue */
  failed: number
  unroutable: number
  /** messages looked at that did not match (left in the queue) */
  skipped: number
  /** messages per second over the last seconds */
  rate: number
  rateLimit?: number
  target?: string
  startedAt: number
  finishedAt?: number
  error?: string
  /** one line for people */
  summary: string
}

export interface AuditEntry {
  id: number
  at: number
  profileId: string
  profileName: string
  vhost: string
  action: 'replay' | 'delete' | 'purge' | 'import' | 'export'
  queues: string[]
  count: number
  target?: string
  outcome: string
  jobId?: string
}

export interface ExportRequest {
  vhost?: string
  selection?: DeadLetterRef[]
  filter?: DeadLetterFilter
}

export interface ExportResult {
  fileName: string
  /** JSON lines (see main/console/dead-letters/export-format.ts) */
  content: string
  count: number
}

export interface ImportRequest {
  vhost?: string
  content: string
  /** the queue to put them in; default the queue each was exported from */
  queue?: string
}

/** The dead-letters commands. */
export interface DeadLetterCommands {
  /** finds the dead-letter queues and reads their messages (cached until the next scan or change) */
  'deadLetters.scan': (req: DeadLetterScanRequest) => Promise<Result<DeadLetterScan>>
  /** filtered, grouped page of the scanned messages */
  'deadLetters.list': (req: DeadLetterListRequest) => Promise<Result<DeadLetterList>>
  /** one message in full */
  'deadLetters.get': (req: DeadLetterRef & { vhost?: string }) => Promise<Result<DeadLetterMessage>>
  /** starts a replay job */
  'deadLetters.replay': (req: ReplayRequest) => Promise<Result<DeadLetterJob>>
  /** where each message would go, without touching anything */
  'deadLetters.dryRun': (req: ReplayRequest) => Promise<Result<DryRunResult>>
  /** starts a delete job */
  'deadLetters.delete': (req: DeleteRequest) => Promise<Result<DeadLetterJob>>
  'deadLetters.purge': (req: { vhost?: string; queue: string }) => Promise<Result<void>>
  'deadLetters.jobs': (req: void) => Promise<Result<DeadLetterJob[]>>
  'deadLetters.job.pause': (req: { id: string }) => Promise<Result<DeadLetterJob>>
  'deadLetters.job.resume': (req: { id: string }) => Promise<Result<DeadLetterJob>>
  'deadLetters.job.cancel': (req: { id: string }) => Promise<Result<DeadLetterJob>>
  'deadLetters.export': (req: ExportRequest) => Promise<Result<ExportResult>>
  'deadLetters.import': (req: ImportRequest) => Promise<Result<{ imported: number }>>
  'deadLetters.audit': (req: { limit?: number }) => Promise<Result<AuditEntry[]>>
}

/** The dead-letters events. */
export interface DeadLetterEvents {
  /** a job's progress (at most ~5 per second per job) and its end */
  'deadLetters.job': DeadLetterJob
  /** a replay, delete, purge or import changed the queues: rescan */
  'deadLetters.changed': { vhost: string; queues: string[] }
}

export const DEAD_LETTER_COMMANDS: { readonly [K in keyof DeadLetterCommands]: true } = {
  'deadLetters.scan': true,
  'deadLetters.list': true,
  'deadLetters.get': true,
  'deadLetters.replay': true,
  'deadLetters.dryRun': true,
  'deadLetters.delete': true,
  'deadLetters.purge': true,
  'deadLetters.jobs': true,
  'deadLetters.job.pause': true,
  'deadLetters.job.resume': true,
  'deadLetters.job.cancel': true,
  'deadLetters.export': true,
  'deadLetters.import': true,
  'deadLetters.audit': true,
}
export const DEAD_LETTER_EVENTS: { readonly [E in keyof DeadLetterEvents]: true } = { 'deadLetters.job': true, 'deadLetters.changed': true }
