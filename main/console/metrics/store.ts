/**
 * The metrics history in the console's own SQLite database: three tables (overview, queue, exchange), each row one
 * sample of one profile's object, tagged with the profile id (switching profiles keeps each one's history).
 *
 * Retention, so storage stays bounded whatever the broker holds (10,000 queues included):
 *  - full resolution (one row per sample: the overview every ~2 s, watched objects every ~5 s, the top-N objects
 *    every ~15 s) for the last hour (RAW_MS);
 *  - older rows are folded into 1-minute aggregates (averages; res = 60000) by compact(), kept for 24 h (KEEP_MS);
 *  - only a bounded set of queues and exchanges has per-object series at all (see sampler.ts: the top N by depth
 *    and by rate, plus objects opened in a details page recently), so rows per sample are bounded too.
 * Worst case with the sampler's defaults (top 20 + 20 queues, top 20 exchanges, 20 watched): per hour of raw data
 * 1,800 overview + 60 × 240 top-N + 20 × 720 watched ≈ 31k rows; per day of minute aggregates ≈ 81 × 1,440 ≈ 117k
 * rows; some 10-20 MB at most, all profiles together (only the active profile is sampled at any time), whether the
 * broker has 10 queues or 10,000.
 *
 * Only exec/prepare/run/get/all of SqlDatabase are used (better-sqlite3 and node:sqlite alike).
 */
import type { MetricsScope, ObjectRef } from '../../contract'
import type { SqlDatabase } from '../profiles'

export const RAW_MS = 60 * 60 * 1000
export const KEEP_MS = 24 * 60 * 60 * 1000
export const MINUTE_MS = 60 * 1000
/** charts get at most this many points per series */
export const MAX_POINTS = 500

interface TableDef {
  table: string
  /** identifying columns besides profile */
  keys: string[]
  /** series name → column */
  columns: [string, string][]
}

export const TABLES: Record<MetricsScope, TableDef> = {
  overview: {
    table: 'metrics_overview',
    keys: [],
    columns: [
      ['publish', 'publish'],
      ['deliver', 'deliver'],
      ['ack', 'ack'],
      ['redeliver', 'redeliver'],
      ['messages', 'messages'],
      ['ready', 'ready'],
      ['unacked', 'unacked'],
    ],
  },
  queue: {
    table: 'metrics_queue',
    keys: ['vhost', 'name'],
    columns: [
      ['publish', 'publish'],
      ['deliver', 'deliver'],
      ['ack', 'ack'],
      ['messages', 'messages'],
      ['ready', 'ready'],
      ['unacked', 'unacked'],
      ['consumers', 'consumers'],
    ],
  },
  exchange: {
    table: 'metrics_exchange',
    keys: ['vhost', 'name'],
    columns: [
      ['publishIn', 'publish_in'],
      ['publishOut', 'publish_out'],
    ],
  },
}

/** One sample: series name → value (missing ones are stored as NULL). */
export type SampleValues = Record<string, number | undefined>

export interface SeriesResult {
  from: number
  to: number
  stepMs: number
  t: number[]
  series: Record<string, (number | null)[]>
}

type Row = Record<string, number | null>

