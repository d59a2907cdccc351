// The metrics history's storage against a real better-sqlite3 database: recording, downsampling to ≤ 500 points,
// folding raw samples older than an hour into 1-minute averages, dropping what is older than 24 h, gaps, profiles.
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SqlDatabase } from '../../../main/console/profiles'
import { KEEP_MS, MAX_POINTS, MINUTE_MS, MetricsStore, RAW_MS } from '../../../main/console/metrics/store'

const HOUR = 3_600_000
let db: Database.Database
let clock: number
let store: MetricsStore

beforeEach(() => {
  db = new Database(':memory:')
  clock = Date.UTC(2026, 10, 25, 12, 0, 0)
  store = new MetricsStore(db as unknown as SqlDatabase, () => clock)
})
afterEach(() => db.close())

const rawRows = (table = 'metrics_overview') => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE res = 0`).get() as { n: number }).n
const minuteRows = (table = 'metrics_overview') => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE res = ${MINUTE_MS}`).get() as { n: number }).n

/** Records overview samples every `everyMs` from `start` to the clock, with publish = f(at). */
function fill(start: number, everyMs: number, f: (at: number) => number, profile = 'p1'): number {
  let n = 0
  for (let at = start; at <= clock; at += everyMs, n++) store.record(profile, 'overview', at, [{ values: { publish: f(at), messages: 10 } }])
  return n
}

