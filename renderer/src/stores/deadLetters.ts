import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type {
  AuditEntry,
  DeadLetterFilter,
  DeadLetterJob,
  DeadLetterList,
  DeadLetterMessage,
  DeadLetterRef,
  DeadLetterScan,
  DryRunResult,
  ReplayRequest,
} from '../../../main/contract'
import { getBridge } from '../bridge'
import { call, useUiStore } from './ui'

export const PAGE_SIZE = 1000

export function refKey(m: DeadLetterRef & { index: number }): string {
  return `${m.queue}|${m.index}|${m.fingerprint}`
}

/** Dead letters: scan, filtered/grouped list, selection, jobs (pushed progress), audit log. */
export const useDeadLettersStore = defineStore('deadLetters', () => {
  const scan = ref<DeadLetterScan | undefined>()
  const list = ref<DeadLetterList | undefined>()
  const filter = ref<DeadLetterFilter>({})
  const offset = ref(0)
  const scanning = ref(false)
  const loading = ref(false)
  const deep = ref(false)
  /** selected rows: refKey → ref */
  const selection = ref<Map<string, DeadLetterMessage>>(new Map())
  const detail = ref<DeadLetterMessage | undefined>()
  const jobs = ref<DeadLetterJob[]>([])
  const audit = ref<AuditEntry[]>([])
  const stale = ref(false)
  /** the view is on screen: only then does a change rescan (on RabbitMQ a scan is get + requeue) */
  const visible = ref(false)
  let unsubscribe: (() => void)[] | undefined

  const selected = computed(() => [...selection.value.values()])
  const activeJobs = computed(() => jobs.value.filter((j) => j.state === 'running' || j.state === 'paused'))

  function listen(): void {
    if (unsubscribe) return
    const bridge = getBridge()
    unsubscribe = [
      bridge.on('deadLetters.job', (job) => {
        const i = jobs.value.findIndex((j) => j.id === job.id)
        if (i >= 0) jobs.value.splice(i, 1, job)
        else jobs.value.unshift(job)
        if (job.state !== 'running' && job.state !== 'paused') {
          const ui = useUiStore()
          ui.push(job.state === 'done' ? 'success' : job.state === 'cancelled' ? 'info' : 'error', `Dead-letter ${job.action} ${job.state}`, job.summary)
        }
      }),
      bridge.on('deadLetters.changed', () => {
        stale.value = true
        if (visible.value) void rescanSoon()
      }),
    ]
  }

  let rescanTimer: ReturnType<typeof setTimeout> | undefined
  function rescanSoon(): Promise<void> {
    if (rescanTimer) clearTimeout(rescanTimer)
    return new Promise((resolve) => {
      rescanTimer = setTimeout(() => {
        rescanTimer = undefined
        void runScan().then(resolve)
      }, 300)
    })
  }

  async function runScan(): Promise<void> {
    listen()
    scanning.value = true
    const r = await call('deadLetters.scan', { deep: deep.value }, 'Scanning for dead letters')
    scanning.value = false
    if (!r.ok) return
    scan.value = r.value
    stale.value = false
    // drop selections of messages that may be gone
    selection.value = new Map()
    await load()
    await loadJobs()
  }

  async function load(changes: { offset?: number } = {}): Promise<void> {
    if (changes.offset !== undefined) offset.value = Math.max(0, changes.offset)
    loading.value = true
    const r = await call('deadLetters.list', { filter: filter.value, offset: offset.value, limit: PAGE_SIZE }, 'Listing dead letters')
    loading.value = false
    if (r.ok) list.value = r.value
  }

  async function applyFilter(f: DeadLetterFilter): Promise<void> {
    filter.value = f
    selection.value = new Map()
    await load({ offset: 0 })
  }

  async function open(m: DeadLetterMessage): Promise<void> {
    detail.value = m
    if (!m.payloadTruncated) return
    const r = await call('deadLetters.get', { queue: m.queue, fingerprint: m.fingerprint }, 'Loading the message')
    if (r.ok && detail.value === m) detail.value = { ...r.value, index: m.index }
  }

  function toggle(m: DeadLetterMessage, on?: boolean): void {
    const k = refKey(m)
    const next = new Map(selection.value)
    if (on ?? !next.has(k)) next.set(k, m)
    else next.delete(k)
    selection.value = next
  }

  function setSelection(keys: string[]): void {
    const byKey = new Map((list.value?.messages ?? []).map((m) => [refKey(m), m]))
    const next = new Map<string, DeadLetterMessage>()
    for (const k of keys) {
      const m = byKey.get(k) ?? selection.value.get(k)
      if (m) next.set(k, m)
    }
    selection.value = next
  }

  const refs = (ms: DeadLetterMessage[]): DeadLetterRef[] => ms.map((m) => ({ queue: m.queue, fingerprint: m.fingerprint }))

  async function replay(req: ReplayRequest): Promise<DeadLetterJob | undefined> {
    const r = await call('deadLetters.replay', req, 'Replaying')
    if (!r.ok) return undefined
    upsert(r.value)
    return r.value
  }

  async function dryRun(req: ReplayRequest): Promise<DryRunResult | undefined> {
    const r = await call('deadLetters.dryRun', req, 'Dry run')
    return r.ok ? r.value : undefined
  }

  async function remove(req: { selection?: DeadLetterRef[]; filter?: DeadLetterFilter }): Promise<DeadLetterJob | undefined> {
    const r = await call('deadLetters.delete', req, 'Deleting dead letters')
    if (!r.ok) return undefined
    upsert(r.value)
    return r.value
  }

  async function purge(queue: string): Promise<void> {
    const r = await call('deadLetters.purge', { queue }, `Purging ${queue}`)
    if (r.ok) useUiStore().push('success', 'Purged', queue)
  }

  function upsert(job: DeadLetterJob): void {
    const i = jobs.value.findIndex((j) => j.id === job.id)
    // a pushed event may have overtaken the command's answer: keep the further one
    if (i >= 0) {
      if (jobs.value[i]!.processed <= job.processed || job.state !== 'running') jobs.value.splice(i, 1, job)
    } else jobs.value.unshift(job)
  }

  async function loadJobs(): Promise<void> {
    const r = await call('deadLetters.jobs', undefined, 'Loading jobs', true)
    if (r.ok) jobs.value = r.value
  }

  async function jobAction(id: string, action: 'pause' | 'resume' | 'cancel'): Promise<void> {
    const r = await call(`deadLetters.job.${action}`, { id }, `${action} job`)
    if (r.ok) upsert(r.value)
  }

  async function exportFile(req: { selection?: DeadLetterRef[]; filter?: DeadLetterFilter }): Promise<void> {
    const r = await call('deadLetters.export', req, 'Exporting')
    if (!r.ok) return
    const blob = new Blob([r.value.content], { type: 'application/x-ndjson' })
    const a = document.createElement('a')
    a.href = URL.createObjectURL(blob)
    a.download = r.value.fileName
    a.click()
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
    useUiStore().push('success', 'Exported', `${r.value.count} message(s) to ${r.value.fileName}`)
  }

  async function importFile(content: string, queue?: string): Promise<boolean> {
    const r = await call('deadLetters.import', { content, queue: queue || undefined }, 'Importing')
    if (r.ok) useUiStore().push('success', 'Imported', `${r.value.imported} message(s)`)
    return r.ok
  }

  async function loadAudit(): Promise<void> {
    const r = await call('deadLetters.audit', { limit: 500 }, 'Loading the audit log')
    if (r.ok) audit.value = r.value
  }

  function reset(): void {
    scan.value = undefined
    list.value = undefined
    selection.value = new Map()
    detail.value = undefined
    filter.value = {}
  }

  return {
    scan,
    list,
    filter,
    offset,
    scanning,
    loading,
    deep,
    selection,
    selected,
    detail,
    jobs,
    activeJobs,
    audit,
    stale,
    visible,
    runScan,
    load,
    applyFilter,
    open,
    toggle,
    setSelection,
    refs,
    replay,
    dryRun,
    remove,
    purge,
    loadJobs,
    jobAction,
    exportFile,
    importFile,
    loadAudit,
    reset,
  }
})
