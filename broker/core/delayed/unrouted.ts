import type { ScheduledMessage } from '../../store/store'

/** Why a scheduled message that fell due reached no queue. */
export type UnroutedReason = 'no-route' | 'exchange-gone' | 'rejected' | 'error'

/** What the scheduler's deliver callback tells it about one due message (undefined: nothing known, not recorded). */
export interface DueOutcome {
  /** it reached at least one queue (or was held again by another delayed exchange) */
  routed: boolean
  reason?: UnroutedReason
  detail?: string
}

/** A scheduled message that found no route when it fell due (the plugin drops it silently; Warren keeps a record). */
export interface UnroutedRecord {
  id: number
  vhost: string
  exchange: string
  routingKey: string
  /** the encoded basic properties, as published */
  properties: Buffer
  body: Buffer
  dueAt: number
  /** when it was found unroutable (ms since the epoch) */
  at: number
  reason: UnroutedReason
  detail?: string
}

export interface UnroutedLogOptions {
  /** most records kept (oldest go first). Default 1000. */
  limit?: number
  /** most body bytes kept in all (oldest go first). Default 16 MiB. */
  maxBytes?: number
}

/**
 * A bounded, in-memory record of due scheduled messages that reached no queue: newest last, oldest dropped past
 * `limit` records or `maxBytes` of bodies. Not persisted: a restart clears it.
 */
export class UnroutedLog {
  private readonly limit: number
  private readonly maxBytes: number
  private records: UnroutedRecord[] = []
  private bytes = 0
  /** how many were ever recorded (including those dropped from the log) */
  total = 0

  constructor(options: UnroutedLogOptions = {}) {
    this.limit = Math.max(1, options.limit ?? 1000)
    this.maxBytes = Math.max(0, options.maxBytes ?? 16 * 1024 * 1024)
  }

  record(message: ScheduledMessage, outcome: DueOutcome, at: number): void {
    const record: UnroutedRecord = {
      id: message.id,
      vhost: message.vhost,
      exchange: message.exchange,
      routingKey: message.routingKey,
      properties: message.properties,
      body: message.body,
      dueAt: message.dueAt,
      at,
      reason: outcome.reason ?? 'no-route',
      ...(outcome.detail ? { detail: outcome.detail } : {}),
    }
    this.records.push(record)
    this.bytes += record.body.length
    this.total++
    let drop = 0
    while (this.records.length - drop > this.limit || (this.bytes > this.maxBytes && this.records.length - drop > 1)) {
      this.bytes -= this.records[drop].body.length
      drop++
    }
    if (drop > 0) this.records = this.records.slice(drop)
  }

  /** The records of one exchange (or of a whole vhost), newest first. */
  list(vhost: string, exchange?: string): UnroutedRecord[] {
    const out: UnroutedRecord[] = []
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i]
      if (r.vhost === vhost && (exchange === undefined || r.exchange === exchange)) out.push(r)
    }
    return out
  }

  /** Forgets the records of one exchange (or of a whole vhost); returns how many. */
  clear(vhost: string, exchange?: string): number {
    const keep = this.records.filter((r) => !(r.vhost === vhost && (exchange === undefined || r.exchange === exchange)))
    const n = this.records.length - keep.length
    this.records = keep
    this.bytes = keep.reduce((sum, r) => sum + r.body.length, 0)
    return n
  }

  get size(): number {
    return this.records.length
  }
}
