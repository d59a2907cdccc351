import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { MetricsHistory, ObjectRef } from '../../../main/contract'
import { call } from './ui'

export type MetricsRange = 'live' | '1h' | '6h' | '24h'
export const RANGES: MetricsRange[] = ['live', '1h', '6h', '24h']

/** what each range asks the history for; 'live' is the last 10 minutes, refreshed often */
export const RANGE_MS: Record<MetricsRange, number> = { live: 10 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000 }
/** how often a shown range is reloaded */
const REFRESH_MS: Record<MetricsRange, number> = { live: 5_000, '1h': 15_000, '6h': 60_000, '24h': 60_000 }

type ObjectScope = 'queue' | 'exchange'

interface ObjectCharts {
  ref?: ObjectRef
  range: MetricsRange
  history?: MetricsHistory
  loading: boolean
}

/**
 * The metrics history the console samples into its own database (24 h): the overview's range, and the charts of
 * the queue or exchange whose details are open (each reloads on its own timer while shown).
 */
export const useMetricsStore = defineStore('metrics', () => {
  const overviewRange = ref<MetricsRange>('live')
  const overview = ref<MetricsHistory | undefined>()
  const overviewLoading = ref(false)
  const objects = ref<Record<ObjectScope, ObjectCharts>>({ queue: { range: 'live', loading: false }, exchange: { range: 'live', loading: false } })
  const timers: Partial<Record<'overview' | ObjectScope, ReturnType<typeof setInterval>>> = {}

  function every(key: 'overview' | ObjectScope, ms: number, work: () => Promise<void>): void {
    clearInterval(timers[key])
    timers[key] = setInterval(() => void work(), ms)
  }

  async function loadOverview(): Promise<void> {
    const range = overviewRange.value
    overviewLoading.value = overview.value === undefined
    // quiet: the live charts keep working from overview.tick when the history cannot be read
    const r = await call('metrics.history', { scope: 'overview', rangeMs: RANGE_MS[range] }, 'Loading the overview history', range === 'live')
    overviewLoading.value = false
    if (r.ok && range === overviewRange.value) overview.value = r.value
  }

  /** Shows the overview history for a range and keeps it fresh until stopOverview(). */
  async function showOverview(range: MetricsRange = overviewRange.value): Promise<void> {
    if (range !== overviewRange.value) overview.value = undefined
    overviewRange.value = range
    every('overview', REFRESH_MS[range], loadOverview)
    await loadOverview()
  }

  function stopOverview(): void {
    clearInterval(timers.overview)
    timers.overview = undefined
  }

  async function loadObject(scope: ObjectScope): Promise<void> {
    const o = objects.value[scope]
    if (!o.ref) return
    const asked = { ref: o.ref, range: o.range }
    o.loading = o.history === undefined
    const r = await call('metrics.history', { scope, ref: asked.ref, rangeMs: RANGE_MS[asked.range] }, `Loading ${scope} rates`, true)
    o.loading = false
    // a reply for what is still shown
    const now = objects.value[scope]
    if (r.ok && now.ref === asked.ref && now.range === asked.range) now.history = r.value
  }

  /** Shows a queue's or exchange's charts (in a details page) and keeps them fresh until stopObject(). */
  async function showObject(scope: ObjectScope, ref: ObjectRef, range?: MetricsRange): Promise<void> {
    const o = objects.value[scope]
    const same = o.ref?.vhost === ref.vhost && o.ref?.name === ref.name
    const nextRange = range ?? o.range
    if (!same || nextRange !== o.range) o.history = undefined
    o.ref = { vhost: ref.vhost, name: ref.name }
    o.range = nextRange
    every(scope, REFRESH_MS[nextRange], () => loadObject(scope))
    await loadObject(scope)
  }

  function stopObject(scope: ObjectScope): void {
    clearInterval(timers[scope])
    timers[scope] = undefined
    objects.value[scope] = { range: objects.value[scope].range, loading: false }
  }

  return { overviewRange, overview, overviewLoading, objects, showOverview, stopOverview, showObject, stopObject }
})
