import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type {
  ApplyProgress,
  ApplyResult,
  ArgTable,
  DesignBinding,
  DesignExchange,
  DesignIssue,
  DesignQueue,
  NodeStats,
  RouteResult,
  StepResult,
  TopologyDesign,
  TopologyPlan,
} from '../../../main/contract'
import { getBridge } from '../bridge'
import { layoutDesign } from '../components/topology/layout'
import { call, useUiStore } from './ui'

export type Selection = { kind: 'exchange'; name: string } | { kind: 'queue'; name: string } | { kind: 'binding'; index: number } | undefined

const STORAGE_KEY = 'warren.topology.design'
const UNDO_LIMIT = 200

export const exchangeId = (name: string): string => `exchange:${name}`
export const queueId = (name: string): string => `queue:${name}`

export function emptyDesign(vhost = '/'): TopologyDesign {
  return { format: 'warren-topology', version: 1, vhost, exchanges: [], queues: [], bindings: [], layout: {} }
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

function restore(): TopologyDesign {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved) {
      const d = JSON.parse(saved) as TopologyDesign
      if (d && d.format === 'warren-topology' && Array.isArray(d.exchanges)) return d
    }
  } catch {
    // nothing saved, or not readable
  }
  return emptyDesign()
}

/** Names for new nodes: exchange-1, exchange-2, … (the first free one). */
function freeName(prefix: string, taken: Set<string>): string {
  for (let i = 1; ; i++) if (!taken.has(`${prefix}-${i}`)) return `${prefix}-${i}`
}

/**
 * The designer's state. The design is immutable once committed: every edit makes a new design and pushes the old
 * one on the undo stack (snapshots), so undo/redo is swapping references.
 */
