/**
 * Queue placement: where each queue's data lives, from the management API's /api/queues items.
 *   classic            `node` holds it; with an ha-mode policy `slave_nodes` are its mirrors and
 *                      `synchronised_slave_nodes` the ones that caught up
 *   quorum / stream    `leader` leads, `members` hold replicas, `online` are the members that are up
 * The matrix is queues × nodes, computed once per fetch and paged here (thousands of queues stay cheap to page).
 */
import type { PlacementPage, PlacementRequest, PlacementRole, PlacementRow, PlacementSummary, QueueProblem } from '../../contract'

type Json = Record<string, unknown>
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
const strs = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined)

/** the /api/queues columns placement needs (RabbitMQ returns only these; Warren ignores the parameter) */
export const PLACEMENT_COLUMNS = ['name', 'vhost', 'type', 'node', 'leader', 'members', 'online', 'slave_nodes', 'synchronised_slave_nodes', 'state', 'messages', 'policy']

/** One queue's row of the matrix. */
export function placementOf(q: Json): PlacementRow {
  const type = str(q.type) ?? 'classic'
  const cells: Record<string, PlacementRole> = {}
  const problems: QueueProblem[] = []
  const state = str(q.state)
  const members = strs(q.members)
  if (members && type !== 'classic') {
    const online = new Set(strs(q.online) ?? [])
    const leader = str(q.leader) ?? str(q.node)
    for (const m of members) cells[m] = online.has(m) ? 'member' : 'member-offline'
    if (leader && online.has(leader)) cells[leader] = 'leader'
    const majority = Math.floor(members.length / 2) + 1
    const up = members.filter((m) => online.has(m)).length
    if (up < majority) problems.push('below-majority')
    else if (up < members.length) problems.push('replica-offline')
    if (!leader || !online.has(leader)) problems.push('no-leader')
  } else {
    const home = str(q.node)
    if (home) cells[home] = 'master'
    const mirrors = strs(q.slave_nodes)
    if (mirrors) {
      const synced = new Set(strs(q.synchronised_slave_nodes) ?? [])
      for (const m of mirrors) if (m !== home) cells[m] = synced.has(m) ? 'mirror' : 'mirror-unsynced'
      if (mirrors.some((m) => !synced.has(m))) problems.push('unsynchronised')
    }
    if (state === 'down' || state === 'crashed' || state === 'stopped') problems.push('down')
  }
  return {
    vhost: str(q.vhost) ?? '/',
    name: typeof q.name === 'string' ? q.name : '',
    type,
    state,
    messages: typeof q.messages === 'number' ? q.messages : undefined,
    policy: str(q.policy),
    cells,
    problems,
  }
}

export function summarize(rows: PlacementRow[], nodes: string[]): PlacementSummary {
  const perNode: PlacementSummary['perNode'] = {}
  for (const n of nodes) perNode[n] = { leads: 0, replicas: 0 }
  const s: PlacementSummary = { queues: rows.length, perNode, unsynchronised: 0, replicaOffline: 0, belowMajority: 0, withoutLeader: 0, down: 0 }
  for (const r of rows) {
    for (const [node, role] of Object.entries(r.cells)) {
      const p = (perNode[node] ??= { leads: 0, replicas: 0 })
      if (role === 'master' || role === 'leader') p.leads++
      else p.replicas++
    }
    if (r.problems.includes('unsynchronised')) s.unsynchronised++
    if (r.problems.includes('replica-offline')) s.replicaOffline++
    if (r.problems.includes('below-majority')) s.belowMajority++
    if (r.problems.includes('no-leader')) s.withoutLeader++
    if (r.problems.includes('down')) s.down++
  }
  return s
}

/** The matrix's columns: the cluster's nodes first (in their order), then any node a queue names that /api/nodes did not. */
export function matrixNodes(rows: PlacementRow[], nodes: string[]): string[] {
  const all = [...nodes]
  const seen = new Set(nodes)
  for (const r of rows)
    for (const n of Object.keys(r.cells)) {
      if (seen.has(n)) continue
      seen.add(n)
      all.push(n)
    }
  return all
}

/** Filters and pages the rows (sorted: problems first, then vhost and name). */
export function pagePlacement(rows: PlacementRow[], nodes: string[], req: PlacementRequest, at = Date.now()): PlacementPage {
  const pageSize = Math.min(500, Math.max(1, Math.floor(req.pageSize) || 50))
  const filter = req.filter?.trim().toLowerCase()
  const matching = rows.filter(
    (r) =>
      (!filter || `${r.vhost}/${r.name}`.toLowerCase().includes(filter)) &&
      (!req.problemsOnly || r.problems.length > 0) &&
      (!req.node || r.cells[req.node] !== undefined) &&
      (!req.type || r.type === req.type),
  )
  matching.sort((a, b) => Number(b.problems.length > 0) - Number(a.problems.length > 0) || a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name))
  const pages = Math.max(1, Math.ceil(matching.length / pageSize))
  const page = Math.min(pages, Math.max(1, Math.floor(req.page) || 1))
  return {
    nodes: matrixNodes(rows, nodes),
    rows: matching.slice((page - 1) * pageSize, page * pageSize),
    page,
    pageSize,
    filteredCount: matching.length,
    totalCount: rows.length,
    at,
  }
}
