/**
 * The console's metrics area: its share of the contract's handlers (see ../context.ts), plus the hook the console
 * service calls after each poll of the active profile (`onTick`), which stores the history (see store.ts for the
 * retention, sampler.ts for which objects are sampled and how often).
 */
import type { MetricsCommands, MetricsHistory, MetricsHistoryRequest, ObjectRef, OverviewTick } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'
import type { ManagementTarget } from '../management-backend'
import { ConsoleError } from '../profiles'
import { MetricsSampler, type SamplerOptions } from './sampler'
import { HttpObjectSource, type ObjectSource } from './source'
import { KEEP_MS, MetricsStore } from './store'

export interface MetricsAreaOptions extends SamplerOptions {
  /** where per-object figures come from; default: the profile's management HTTP API */
  createSource?: (target: ManagementTarget) => ObjectSource
  /** how often the service polls the overview (the overview's sample interval) */
  tickMs?: number
}

export interface MetricsArea extends ConsoleArea<keyof MetricsCommands> {
  /** after each poll of the active profile: store it, and sample objects when due. Never throws. */
  onTick(tick: OverviewTick): Promise<void>
  readonly sampler: MetricsSampler
  readonly store: MetricsStore
}

function checkRef(ref: unknown): ObjectRef {
  const r = ref as ObjectRef | undefined
  if (!r || typeof r.vhost !== 'string' || r.vhost === '' || typeof r.name !== 'string') throw new ConsoleError('INVALID', 'a queue or exchange (vhost and name) is required')
  return r
}

export function createMetricsArea(ctx: ConsoleContext, options: MetricsAreaOptions = {}): MetricsArea {
  const store = new MetricsStore(ctx.db, options.now)
  const sampler = new MetricsSampler(store, options)
  const createSource = options.createSource ?? ((t: ManagementTarget) => new HttpObjectSource(t))
  let source: { profileId: string; source: ObjectSource } | undefined
  let lastLogged: string | undefined

  function sourceFor(target: ManagementTarget): ObjectSource {
    if (!source || source.profileId !== target.profileId) source = { profileId: target.profileId, source: createSource(target) }
    return source.source
  }

  function history(req: MetricsHistoryRequest): MetricsHistory {
    const { scope } = req ?? ({} as MetricsHistoryRequest)
    if (scope !== 'overview' && scope !== 'queue' && scope !== 'exchange') throw new ConsoleError('INVALID', `unknown metrics scope ${String(scope)}`)
    const rangeMs = Number(req.rangeMs)
    if (!(rangeMs > 0)) throw new ConsoleError('INVALID', 'rangeMs must be a positive number of milliseconds')
    if (rangeMs > KEEP_MS) throw new ConsoleError('INVALID', `history is kept for ${KEEP_MS / 3_600_000} h`)
    const profileId = ctx.profiles.activeId()
    const ref = scope === 'overview' ? undefined : checkRef(req.ref)
    if (ref && scope !== 'overview') sampler.watch(scope, ref)
    const intervalMs = scope === 'overview' ? (options.tickMs ?? 2000) : sampler.objectIntervalMs
    // objects only in the top lists are sampled every topIntervalMs: not a gap
    const result = store.history(profileId, scope, ref, rangeMs, intervalMs, scope === 'overview' ? intervalMs : sampler.topIntervalMs)
    return { profileId, scope, ...(ref ? { ref: { vhost: ref.vhost, name: ref.name } } : {}), ...result, sampled: !ref || sampler.isSampled(scope as 'queue' | 'exchange', ref), intervalMs }
  }

  return {
    sampler,
    store,
    handlers: {
      'metrics.history': (req) => history(req),
      'metrics.status': () => ({
        profileId: ctx.profiles.activeId(),
        sampledQueues: sampler.counts.queues,
        sampledExchanges: sampler.counts.exchanges,
        rows: store.rows(),
        lastSampleAt: sampler.lastSampleAt,
        lastError: sampler.lastError,
      }),
    },
    async onTick(tick) {
      try {
        sampler.recordOverview(tick)
        const target = ctx.activeTarget()
        // a poll that raced a profile switch: its objects would be the old profile's
        if (target.profileId !== tick.profileId) return
        await sampler.sampleObjects(target.profileId, sourceFor(target))
        lastLogged = undefined
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e)
        sampler.lastError = text
        // once per distinct failure, not every poll
        if (text !== lastLogged) ctx.log('warn', `metrics sampling failed: ${text}`)
        lastLogged = text
      }
    },
    profileChanged() {
      source = undefined
      sampler.reset()
    },
  }
}
