import { ref } from 'vue'
import type { ListRequest, Page, CommandName, CommandRequest, CommandResponse } from '../../../main/contract'
import { call } from './ui'

type ListCommand = {
  [K in CommandName]: CommandRequest<K> extends ListRequest ? (CommandResponse<K> extends Page<unknown> ? K : never) : never
}[CommandName]

/** The state of one server-side sorted/filtered/paged list; used inside a resource's store. */
export function pagedList<K extends ListCommand>(command: K, what: string) {
  type Item = CommandResponse<K> extends Page<infer T> ? T : never
  const request = ref<ListRequest>({ page: 1, pageSize: 100, sort: 'name', sortReverse: false, filter: '', regex: false })
  const items = ref<Item[]>([])
  const filteredCount = ref(0)
  const totalCount = ref(0)
  const loading = ref(false)
  const loaded = ref(false)
  let seq = 0

  async function load(changes: Partial<ListRequest> = {}): Promise<void> {
    request.value = { ...request.value, ...changes }
    const mine = ++seq
    loading.value = true
    const r = await call(command, { ...request.value } as CommandRequest<K>, what)
    if (mine !== seq) return // a newer request is on its way
    loading.value = false
    loaded.value = true
    if (r.ok) {
      const page = r.value as Page<Item>
      items.value = page.items
      filteredCount.value = page.filteredCount
      totalCount.value = page.totalCount
    }
  }

  return { request, items, filteredCount, totalCount, loading, loaded, load }
}
