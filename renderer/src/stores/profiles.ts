import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ConnectionProfile, ProfileInput, ProfilesState, ProfileTestResult } from '../../../main/contract'
import { getBridge } from '../bridge'
import { call } from './ui'

export const useProfilesStore = defineStore('profiles', () => {
  const state = ref<ProfilesState>({ profiles: [], activeId: 'embedded' })
  const loaded = ref(false)
  /** bumps whenever the active profile changes, so views reload */
  const generation = ref(0)
  let unsubscribe: (() => void) | undefined

  const active = computed<ConnectionProfile | undefined>(() => state.value.profiles.find((p) => p.id === state.value.activeId))
  const readOnly = computed(() => active.value?.readOnly === true)

  function accept(next: ProfilesState): void {
    const changed = next.activeId !== state.value.activeId
    state.value = next
    if (changed) generation.value++
  }

  async function load(): Promise<void> {
    const r = await call('profiles.list', undefined, 'Loading profiles')
    if (r.ok) accept(r.value)
    loaded.value = true
    unsubscribe ??= getBridge().on('profiles.changed', accept)
  }

  async function add(input: ProfileInput): Promise<ConnectionProfile | undefined> {
    const r = await call('profiles.add', input, 'Saving the profile')
    if (!r.ok) return undefined
    await load()
    return r.value
  }

  async function update(id: string, changes: Partial<ProfileInput>): Promise<boolean> {
    const r = await call('profiles.update', { id, changes }, 'Saving the profile')
    if (r.ok) await load()
    return r.ok
  }

  async function remove(id: string): Promise<boolean> {
    const r = await call('profiles.delete', { id }, 'Deleting the profile')
    if (r.ok) accept(r.value)
    return r.ok
  }

  async function test(req: { id: string } | { input: ProfileInput }): Promise<ProfileTestResult | undefined> {
    const r = await call('profiles.test', req, 'Testing the connection')
    return r.ok ? r.value : undefined
  }

  async function activate(id: string): Promise<boolean> {
    const r = await call('profiles.activate', { id }, 'Switching profile')
    if (r.ok) accept(r.value)
    return r.ok
  }

  return { state, loaded, generation, active, readOnly, load, add, update, remove, test, activate, accept }
})
