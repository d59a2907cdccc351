import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { BrokerStatus, WarrenError } from '../../../main/contract'
import { getBridge } from '../bridge'

/** The embedded broker's status, kept fresh by polling and by the backend's `broker.statusChanged` events. */
export const useBrokerStore = defineStore('broker', () => {
  const status = ref<BrokerStatus | undefined>()
  /** when `status` arrived (ms since epoch), to advance its uptime between refreshes */
  const receivedAt = ref(0)
  const error = ref<WarrenError | undefined>()
  const loading = ref(false)
  let unsubscribe: (() => void) | undefined

  const running = computed(() => status.value?.state === 'running')

  function accept(next: BrokerStatus, now = Date.now()): void {
    status.value = next
    receivedAt.value = now
  }

  async function refresh(): Promise<void> {
    loading.value = true
    try {
      const result = await getBridge().invoke('broker.status', undefined)
      if (result.ok) {
        accept(result.value)
        error.value = undefined
      } else {
        error.value = result.error
      }
    } catch (e) {
      error.value = { code: 'BRIDGE_FAILED', message: e instanceof Error ? e.message : String(e) }
    } finally {
      loading.value = false
    }
  }

  /** Starts listening for pushed status changes (idempotent). */
  function subscribe(): void {
    if (unsubscribe) return
    unsubscribe = getBridge().on('broker.statusChanged', (next) => accept(next))
  }

  function unsubscribeAll(): void {
    unsubscribe?.()
    unsubscribe = undefined
  }

  /** Uptime as of `now`, advanced locally since the last status arrived. */
  function uptimeAt(now: number): number | undefined {
    const s = status.value
    if (!s || s.state !== 'running' || s.uptimeMs === undefined) return undefined
    return s.uptimeMs + Math.max(0, now - receivedAt.value)
  }

  return { status, receivedAt, error, loading, running, refresh, subscribe, unsubscribe: unsubscribeAll, uptimeAt, accept }
})

export function formatUptime(ms: number): string {
  const total = Math.floor(ms / 1000)
  const d = Math.floor(total / 86_400)
  const h = Math.floor((total % 86_400) / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (d > 0) return `${d}d ${h}h ${m}m`
  if (h > 0) return `${h}h ${m}m ${s}s`
  if (m > 0) return `${m}m ${s}s`
  return `${s}s`
}
