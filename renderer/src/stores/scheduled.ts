import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type {
  ArgTable,
  RouteCheck,
  ScheduleRequest,
  ScheduleResult,
  ScheduledCapabilities,
  ScheduledDetail,
  ScheduledItem,
  ScheduledRef,
  ScheduledSort,
  ScheduledTimeline,
  UnroutedScheduled,
} from '../../../main/contract'
import { call, useUiStore } from './ui'

/** Scheduled (delayed) messages of the active profile: capabilities, the pending list of one source, timeline, unrouted. */
export const useScheduledStore = defineStore('scheduled', () => {
  const vhost = ref('/')
  const capabilities = ref<ScheduledCapabilities | undefined>()
  const source = ref('')
  const page = ref(1)
  const pageSize = ref(100)
  const sort = ref<ScheduledSort>('dueAt')
  const sortReverse = ref(false)
  const items = ref<ScheduledItem[]>([])
  const totalCount = ref(0)
  const sorts = ref<ScheduledSort[]>(['dueAt'])
  const notice = ref<string | undefined>()
  const loading = ref(false)
  const loaded = ref(false)
  const timeline = ref<ScheduledTimeline | undefined>()
  const unrouted = ref<UnroutedScheduled[]>([])
  const lastResult = ref<ScheduleResult | undefined>()
  let seq = 0

  const currentSource = computed(() => capabilities.value?.sources.find((s) => s.id === source.value))
  const manageable = computed(() => currentSource.value?.manageable === true)

  async function loadCapabilities(): Promise<void> {
    const r = await call('scheduled.capabilities', { vhost: vhost.value }, 'Loading scheduling capabilities')
    if (!r.ok) return
    capabilities.value = r.value
    if (!r.value.sources.some((s) => s.id === source.value)) {
      // the first source of the default mechanism
      source.value = (r.value.sources.find((s) => s.mechanism === r.value.mechanism) ?? r.value.sources[0])?.id ?? ''
    }
  }

  async function load(changes: { page?: number; pageSize?: number; sort?: ScheduledSort; sortReverse?: boolean; source?: string } = {}, quiet = false): Promise<void> {
    if (changes.source !== undefined) source.value = changes.source
    if (changes.page !== undefined) page.value = changes.page
    if (changes.pageSize !== undefined) pageSize.value = changes.pageSize
    if (changes.sort !== undefined) sort.value = changes.sort
    if (changes.sortReverse !== undefined) sortReverse.value = changes.sortReverse
    if (!source.value) return
    const mine = ++seq
    if (!quiet) loading.value = true
    const r = await call('scheduled.list', { vhost: vhost.value, source: source.value, page: page.value, pageSize: pageSize.value, sort: sort.value, sortReverse: sortReverse.value }, 'Listing scheduled messages', quiet)
    if (mine !== seq) return
    loading.value = false
    loaded.value = true
    if (r.ok) {
      items.value = r.value.items
      totalCount.value = r.value.totalCount
      sorts.value = r.value.sorts
      notice.value = r.value.notice
      // the last page emptied (cancels, deliveries): step back
      if (r.value.items.length === 0 && page.value > 1 && r.value.totalCount > 0) await load({ page: Math.max(1, Math.ceil(r.value.totalCount / pageSize.value)) }, quiet)
    }
  }

  async function loadTimeline(quiet = false): Promise<void> {
    if (!source.value) return
    const r = await call('scheduled.timeline', { vhost: vhost.value, source: source.value, slots: 60 }, 'Loading the timeline', quiet)
    if (r.ok) timeline.value = r.value
  }

  async function loadUnrouted(quiet = false): Promise<void> {
    if (!source.value) return
    const r = await call('scheduled.unrouted', { vhost: vhost.value, source: source.value }, 'Loading unrouted messages', quiet)
    if (r.ok) unrouted.value = r.value
  }

  async function refresh(quiet = false): Promise<void> {
    await Promise.all([load({}, quiet), loadTimeline(quiet), loadUnrouted(quiet)])
  }

  async function checkRoute(req: { exchange: string; routingKey: string; headers?: ArgTable }): Promise<RouteCheck | undefined> {
    const r = await call('scheduled.checkRoute', { vhost: vhost.value, ...req }, 'Checking the route', true)
    return r.ok ? r.value : undefined
  }

  async function schedule(req: Omit<ScheduleRequest, 'vhost'>): Promise<ScheduleResult | undefined> {
    const r = await call('scheduled.schedule', { ...req, vhost: vhost.value }, 'Scheduling the message')
    if (!r.ok) return undefined
    lastResult.value = r.value
    const ui = useUiStore()
    const when = new Date(r.value.dueAt).toLocaleString()
    if (r.value.routeWarning) ui.push('info', 'Scheduled, but no route now', `${when}: ${r.value.routeWarning}`)
    else ui.push('success', 'Scheduled', `due ${when}`)
    // show the source it went to
    if (capabilities.value?.sources.some((s) => s.id === r.value.source)) source.value = r.value.source
    await Promise.all([refresh(), loadCapabilities()])
    return r.value
  }

  async function get(ref: ScheduledRef): Promise<ScheduledDetail | undefined> {
    const r = await call('scheduled.get', ref, 'Loading the scheduled message')
    return r.ok ? r.value : undefined
  }

  async function cancel(ref: ScheduledRef): Promise<boolean> {
    const r = await call('scheduled.cancel', ref, `Cancelling scheduled message ${ref.id}`)
    if (r.ok) useUiStore().push('success', 'Cancelled', `scheduled message ${ref.id} will not be sent`)
    await refresh(true)
    return r.ok
  }

  async function reschedule(ref: ScheduledRef, when: { dueAt?: number; delayMs?: number }): Promise<boolean> {
    const r = await call('scheduled.reschedule', { ...ref, ...when }, `Rescheduling ${ref.id}`)
    if (r.ok) useUiStore().push('success', 'Rescheduled', `scheduled message ${ref.id}`)
    await refresh(true)
    return r.ok
  }

  async function deliverNow(ref: ScheduledRef): Promise<boolean> {
    const r = await call('scheduled.deliverNow', ref, `Delivering ${ref.id} now`)
    if (r.ok) useUiStore().push('success', 'Delivered now', `scheduled message ${ref.id}`)
    await refresh(true)
    return r.ok
  }

  async function clearUnrouted(): Promise<void> {
    const r = await call('scheduled.clearUnrouted', { vhost: vhost.value, source: source.value }, 'Clearing the unrouted record')
    if (r.ok) unrouted.value = []
  }

  function reset(): void {
    capabilities.value = undefined
    source.value = ''
    items.value = []
    totalCount.value = 0
    timeline.value = undefined
    unrouted.value = []
    loaded.value = false
    page.value = 1
  }

  return {
    vhost,
    capabilities,
    source,
    currentSource,
    manageable,
    page,
    pageSize,
    sort,
    sortReverse,
    items,
    totalCount,
    sorts,
    notice,
    loading,
    loaded,
    timeline,
    unrouted,
    lastResult,
    loadCapabilities,
    load,
    loadTimeline,
    loadUnrouted,
    refresh,
    checkRoute,
    schedule,
    get,
    cancel,
    reschedule,
    deliverNow,
    clearUnrouted,
    reset,
  }
})
