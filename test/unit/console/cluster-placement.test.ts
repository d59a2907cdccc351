// The Cluster view's computations on management API answers recorded from a real 3-node RabbitMQ 3.10.8 cluster
// (fixtures/cluster/*.json, written by fixtures/cluster/capture.ts): healthy, node 1 stopped (it held the mirrored
// queue's master and the quorum leader), node 1 just back (its mirror not synchronised yet), and resynchronised.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { NodeHistory, nodeOf } from '../../../main/console/cluster/nodes'
import { pagePlacement, placementOf, summarize } from '../../../main/console/cluster/placement'
import { federationLinkOf, shovelOf } from '../../../main/console/cluster/shovels'
import { clusterWarnings } from '../../../main/console/cluster/warnings'

type Json = Record<string, unknown>
interface Snapshot {
  overview: Json
  nodes: Json[]
  queues: Json[]
  shovels: Json[]
  federationLinks: Json[]
}
const here = dirname(fileURLToPath(import.meta.url))
const load = (name: string): Snapshot => JSON.parse(readFileSync(join(here, 'fixtures', 'cluster', `${name}.json`), 'utf8')) as Snapshot

function compute(name: string) {
  const s = load(name)
  const nodes = s.nodes.map((n) => nodeOf(n, s.overview.node as string))
  const rows = s.queues.map(placementOf)
  const shovels = s.shovels.map(shovelOf)
  const federationLinks = s.federationLinks.map(federationLinkOf)
  const names = nodes.map((n) => n.name).sort()
  return { s, nodes, rows, names, shovels, federationLinks, warnings: clusterWarnings({ nodes, rows, shovels, federationLinks }), summary: summarize(rows, names) }
}
const row = (rows: ReturnType<typeof placementOf>[], name: string) => rows.find((r) => r.name === name)!
const n = (names: string[], i: number): string => names[i - 1]!