describe('metrics store', () => {
  it('returns what was recorded, in order, one point per sample at full resolution', () => {
    fill(clock - 60_000, 2000, (at) => (at - (clock - 60_000)) / 1000)
    const h = store.history('p1', 'overview', undefined, 60_000, 2000)
    expect(h.stepMs).toBe(2000)
    expect(h.t.length).toBe(31)
    expect(h.series.publish).toEqual(Array.from({ length: 31 }, (_, i) => i * 2))
    expect(h.series.messages.every((v) => v === 10)).toBe(true)
    expect(h.series.ack.every((v) => v === null)).toBe(true) // never recorded: nulls, not zeros
    expect(h.t).toEqual([...h.t].sort((a, b) => a - b))
  })

  it('downsamples a 24 h range to at most 500 averaged points', () => {
    // 24 h at 30 s: 2,881 samples; publish = hour of the day, so each point's average is known
    fill(clock - KEEP_MS + 1000, 30_000, (at) => Math.floor((at - clock + KEEP_MS) / HOUR))
    const h = store.history('p1', 'overview', undefined, KEEP_MS, 2000)
    expect(h.t.length).toBeLessThanOrEqual(MAX_POINTS)
    expect(h.t.length).toBeGreaterThan(MAX_POINTS * 0.9)
    expect(h.stepMs).toBeGreaterThanOrEqual(KEEP_MS / MAX_POINTS)
    for (let i = 0; i < h.t.length; i++) {
      const hour = (h.t[i] - clock + KEEP_MS) / HOUR
      const v = h.series.publish[i]!
      // a step lies within one or two hours of the day: its average lies between them
      expect(v).toBeGreaterThanOrEqual(Math.floor(hour) - 1)
      expect(v).toBeLessThanOrEqual(Math.ceil(hour + h.stepMs / HOUR))
    }
    // a 1 h range at 2 s samples is downsampled too
    const hour = store.history('p1', 'overview', undefined, HOUR, 2000)
    expect(hour.t.length).toBeLessThanOrEqual(MAX_POINTS)
  })

  it('folds raw samples older than an hour into 1-minute averages, keeping the averages, and drops what is older than 24 h', () => {
    const start = clock - 3 * HOUR
    const n = fill(start, 2000, (at) => (at % MINUTE_MS) / 1000) // 0, 2, ..., 58 in every minute: average 29
    expect(rawRows()).toBe(n)
    const before = store.history('p1', 'overview', undefined, 3 * HOUR, 2000)
    store.compact(true)
    const cutoff = Math.floor((clock - RAW_MS) / MINUTE_MS) * MINUTE_MS
    // raw rows only for the last hour, minute rows for the two hours before
    expect(rawRows()).toBe((db.prepare('SELECT COUNT(*) AS n FROM metrics_overview WHERE res = 0 AND at >= ?').get(cutoff) as { n: number }).n)
    expect((db.prepare('SELECT COUNT(*) AS n FROM metrics_overview WHERE res = 0 AND at < ?').get(cutoff) as { n: number }).n).toBe(0)
    expect(minuteRows()).toBe((cutoff - start) / MINUTE_MS)
    const minutes = db.prepare(`SELECT at, publish FROM metrics_overview WHERE res = ${MINUTE_MS}`).all() as { at: number; publish: number }[]
    expect(minutes.every((m) => m.at % MINUTE_MS === 0 && m.publish === 29)).toBe(true)
    // a second compaction changes nothing (no double aggregates)
    store.compact(true)
    expect(minuteRows()).toBe((cutoff - start) / MINUTE_MS)
    // the chart over 3 h looks the same after folding: same steps, averages equal within rounding
    const after = store.history('p1', 'overview', undefined, 3 * HOUR, 2000)
    expect(after.t).toEqual(before.t)
    expect(after.series.publish.every((v, i) => v !== null && Math.abs(v - before.series.publish[i]!) < 0.01)).toBe(true)

    // a day later everything is gone
    clock += KEEP_MS + HOUR
    store.compact(true)
    expect(rawRows() + minuteRows()).toBe(0)
  })

  it('keeps storage bounded: a day of 2 s samples ends as one hour raw plus minute aggregates', () => {
    // simulate the sampler running 26 h, compacting every minute as it does
    const end = clock
    clock = end - 26 * HOUR
    let minutesCompacted = 0
    for (let at = clock; at <= end; at += 2000) {
      clock = at
      store.record('p1', 'overview', at, [{ values: { publish: 1 } }])
      if (at % MINUTE_MS === 0) {
        store.compact()
        minutesCompacted++
      }
    }
    expect(minutesCompacted).toBeGreaterThan(1000)
    expect(rawRows()).toBeLessThanOrEqual(RAW_MS / 2000 + 60)
    expect(minuteRows()).toBeLessThanOrEqual(KEEP_MS / MINUTE_MS + 1)
    expect(store.rows()).toBe(rawRows() + minuteRows())
  })

  it('marks gaps with null so charts do not draw across them', () => {
    fill(clock - 10 * 60_000, 2000, () => 5)
    db.prepare('DELETE FROM metrics_overview WHERE at > ? AND at < ?').run(clock - 8 * 60_000, clock - 2 * 60_000)
    const h = store.history('p1', 'overview', undefined, 10 * 60_000, 2000)
    const gap = h.series.publish.indexOf(null)
    expect(gap).toBeGreaterThan(0)
    expect(h.t[gap - 1]).toBeLessThanOrEqual(clock - 8 * 60_000)
    expect(h.t[gap + 1]).toBeGreaterThanOrEqual(clock - 2 * 60_000)
    expect(h.series.publish.filter((v) => v === null)).toHaveLength(1)
  })

  it('keeps each profile and each object apart', () => {
    fill(clock - 60_000, 2000, () => 1, 'p1')
    fill(clock - 60_000, 2000, () => 2, 'p2')
    const q = (name: string, messages: number) => ({ ref: { vhost: '/', name }, values: { messages, publish: 3 } })
    store.record('p1', 'queue', clock, [q('a', 10), q('b', 20)])
    store.record('p1', 'exchange', clock, [{ ref: { vhost: '/', name: 'x' }, values: { publishIn: 7, publishOut: 14 } }])
    expect(new Set(store.history('p1', 'overview', undefined, 60_000, 2000).series.publish)).toEqual(new Set([1]))
    expect(new Set(store.history('p2', 'overview', undefined, 60_000, 2000).series.publish)).toEqual(new Set([2]))
    expect(store.history('p1', 'queue', { vhost: '/', name: 'b' }, 60_000, 5000).series.messages).toEqual([20])
    expect(store.history('p2', 'queue', { vhost: '/', name: 'b' }, 60_000, 5000).t).toEqual([])
    expect(store.history('p1', 'exchange', { vhost: '/', name: 'x' }, 60_000, 5000).series).toEqual({ publishIn: [7], publishOut: [14] })
  })
})
