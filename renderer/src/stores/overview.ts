import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { Overview, OverviewTick } from '../../../main/contract'
import { getBridge } from '../bridge'
import { call } from './ui'

/** how many ticks the rate charts keep (2 s apart: 5 minutes) */
export const HISTORY = 150

export const useOverviewStore = defineStore('overview', () => {
  const overview = ref<Overview | undefined>()
  const ticks = ref<OverviewTick[]>([])
  const loading = ref(false)
  let unsubscribe: (() => void) | undefined

  function accept(t: OverviewTick): void {
    if (overview.value && t.profileId !== overview.value.profileId) return
    ticks.value = [...ticks.value.slice(-(HISTORY - 1)), t]
    if (overview.value) overview.value = { ...overview.value, totals: t.totals, rates: t.rates }
  }

  async function load(): Promise<void> {
    loading.value = true
    const r = await call('overview.get', undefined, 'Loading the overview')
    loading.value = false
    if (r.ok) {
      if (overview.value?.profileId !== r.value.profileId) ticks.value = []
      overview.value = r.value
    }
    unsubscribe ??= getBridge().on('overview.tick', accept)
  }

  return { overview, ticks, loading, load, accept }
})