describe('cluster placement and warnings (recorded from RabbitMQ 3.10.8)', () => {
  it('healthy: 3 nodes running, master and leader on node 1, every mirror synchronised, no warning', () => {
    const { nodes, rows, names, warnings, summary, shovels, federationLinks } = compute('healthy')
    expect(nodes.filter((x) => x.running)).toHaveLength(3)
    for (const x of nodes) {
      expect(x.version).toBe('3.10.8')
      expect(x.memLimit).toBeGreaterThan(0)
      expect(x.memUsed).toBeGreaterThan(0)
      expect(x.diskFreeLimit).toBe(50_000_000)
      expect(x.fdTotal).toBeGreaterThan(0)
      expect(x.procUsed).toBeGreaterThan(0)
      expect(x.partitions).toEqual([])
    }
    expect(nodes.filter((x) => x.queried)).toHaveLength(1)
    const mirrored = row(rows, 'mirrored.orders')
    expect(mirrored.cells).toEqual({ [n(names, 1)]: 'master', [n(names, 2)]: 'mirror', [n(names, 3)]: 'mirror' })
    expect(mirrored.problems).toEqual([])
    const quorum = row(rows, 'quorum.orders')
    expect(quorum.type).toBe('quorum')
    expect(quorum.cells).toEqual({ [n(names, 1)]: 'leader', [n(names, 2)]: 'member', [n(names, 3)]: 'member' })
    expect(row(rows, 'shovel.src').cells).toEqual({ [n(names, 1)]: 'master' })
    expect(summary.perNode[n(names, 1)]!.leads).toBeGreaterThanOrEqual(2)
    expect(summary.unsynchronised + summary.belowMajority + summary.withoutLeader + summary.down + summary.replicaOffline).toBe(0)
    expect(shovels).toEqual([expect.objectContaining({ name: 'orders-shovel', state: 'running', source: 'queue shovel.src', destination: 'queue shovel.dest' })])
    expect(federationLinks[0]).toMatchObject({ upstream: 'events-upstream', target: 'fed.events', status: 'running', type: 'exchange' })
    expect(warnings).toEqual([])
  })

  it('node 1 down: the node is reported down, new master and leader elsewhere, a member offline, the shovel stopped', () => {
    const { nodes, rows, names, warnings, summary } = compute('node1-down')
    const down = nodes.find((x) => x.name === n(names, 1))!
    expect(down.running).toBe(false)
    expect(down.memUsed).toBeUndefined()
    const mirrored = row(rows, 'mirrored.orders')
    expect(mirrored.cells[n(names, 1)]).toBeUndefined()
    expect(Object.values(mirrored.cells).filter((r) => r === 'master')).toHaveLength(1)
    const quorum = row(rows, 'quorum.orders')
    expect(quorum.cells[n(names, 1)]).toBe('member-offline')
    expect(Object.entries(quorum.cells).find(([, r]) => r === 'leader')?.[0]).not.toBe(n(names, 1))
    expect(quorum.problems).toEqual(['replica-offline'])
    // the 200 confirmed messages of each are still there
    expect(quorum.messages).toBe(200)
    expect(mirrored.messages).toBe(200)
    expect(row(rows, 'shovel.src').problems).toEqual(['down'])
    expect(summary.down).toBe(2)
    expect(summary.replicaOffline).toBe(1)
    const kinds = warnings.map((w) => w.kind)
    expect(kinds).toEqual(expect.arrayContaining(['node-down', 'replica-offline', 'queue-down', 'shovel-not-running']))
    expect(kinds).not.toContain('quorum-below-majority')
    const nodeDown = warnings.find((w) => w.kind === 'node-down')!
    expect(nodeDown.severity).toBe('critical')
    expect(nodeDown.subjects).toEqual([n(names, 1)])
    expect(nodeDown.action).toMatch(/start/i)
    expect(warnings.find((w) => w.kind === 'shovel-not-running')!.detail).toContain('needed a restart')
    // critical before warning
    expect(warnings.findIndex((w) => w.severity === 'warning')).toBeGreaterThan(warnings.findIndex((w) => w.severity === 'critical'))
  })

  it('node 1 back: its mirror is listed but not synchronised yet (a warning); resynced: no problem left', () => {
    const back = compute('node1-back')
    const mirrored = row(back.rows, 'mirrored.orders')
    expect(mirrored.cells[n(back.names, 1)]).toBe('mirror-unsynced')
    expect(mirrored.problems).toContain('unsynchronised')
    expect(back.warnings.map((w) => w.kind)).toContain('unsynchronised-mirror')
    const again = compute('resynced')
    expect(row(again.rows, 'mirrored.orders').cells[n(again.names, 1)]).toBe('mirror')
    expect(row(again.rows, 'quorum.orders').cells[n(again.names, 1)]).toBe('member')
    expect(again.warnings).toEqual([])
  })

  it('a quorum queue with a minority online is below majority and has no leader', () => {
    const q = load('node1-down').queues.find((x) => x.name === 'quorum.orders')!
    const members = q.members as string[]
    const r = placementOf({ ...q, online: [members[0]], leader: members[0] })
    expect(r.problems).toContain('below-majority')
    const w = clusterWarnings({ nodes: [], rows: [r] })
    expect(w[0]).toMatchObject({ kind: 'quorum-below-majority', severity: 'critical', count: 1 })
  })

  it('warns about a partition and about memory and disk alarms (recorded nodes with those fields set)', () => {
    const s = load('healthy')
    const [a, b, c] = s.nodes
    const nodes = [
      nodeOf({ ...a!, partitions: [b!.name] }),
      nodeOf({ ...b!, partitions: [a!.name], mem_alarm: true, mem_used: (b!.mem_limit as number) + 1 }),
      nodeOf({ ...c!, disk_free_alarm: true, disk_free: 1000 }),
    ]
    const w = clusterWarnings({ nodes, rows: [] })
    expect(w.map((x) => x.kind)).toEqual(['partition', 'memory-alarm', 'disk-alarm'])
    expect(w.every((x) => x.severity === 'critical')).toBe(true)
    expect(w[0]!.subjects).toEqual([a!.name, b!.name])
    expect(w[1]!.detail).toContain(b!.name as string)
    expect(w[2]!.subjects).toEqual([c!.name])
  })

  it('pages and filters thousands of rows, problems first', () => {
    const { rows, names } = compute('node1-back')
    const many = Array.from({ length: 5000 }, (_, i) => ({ ...rows[i % rows.length]!, name: `q${String(i).padStart(5, '0')}-${rows[i % rows.length]!.name}` }))
    const t0 = performance.now()
    const p = pagePlacement(many, names, { page: 3, pageSize: 50 })
    expect(performance.now() - t0).toBeLessThan(500)
    expect(p.totalCount).toBe(5000)
    expect(p.rows).toHaveLength(50)
    expect(p.nodes).toEqual(names)
    const first = pagePlacement(many, names, { page: 1, pageSize: 10 })
    expect(first.rows.every((r) => r.problems.length > 0)).toBe(true)
    const filtered = pagePlacement(many, names, { page: 1, pageSize: 10, filter: 'QUORUM', problemsOnly: false })
    expect(filtered.filteredCount).toBe(many.filter((r) => r.name.includes('quorum')).length)
    const problems = pagePlacement(many, names, { page: 99_999, pageSize: 10, problemsOnly: true })
    expect(problems.page).toBe(Math.ceil(problems.filteredCount / 10))
    const onNode = pagePlacement(many, names, { page: 1, pageSize: 10, type: 'quorum', node: n(names, 1) })
    expect(onNode.rows.every((r) => r.type === 'quorum' && r.cells[n(names, 1)] !== undefined)).toBe(true)
  })

  it('keeps a bounded history of each node, with gaps while a node is down', () => {
    const h = new NodeHistory(10_000, 1000)
    const healthy = compute('healthy').nodes
    const down = compute('node1-down').nodes
    h.record(healthy, 1000)
    h.record(healthy, 1500) // too soon: skipped
    h.record(down, 3000)
    h.record(healthy, 20_000) // the first two fall out of the window
    const snap = h.snapshot()
    const first = healthy[0]!.name
    expect(snap[first]!.map((x) => x.t)).toEqual([20_000])
    h.record(down, 21_000)
    expect(h.snapshot()[first]!.at(-1)!.memUsed).toBeNull()
    expect(h.snapshot()[healthy[1]!.name]!.at(-1)!.memUsed).toBeGreaterThan(0)
  })
})