export class MetricsStore {
  private lastCompact = 0

  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number = Date.now,
  ) {
    for (const def of Object.values(TABLES)) {
      const keys = def.keys.map((k) => `${k} TEXT NOT NULL, `).join('')
      const cols = def.columns.map(([, c]) => `, ${c} REAL`).join('')
      // res: 0 = one raw sample, 60000 = a 1-minute aggregate
      db.exec(`CREATE TABLE IF NOT EXISTS ${def.table} (profile TEXT NOT NULL, ${keys}at INTEGER NOT NULL, res INTEGER NOT NULL DEFAULT 0${cols})`)
      db.exec(`CREATE INDEX IF NOT EXISTS ${def.table}_series ON ${def.table} (profile, ${def.keys.map((k) => `${k}, `).join('')}at)`)
      db.exec(`CREATE INDEX IF NOT EXISTS ${def.table}_at ON ${def.table} (res, at)`)
    }
  }

  /** Records samples taken at `at`: one per object (`ref` undefined for the overview). */
  record(profileId: string, scope: MetricsScope, at: number, samples: { ref?: ObjectRef; values: SampleValues }[]): void {
    if (samples.length === 0) return
    const def = TABLES[scope]
    const names = ['profile', ...def.keys, 'at', 'res', ...def.columns.map(([, c]) => c)]
    const insert = this.db.prepare(`INSERT INTO ${def.table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
    const value = (v: number | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
    this.transaction(() => {
      for (const s of samples) {
        const keys = def.keys.length ? [s.ref?.vhost ?? '', s.ref?.name ?? ''] : []
        insert.run(profileId, ...keys, Math.round(at), 0, ...def.columns.map(([name]) => value(s.values[name])))
      }
    })
  }

  /**
   * Folds raw rows older than an hour into 1-minute averages and drops everything older than 24 h. The cut-off is
   * a whole minute, so a minute is always folded at once (never two aggregates for the same minute). Cheap when
   * there is nothing to do; `force` skips the once-a-minute throttle.
   */
  compact(force = false): void {
    const now = this.now()
    if (!force && now - this.lastCompact < MINUTE_MS) return
    this.lastCompact = now
    const cutoff = Math.floor((now - RAW_MS) / MINUTE_MS) * MINUTE_MS
    const horizon = now - KEEP_MS
    this.transaction(() => {
      for (const def of Object.values(TABLES)) {
        const group = ['profile', ...def.keys]
        const bucket = `(at / ${MINUTE_MS}) * ${MINUTE_MS}`
        this.db
          .prepare(
            `INSERT INTO ${def.table} (${group.join(', ')}, at, res, ${def.columns.map(([, c]) => c).join(', ')})
             SELECT ${group.join(', ')}, ${bucket}, ${MINUTE_MS}, ${def.columns.map(([, c]) => `AVG(${c})`).join(', ')}
             FROM ${def.table} WHERE res = 0 AND at < ? GROUP BY ${group.join(', ')}, ${bucket}`,
          )
          .run(cutoff)
        this.db.prepare(`DELETE FROM ${def.table} WHERE res = 0 AND at < ?`).run(cutoff)
        this.db.prepare(`DELETE FROM ${def.table} WHERE at < ?`).run(horizon)
      }
    })
  }

  /**
   * A series for a chart: the samples of the last `rangeMs` averaged into at most MAX_POINTS steps. A step with
   * no samples is left out, and where samples stop for longer than a few steps (broker down, object not sampled)
   * a null point marks the gap, so charts do not draw a line across it.
   */
  /**
   * `sampleIntervalMs`: how often samples are taken (the finest step); `gapMs`: the longest normal distance between
   * two samples (default the interval; objects outside the watched set are sampled less often).
   */
  history(profileId: string, scope: MetricsScope, ref: ObjectRef | undefined, rangeMs: number, sampleIntervalMs: number, gapMs = sampleIntervalMs): SeriesResult {
    const def = TABLES[scope]
    const to = this.now()
    const range = Math.max(10_000, Math.min(KEEP_MS, Math.floor(rangeMs)))
    const from = to - range
    // a range reaching past the last hour meets minute aggregates: steps of at least a minute, so the chart's
    // resolution is the same along the whole range
    const floor = range > RAW_MS ? MINUTE_MS : Math.ceil(sampleIntervalMs / 1000) * 1000
    const stepMs = Math.max(Math.ceil(range / MAX_POINTS / 1000) * 1000, floor, 1000)
    const where = ['profile = ?', ...def.keys.map((k) => `${k} = ?`), 'at >= ?']
    const params: unknown[] = [profileId, ...(def.keys.length ? [ref?.vhost ?? '', ref?.name ?? ''] : []), from]
    const rows = this.db
      .prepare(
        `SELECT CAST(at / ? AS INTEGER) * ? AS t, MAX(res) AS res, ${def.columns.map(([name, c]) => `AVG(${c}) AS "${name}"`).join(', ')}
         FROM ${def.table} WHERE ${where.join(' AND ')} GROUP BY CAST(at / ? AS INTEGER) ORDER BY t`,
      )
      .all(stepMs, stepMs, ...params, stepMs) as Row[]
    const t: number[] = []
    const series: Record<string, (number | null)[]> = Object.fromEntries(def.columns.map(([name]) => [name, []]))
    let previous: Row | undefined
    for (const row of rows) {
      const at = Number(row.t)
      if (previous) {
        // how far apart samples are where they come from: raw samples, or minute aggregates
        const spacing = Math.max(stepMs, Number(previous.res) > 0 ? MINUTE_MS : gapMs)
        if (at - Number(previous.t) > 3 * spacing) {
          t.push(Number(previous.t) + stepMs)
          for (const [name] of def.columns) series[name].push(null)
        }
      }
      t.push(at)
      for (const [name] of def.columns) {
        const v = row[name]
        series[name].push(v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100)
      }
      previous = row
    }
    return { from, to, stepMs, t, series }
  }

  /** Rows held, all tables and profiles. */
  rows(): number {
    let n = 0
    for (const def of Object.values(TABLES)) n += Number((this.db.prepare(`SELECT COUNT(*) AS n FROM ${def.table}`).get() as { n: number }).n)
    return n
  }

  private transaction(work: () => void): void {
    this.db.exec('BEGIN')
    try {
      work()
      this.db.exec('COMMIT')
    } catch (e) {
      this.db.exec('ROLLBACK')
      throw e
    }
  }
}
