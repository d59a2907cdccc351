import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ClusterState, PlacementPage, PlacementRequest, ShovelSpec } from '../../../main/contract'
import { call, useUiStore } from './ui'

/** how often the Cluster view reloads the nodes, warnings, links (and their charts) while it is open */
export const CLUSTER_REFRESH_MS = 5000

/**
 * The Cluster view: the nodes (or Warren's pair), warnings, shovels and federation links, reloaded every few seconds
 * while the view is open, and one page of the queues × nodes placement matrix. The only caller of the bridge for
 * the cluster area.
 */
export const useClusterStore = defineStore('cluster', () => {
  const state = ref<ClusterState | undefined>()
  const loading = ref(false)
  const lastError = ref<string | undefined>()
  const placement = ref<PlacementPage | undefined>()
  const placementLoading = ref(false)
  const query = ref<PlacementRequest>({ page: 1, pageSize: 25, filter: '', problemsOnly: false })
  let timer: ReturnType<typeof setInterval> | undefined
  let running = false
  /** bumped by start(): answers to requests made before it (another profile's, maybe) are dropped */
  let generation = 0

  async function loadState(): Promise<void> {
    const gen = generation
    loading.value = state.value === undefined
    // quiet while refreshing: a failed poll shows as a banner, not a toast every 5 s
    const r = await call('cluster.state', undefined, 'Loading the cluster', state.value !== undefined)
    if (gen !== generation) return
    loading.value = false
    if (r.ok) {
      state.value = r.value
      lastError.value = undefined
    } else lastError.value = `${r.error.code}: ${r.error.message}`
  }

  async function loadPlacement(): Promise<void> {
    const gen = generation
    placementLoading.value = placement.value === undefined
    const r = await call('cluster.placement', { ...query.value }, 'Loading queue placement', placement.value !== undefined)
    if (gen !== generation) return
    placementLoading.value = false
    if (r.ok) placement.value = r.value
  }

  async function refresh(force = false): Promise<void> {
    if (running && !force) return
    running = true
    try {
      await Promise.all([loadState(), loadPlacement()])
    } finally {
      running = false
    }
  }

  /** Starts polling; what was shown before (perhaps another profile's cluster) is dropped first. */
  function start(): void {
    state.value = undefined
    placement.value = undefined
    lastError.value = undefined
    // a node filter of another cluster would match nothing
    query.value = { ...query.value, page: 1, node: undefined }
    generation++
    clearInterval(timer)
    timer = setInterval(() => void refresh(), CLUSTER_REFRESH_MS)
    void refresh(true)
  }

  function stop(): void {
    clearInterval(timer)
    timer = undefined
  }

  async function setQuery(changes: Partial<PlacementRequest>): Promise<void> {
    query.value = { ...query.value, page: 1, ...changes }
    await loadPlacement()
  }

  async function createShovel(spec: ShovelSpec): Promise<boolean> {
    const r = await call('cluster.shovels.create', spec, `Creating shovel ${spec.name}`)
    if (r.ok) {
      useUiStore().push('success', 'Shovel created', `${spec.vhost}/${spec.name}`)
      await loadState()
    }
    return r.ok
  }

  async function deleteShovel(vhost: string, name: string): Promise<boolean> {
    const r = await call('cluster.shovels.delete', { vhost, name }, `Deleting shovel ${name}`)
    if (r.ok) await loadState()
    return r.ok
  }

  async function restartShovel(vhost: string, name: string): Promise<boolean> {
    const r = await call('cluster.shovels.restart', { vhost, name }, `Restarting shovel ${name}`)
    if (r.ok) await loadState()
    return r.ok
  }

  return { state, loading, lastError, placement, placementLoading, query, start, stop, refresh, loadPlacement, setQuery, createShovel, deleteShovel, restartShovel }
})
