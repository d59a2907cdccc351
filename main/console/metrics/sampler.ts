/**
 * The metrics sampler: fed by the console service's poll of the active profile (one poll every ~2 s feeds both the
 * live overview.tick event and this history), it stores the overview on every poll and, every OBJECT_INTERVAL_MS,
 * the per-object figures of a bounded set of queues and exchanges (watched ones every round, the top lists every
 * TOP_INTERVAL_MS).
 *
 * Which objects get series (bounded whatever the broker holds):
 *  - the TOP_N queues with the most messages and the TOP_N with the highest publish rate (one sorted page each,
 *    sorted by the broker), and the TOP_N exchanges by publish-in rate, every TOP_INTERVAL_MS (sorting 10,000
 *    queues is work for the broker, so not on every round);
 *  - plus up to MAX_WATCHED queues and exchanges asked for by metrics.history in the last WATCH_MS (a details page
 *    that is open keeps asking, so it stays watched; the oldest watch is dropped beyond the limit).
 * An object outside that set has no samples for that time; its chart shows a gap there.
 *
 * Never overlapping: the service runs one poll at a time (a poll that is still running makes the next tick skip),
 * and this sampler is awaited inside it; a slow or unreachable broker therefore slows sampling down, it never
 * queues requests up.
 */
import type { MetricsScope, ObjectRef, OverviewTick } from '../../contract'
import type { ObjectSample, ObjectSource } from './source'
import type { MetricsStore } from './store'

export const OBJECT_INTERVAL_MS = 5_000
/** the top-N lists ask the broker to sort every queue: less often, to spare a busy RabbitMQ's management plugin */
export const TOP_INTERVAL_MS = 15_000
export const TOP_N = 20
export const MAX_WATCHED = 20
export const WATCH_MS = 15 * 60 * 1000

type ObjectScope = Exclude<MetricsScope, 'overview'>

const keyOf = (scope: ObjectScope, ref: ObjectRef): string => `${scope}\u0000${ref.vhost}\u0000${ref.name}`

export interface SamplerOptions {
  objectIntervalMs?: number
  topIntervalMs?: number
  topN?: number
  maxWatched?: number
  watchMs?: number
  now?: () => number
}

export class MetricsSampler {
  readonly objectIntervalMs: number
  readonly topIntervalMs: number
  private readonly topN: number
  private readonly maxWatched: number
  private readonly watchMs: number
  private readonly now: () => number
  /** key → when it was last asked for */
  private readonly watched = new Map<string, { scope: ObjectScope; ref: ObjectRef; at: number }>()
  /** the objects sampled in the last round (for `sampled` in metrics.history) */
  private sampledKeys = new Set<string>()
  private lastObjects = 0
  private lastTop = 0
  /** the objects of the last top lists (sampled only when the lists are refreshed) */
  private topKeys = new Set<string>()
  private due = true
  lastSampleAt: number | undefined
  lastError: string | undefined
  counts = { queues: 0, exchanges: 0 }

  constructor(
    private readonly store: MetricsStore,
    options: SamplerOptions = {},
  ) {
    this.objectIntervalMs = options.objectIntervalMs ?? OBJECT_INTERVAL_MS
    this.topIntervalMs = Math.max(this.objectIntervalMs, options.topIntervalMs ?? TOP_INTERVAL_MS)
    this.topN = options.topN ?? TOP_N
    this.maxWatched = options.maxWatched ?? MAX_WATCHED
    this.watchMs = options.watchMs ?? WATCH_MS
    this.now = options.now ?? Date.now
  }

  /** Keeps an object sampled for the next WATCH_MS; a new one is sampled at the next poll. */
  watch(scope: ObjectScope, ref: ObjectRef): void {
    const key = keyOf(scope, ref)
    if (!this.watched.has(key)) this.due = true
    this.watched.delete(key)
    this.watched.set(key, { scope, ref: { vhost: ref.vhost, name: ref.name }, at: this.now() })
    // Map keeps insertion order: the first entries are the least recently asked for
    while (this.watched.size > this.maxWatched) this.watched.delete(this.watched.keys().next().value as string)
  }

  isSampled(scope: ObjectScope, ref: ObjectRef): boolean {
    const key = keyOf(scope, ref)
    return this.sampledKeys.has(key) || this.watched.has(key)
  }

  /** A new profile: its own watches, samples right away. */
  reset(): void {
    this.watched.clear()
    this.sampledKeys = new Set()
    this.topKeys = new Set()
    this.lastTop = 0
    this.due = true
    this.lastError = undefined
  }

  /** One poll's overview figures. */
  recordOverview(tick: OverviewTick): void {
    this.store.record(tick.profileId, 'overview', tick.at, [
      {
        values: {
          publish: tick.rates.publish,
          deliver: tick.rates.deliver,
          ack: tick.rates.ack,
          redeliver: tick.rates.redeliver,
          messages: tick.totals.messages,
          ready: tick.totals.messagesReady,
          unacked: tick.totals.messagesUnacked,
        },
      },
    ])
    this.lastSampleAt = tick.at
    this.store.compact()
  }

  /** Samples queues and exchanges when their interval has passed (or a new watch is waiting). */
  async sampleObjects(profileId: string, source: ObjectSource): Promise<void> {
    const now = this.now()
    if (!this.due && now - this.lastObjects < this.objectIntervalMs) return
    this.due = false
    this.lastObjects = now
    for (const [key, w] of this.watched) if (now - w.at > this.watchMs) this.watched.delete(key)

    const queues = new Map<string, ObjectSample>()
    const exchanges = new Map<string, ObjectSample>()
    const errors: string[] = []
    const refreshTop = now - this.lastTop >= this.topIntervalMs
    if (refreshTop) {
      this.lastTop = now
      const [topQueues, topExchanges] = await Promise.all([
        source.topQueues(this.topN).catch((e: unknown) => (errors.push(message(e)), [] as ObjectSample[])),
        source.topExchanges(this.topN).catch((e: unknown) => (errors.push(message(e)), [] as ObjectSample[])),
      ])
      for (const s of topQueues) queues.set(keyOf('queue', s.ref), s)
      for (const s of topExchanges) exchanges.set(keyOf('exchange', s.ref), s)
      if (errors.length === 0) this.topKeys = new Set([...queues.keys(), ...exchanges.keys()])
    }
    // watched objects not already in a top list: one GET each, a few at a time
    const missing = [...this.watched.entries()].filter(([key, w]) => !(w.scope === 'queue' ? queues : exchanges).has(key))
    for (let i = 0; i < missing.length; i += 5) {
      await Promise.all(
        missing.slice(i, i + 5).map(async ([key, w]) => {
          try {
            const s = w.scope === 'queue' ? await source.queue(w.ref) : await source.exchange(w.ref)
            const into = w.scope === 'queue' ? queues : exchanges
            if (s) into.set(key, { ref: w.ref, values: s.values })
            else this.watched.delete(key)
          } catch (e) {
            errors.push(message(e))
          }
        }),
      )
    }
    const at = this.now()
    this.store.record(profileId, 'queue', at, [...queues.values()])
    this.store.record(profileId, 'exchange', at, [...exchanges.values()])
    this.sampledKeys = new Set([...this.topKeys, ...queues.keys(), ...exchanges.keys()])
    const count = (scope: ObjectScope) => [...this.sampledKeys].filter((k) => k.startsWith(`${scope}\u0000`)).length
    this.counts = { queues: count('queue'), exchanges: count('exchange') }
    this.lastError = errors[0]
    if (errors.length && queues.size + exchanges.size === 0) throw new Error(errors[0])
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