export const useTopologyStore = defineStore('topology', () => {
  const design = shallowRef<TopologyDesign>(restore())
  const undoStack = shallowRef<TopologyDesign[]>([])
  const redoStack = shallowRef<TopologyDesign[]>([])
  /** bumps on every change of structure (not on moves): the canvas rebuilds its nodes and edges */
  const revision = ref(0)
  const selection = ref<Selection>()
  const issues = shallowRef<DesignIssue[]>([])
  const checking = ref(false)
  const stats = shallowRef<Record<string, NodeStats>>({})
  const statsAt = ref<number | undefined>()
  const liveMode = ref(false)
  const loadingLive = ref(false)
  const product = ref<string>('')
  const plan = shallowRef<TopologyPlan | undefined>()
  const planning = ref(false)
  const applying = ref(false)
  const applyResult = shallowRef<ApplyResult | undefined>()
  const progress = shallowRef<Record<number, StepResult>>({})
  const route = shallowRef<RouteResult | undefined>()
  let lastCoalesce: { key: string; at: number } | undefined
  let liveTimer: ReturnType<typeof setInterval> | undefined
  let checkTimer: ReturnType<typeof setTimeout> | undefined
  let checkSeq = 0

  const canUndo = computed(() => undoStack.value.length > 0)
  const canRedo = computed(() => redoStack.value.length > 0)

  const issuesByNode = computed(() => {
    const out: Record<string, DesignIssue[]> = {}
    for (const issue of issues.value) {
      let id: string
      if (issue.target.kind === 'exchange') id = exchangeId(issue.target.name ?? '')
      else if (issue.target.kind === 'queue') id = queueId(issue.target.name ?? '')
      else if (issue.target.kind === 'binding') id = `b:${issue.target.bindingIndex}`
      else id = 'design'
      ;(out[id] ??= []).push(issue)
    }
    return out
  })

  function persist(): void {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(design.value))
    } catch {
      // storage full or unavailable: the design still lives in memory
    }
  }

  function scheduleCheck(): void {
    clearTimeout(checkTimer)
    checkTimer = setTimeout(() => void check(), 250)
  }

  /** Replaces the design (structure changed): undo snapshot, re-check, persist. */
  function replace(next: TopologyDesign, options: { coalesce?: string; structural?: boolean } = {}): void {
    const now = Date.now()
    const coalesced = options.coalesce !== undefined && lastCoalesce?.key === options.coalesce && now - lastCoalesce.at < 1500
    if (!coalesced) undoStack.value = [...undoStack.value.slice(-UNDO_LIMIT + 1), design.value]
    lastCoalesce = options.coalesce !== undefined ? { key: options.coalesce, at: now } : undefined
    redoStack.value = []
    design.value = next
    if (options.structural !== false) {
      revision.value++
      route.value = undefined
      plan.value = undefined
      scheduleCheck()
    }
    persist()
  }

  /** Runs a change on a copy of the design. */
  function edit(change: (d: TopologyDesign) => void, options: { coalesce?: string; structural?: boolean } = {}): void {
    const next = clone(design.value)
    next.layout ??= {}
    change(next)
    replace(next, options)
  }

  function undo(): void {
    const prev = undoStack.value[undoStack.value.length - 1]
    if (!prev) return
    undoStack.value = undoStack.value.slice(0, -1)
    redoStack.value = [...redoStack.value, design.value]
    design.value = prev
    lastCoalesce = undefined
    afterSwap()
  }

  function redo(): void {
    const next = redoStack.value[redoStack.value.length - 1]
    if (!next) return
    redoStack.value = redoStack.value.slice(0, -1)
    undoStack.value = [...undoStack.value, design.value]
    design.value = next
    lastCoalesce = undefined
    afterSwap()
  }

  function afterSwap(): void {
    revision.value++
    route.value = undefined
    plan.value = undefined
    const s = selection.value
    if (s && s.kind !== 'binding' && !(s.kind === 'exchange' ? design.value.exchanges.some((x) => x.name === s.name) : design.value.queues.some((q) => q.name === s.name))) selection.value = undefined
    if (s && s.kind === 'binding' && !design.value.bindings[s.index]) selection.value = undefined
    scheduleCheck()
    persist()
  }

  /** Starts over from a design (loaded, imported, opened): positions laid out where missing. */
  function load(next: TopologyDesign, options: { relayout?: boolean } = {}): void {
    const d = clone(next)
    d.layout ??= {}
    const missing = [...d.exchanges.map((x) => exchangeId(x.name)), ...d.queues.map((q) => queueId(q.name))].some((id) => !d.layout![id])
    if (options.relayout || missing) d.layout = layoutDesign(d)
    selection.value = undefined
    replace(d)
  }

  // --- editing ---------------------------------------------------------------------------------------------------

  function takenNames(d: TopologyDesign, kind: 'exchange' | 'queue'): Set<string> {
    return new Set(kind === 'exchange' ? d.exchanges.map((x) => x.name) : d.queues.map((q) => q.name))
  }

  function addExchange(position: { x: number; y: number }, partial: Partial<DesignExchange> = {}): string {
    const name = partial.name ?? freeName('exchange', takenNames(design.value, 'exchange'))
    edit((d) => {
      d.exchanges.push({ name, type: 'direct', durable: true, autoDelete: false, internal: false, arguments: {}, ...partial })
      d.layout![exchangeId(name)] = position
    })
    selection.value = { kind: 'exchange', name }
    return name
  }

  function addQueue(position: { x: number; y: number }, partial: Partial<DesignQueue> = {}): string {
    const name = partial.name ?? freeName('queue', takenNames(design.value, 'queue'))
    edit((d) => {
      d.queues.push({ name, durable: true, autoDelete: false, arguments: {}, ...partial })
      d.layout![queueId(name)] = position
    })
    selection.value = { kind: 'queue', name }
    return name
  }

  function addBinding(b: DesignBinding): void {
    edit((d) => {
      d.bindings.push(b)
    })
    selection.value = { kind: 'binding', index: design.value.bindings.length - 1 }
  }

  /** Renames follow every reference: bindings, dead-letter and alternate exchanges, the layout. */
  function updateExchange(name: string, changes: Partial<DesignExchange>): void {
    const newName = changes.name ?? name
    edit(
      (d) => {
        const x = d.exchanges.find((e) => e.name === name)
        if (!x) return
        Object.assign(x, changes)
        if (newName !== name) {
          for (const b of d.bindings) {
            if (b.source === name) b.source = newName
            if (b.destinationType === 'exchange' && b.destination === name) b.destination = newName
          }
          for (const q of d.queues) if (q.arguments['x-dead-letter-exchange'] === name) q.arguments['x-dead-letter-exchange'] = newName
          for (const e of d.exchanges) if (e.arguments['alternate-exchange'] === name) e.arguments['alternate-exchange'] = newName
          const pos = d.layout![exchangeId(name)]
          delete d.layout![exchangeId(name)]
          if (pos) d.layout![exchangeId(newName)] = pos
        }
      },
      { coalesce: `exchange:${newName}` },
    )
    if (newName !== name) selection.value = { kind: 'exchange', name: newName }
  }

  function updateQueue(name: string, changes: Partial<DesignQueue>): void {
    const newName = changes.name ?? name
    edit(
      (d) => {
        const q = d.queues.find((e) => e.name === name)
        if (!q) return
        Object.assign(q, changes)
        if (newName !== name) {
          for (const b of d.bindings) if (b.destinationType === 'queue' && b.destination === name) b.destination = newName
          const pos = d.layout![queueId(name)]
          delete d.layout![queueId(name)]
          if (pos) d.layout![queueId(newName)] = pos
        }
      },
      { coalesce: `queue:${newName}` },
    )
    if (newName !== name) selection.value = { kind: 'queue', name: newName }
  }

  function updateBinding(index: number, changes: Partial<DesignBinding>): void {
    edit(
      (d) => {
        const b = d.bindings[index]
        if (b) Object.assign(b, changes)
      },
      { coalesce: `binding:${index}` },
    )
  }

  function setQueueArgument(name: string, key: string, value: ArgTable[string] | undefined): void {
    edit((d) => {
      const q = d.queues.find((e) => e.name === name)
      if (!q) return
      if (value === undefined) delete q.arguments[key]
      else q.arguments[key] = value
    })
  }

  function setExchangeArgument(name: string, key: string, value: ArgTable[string] | undefined): void {
    edit((d) => {
      const x = d.exchanges.find((e) => e.name === name)
      if (!x) return
      if (value === undefined) delete x.arguments[key]
      else x.arguments[key] = value
    })
  }

  /**
   * Removes nodes (with their bindings) and edges. Edge ids: `b:<index>` bindings, `dlx:<queue>` a dead-letter
   * relation (clears x-dead-letter-exchange), `ae:<exchange>` an alternate exchange (clears alternate-exchange).
   */
  function remove(nodeIds: string[], edgeIds: string[]): void {
    if (nodeIds.length === 0 && edgeIds.length === 0) return
    edit((d) => {
      const exchanges = new Set(nodeIds.filter((id) => id.startsWith('exchange:')).map((id) => id.slice('exchange:'.length)))
      const queues = new Set(nodeIds.filter((id) => id.startsWith('queue:')).map((id) => id.slice('queue:'.length)))
      const bindingIndexes = new Set(edgeIds.filter((id) => id.startsWith('b:')).map((id) => Number(id.slice(2))))
      for (const id of edgeIds) {
        if (id.startsWith('dlx:')) {
          const q = d.queues.find((e) => e.name === id.slice(4))
          if (q) {
            delete q.arguments['x-dead-letter-exchange']
            delete q.arguments['x-dead-letter-routing-key']
          }
        } else if (id.startsWith('ae:')) {
          const x = d.exchanges.find((e) => e.name === id.slice(3))
          if (x) delete x.arguments['alternate-exchange']
        }
      }
      d.exchanges = d.exchanges.filter((x) => !exchanges.has(x.name))
      d.queues = d.queues.filter((q) => !queues.has(q.name))
      d.bindings = d.bindings.filter(
        (b, i) => !bindingIndexes.has(i) && !exchanges.has(b.source) && !(b.destinationType === 'exchange' ? exchanges.has(b.destination) : queues.has(b.destination)),
      )
      for (const id of nodeIds) delete d.layout![id]
    })
    selection.value = undefined
  }

  /** Node moves (drag stop): one undo step, no rebuild of the canvas. */
  function move(positions: Record<string, { x: number; y: number }>): void {
    edit(
      (d) => {
        for (const [id, p] of Object.entries(positions)) d.layout![id] = { x: Math.round(p.x), y: Math.round(p.y) }
      },
      { structural: false },
    )
  }

  function autoLayout(): void {
    edit((d) => {
      d.layout = layoutDesign(d)
    })
  }

  function clear(): void {
    load(emptyDesign(design.value.vhost))
  }

  function setVhost(vhost: string): void {
    edit((d) => {
      d.vhost = vhost
    })
  }

  // --- backend ---------------------------------------------------------------------------------------------------

  async function check(): Promise<void> {
    const seq = ++checkSeq
    checking.value = true
    const r = await call('topology.check', { design: design.value, againstBroker: true }, 'Checking the design', true)
    if (seq !== checkSeq) return
    checking.value = false
    if (r.ok) issues.value = r.value
  }

  async function loadLive(vhost?: string): Promise<boolean> {
    loadingLive.value = true
    try {
      const r = await call('topology.live', { vhost: vhost ?? design.value.vhost }, 'Loading the live topology')
      if (!r.ok) return false
      product.value = r.value.product
      stats.value = r.value.stats
      statsAt.value = r.value.at
      // keep the positions of nodes already on the canvas
      const live = r.value.design
      const old = design.value.layout ?? {}
      const layout: Record<string, { x: number; y: number }> = {}
      const ids = [...live.exchanges.map((x) => exchangeId(x.name)), ...live.queues.map((q) => queueId(q.name))]
      const allKnown = ids.every((id) => old[id])
      if (allKnown) for (const id of ids) layout[id] = old[id]!
      load({ ...live, layout: allKnown ? layout : {} })
      return true
    } finally {
      loadingLive.value = false
    }
  }

  async function refreshStats(): Promise<void> {
    const r = await call('topology.stats', { vhost: design.value.vhost }, 'Refreshing live stats', true)
    if (r.ok) {
      stats.value = r.value.stats
      statsAt.value = r.value.at
    }
  }

  function setLiveMode(on: boolean): void {
    liveMode.value = on
    clearInterval(liveTimer)
    liveTimer = undefined
    if (on) {
      void refreshStats()
      liveTimer = setInterval(() => void refreshStats(), 3000)
    }
  }

  async function makePlan(prune = true): Promise<TopologyPlan | undefined> {
    planning.value = true
    applyResult.value = undefined
    progress.value = {}
    try {
      const r = await call('topology.plan', { design: design.value, prune }, 'Planning')
      plan.value = r.ok ? r.value : undefined
      return plan.value
    } finally {
      planning.value = false
    }
  }

  async function apply(acceptLoss: boolean): Promise<ApplyResult | undefined> {
    if (!plan.value) return undefined
    applying.value = true
    progress.value = {}
    const runId = `ui-${Date.now()}`
    const off = getBridge().on('topology.applyProgress', (p: ApplyProgress) => {
      if (p.runId === runId) progress.value = { ...progress.value, [p.result.index]: p.result }
    })
    try {
      const r = await call('topology.apply', { plan: plan.value, acceptLoss, runId }, 'Applying the plan')
      applyResult.value = r.ok ? r.value : undefined
      if (r.ok) {
        const ui = useUiStore()
        if (r.value.completed) ui.push('success', 'Plan applied', `${r.value.results.length} step${r.value.results.length === 1 ? '' : 's'} done`)
        else ui.push('error', `Step ${r.value.failed!.index + 1} failed`, `${r.value.failed!.description}: ${r.value.failed!.error.message}`)
        if (liveMode.value) void refreshStats()
      }
      return applyResult.value
    } finally {
      off()
      applying.value = false
    }
  }

  async function testRoute(exchange: string, routingKey: string, headers: ArgTable | undefined): Promise<RouteResult | undefined> {
    const r = await call('topology.route', { design: design.value, exchange, routingKey, headers }, 'Testing the route')
    route.value = r.ok ? r.value : undefined
    return route.value
  }

  function clearRoute(): void {
    route.value = undefined
  }

  async function importText(text: string): Promise<boolean> {
    const r = await call('topology.import', { text, vhost: undefined }, 'Opening the file')
    if (!r.ok) return false
    load(r.value)
    return true
  }

  async function exportDefinitions(): Promise<string | undefined> {
    const r = await call('topology.export', { design: design.value }, 'Exporting definitions')
    return r.ok ? JSON.stringify(r.value, null, 2) : undefined
  }

  function designText(): string {
    return JSON.stringify(design.value, null, 2)
  }

  // a fresh store (page load) checks what it restored
  scheduleCheck()

  return {
    design,
    revision,
    selection,
    issues,
    issuesByNode,
    checking,
    stats,
    statsAt,
    liveMode,
    loadingLive,
    product,
    plan,
    planning,
    applying,
    applyResult,
    progress,
    route,
    canUndo,
    canRedo,
    undo,
    redo,
    load,
    addExchange,
    addQueue,
    addBinding,
    updateExchange,
    updateQueue,
    updateBinding,
    setQueueArgument,
    setExchangeArgument,
    remove,
    move,
    autoLayout,
    clear,
    setVhost,
    check,
    loadLive,
    refreshStats,
    setLiveMode,
    makePlan,
    apply,
    testRoute,
    clearRoute,
    importText,
    exportDefinitions,
    designText,
  }
})
