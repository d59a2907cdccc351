/**
 * Metrics history: rates and depths of the active profile sampled into the console database (24 h).
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 */
import type { ObjectRef, Result } from './index'

export type MetricsScope = 'overview' | 'queue' | 'exchange'

/** The series each scope has, in the order charts show them. Rates are per second, depths are message counts. */
export interface MetricsSeriesKeys {
  overview: 'publish' | 'deliver' | 'ack' | 'redeliver' | 'messages' | 'ready' | 'unacked'
  queue: 'publish' | 'deliver' | 'ack' | 'messages' | 'ready' | 'unacked' | 'consumers'
  exchange: 'publishIn' | 'publishOut'
}

export interface MetricsHistoryRequest {
  scope: MetricsScope
  /** the queue or exchange (required for those scopes); asking for one keeps it sampled for a while */
  ref?: ObjectRef
  /** how far back from now, at most 24 h */
  rangeMs: number
}

export interface MetricsHistory {
  profileId: string
  scope: MetricsScope
  ref?: ObjectRef
  from: number
  to: number
  /** width of one point (samples inside it are averaged); at most ~500 points per range */
  stepMs: number
  /** point times (ms since the epoch, start of each step) */
  t: number[]
  /** one array per series, aligned with `t`; null marks a gap (no samples: broker down, object not sampled) */
  series: Record<string, (number | null)[]>
  /** whether this object is sampled now (always for the overview; queues and exchanges: top N or recently opened) */
  sampled: boolean
  /** how often samples are taken now, ms */
  intervalMs: number
}

export interface MetricsStatus {
  profileId: string
  /** queues and exchanges with their own series right now */
  sampledQueues: number
  sampledExchanges: number
  /** rows held in the console database, all profiles */
  rows: number
  lastSampleAt?: number
  lastError?: string
}

export interface MetricsCommands {
  /** a time series for charts: the overview, a queue or an exchange of the active profile */
  'metrics.history': (req: MetricsHistoryRequest) => Promise<Result<MetricsHistory>>
  /** what the sampler holds and does */
  'metrics.status': (req: void) => Promise<Result<MetricsStatus>>
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MetricsEvents {}

export const METRICS_COMMANDS: { readonly [K in keyof MetricsCommands]: true } = { 'metrics.history': true, 'metrics.status': true }
export const METRICS_EVENTS: { readonly [E in keyof MetricsEvents]: true } = {}
