import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ObjectRef, QueueDetails, QueueSpec } from '../../../main/contract'
import { pagedList } from './paged'
import { call, useUiStore } from './ui'

export const useQueuesStore = defineStore('queues', () => {
  const list = pagedList('queues.list', 'Listing queues')
  const details = ref<QueueDetails | undefined>()

  async function loadDetails(ref: ObjectRef): Promise<void> {
    const r = await call('queues.get', ref, `Loading queue ${ref.name}`)
    details.value = r.ok ? r.value : undefined
  }

  async function create(spec: QueueSpec): Promise<boolean> {
    const r = await call('queues.create', spec, `Creating queue ${spec.name}`)
    if (r.ok) {
      useUiStore().push('success', 'Queue created', spec.name)
      await list.load()
    }
    return r.ok
  }

  async function remove(ref: ObjectRef): Promise<boolean> {
    const r = await call('queues.delete', ref, `Deleting queue ${ref.name}`)
    if (r.ok) {
      useUiStore().push('success', 'Queue deleted', ref.name)
      await list.load()
    }
    return r.ok
  }

  async function purge(ref: ObjectRef): Promise<boolean> {
    const r = await call('queues.purge', ref, `Purging queue ${ref.name}`)
    if (r.ok) useUiStore().push('success', 'Queue purged', ref.name)
    return r.ok
  }

  return { ...list, details, loadDetails, create, remove, purge }
})
