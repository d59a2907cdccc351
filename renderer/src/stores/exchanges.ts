import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { BindingSpec, ExchangeDetails, ExchangeSpec, ObjectRef } from '../../../main/contract'
import { pagedList } from './paged'
import { call, useUiStore } from './ui'

export const useExchangesStore = defineStore('exchanges', () => {
  const list = pagedList('exchanges.list', 'Listing exchanges')
  const details = ref<ExchangeDetails | undefined>()
  const vhosts = ref<string[]>([])

  async function loadVhosts(): Promise<void> {
    const r = await call('vhosts.list', undefined, 'Listing vhosts')
    if (r.ok) vhosts.value = r.value
  }

  async function loadDetails(ref: ObjectRef): Promise<void> {
    const r = await call('exchanges.get', ref, `Loading exchange ${ref.name || '(default)'}`)
    details.value = r.ok ? r.value : undefined
  }

  async function create(spec: ExchangeSpec): Promise<boolean> {
    const r = await call('exchanges.create', spec, `Creating exchange ${spec.name}`)
    if (r.ok) {
      useUiStore().push('success', 'Exchange created', spec.name)
      await list.load()
    }
    return r.ok
  }

  async function remove(ref: ObjectRef): Promise<boolean> {
    const r = await call('exchanges.delete', ref, `Deleting exchange ${ref.name}`)
    if (r.ok) await list.load()
    return r.ok
  }

  async function bind(spec: BindingSpec): Promise<boolean> {
    const r = await call('bindings.create', spec, 'Creating the binding')
    return r.ok
  }

  async function unbind(spec: BindingSpec & { propertiesKey: string }): Promise<boolean> {
    const r = await call('bindings.delete', spec, 'Deleting the binding')
    return r.ok
  }

  return { ...list, details, vhosts, loadVhosts, loadDetails, create, remove, bind, unbind }
})
