/**
 * The cluster's nodes from the management API's /api/nodes items, and a short in-memory history of each node's
 * resources for the live charts (the console keeps it while it runs; it is not written to the database).
 * A node that is down is listed by RabbitMQ with `running: false` and none of the resource fields.
 */
import type { ClusterNode, NodeSample, WarrenPair } from '../../contract'

type Json = Record<string, unknown>
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})

export function nodeOf(n: Json, queriedNode?: string): ClusterNode {
  const apps = Array.isArray(n.applications) ? n.applications.map(obj) : []
  const app = apps.find((a) => a.name === 'rabbit') ?? apps.find((a) => a.name === 'warren')
  const name = str(n.name) ?? '?'
  return {
    name,
    running: n.running === true,
    type: str(n.type),
    uptimeMs: num(n.uptime),
    version: str(app?.version),
    memUsed: num(n.mem_used),
    memLimit: num(n.mem_limit),
    memAlarm: n.mem_alarm === true,
    diskFree: num(n.disk_free),
    diskFreeLimit: num(n.disk_free_limit),
    diskAlarm: n.disk_free_alarm === true,
    fdUsed: num(n.fd_used),
    fdTotal: num(n.fd_total),
    socketsUsed: num(n.sockets_used),
    socketsTotal: num(n.sockets_total),
    procUsed: num(n.proc_used),
    procTotal: num(n.proc_total),
    processors: num(n.processors),
    partitions: Array.isArray(n.partitions) ? n.partitions.filter((p): p is string => typeof p === 'string') : [],
    queried: name === queriedNode,
  }
}

/** Warren's GET /api/ha answer → the pair (undefined when it is not shaped like one). */
export function pairOf(ha: unknown): WarrenPair | undefined {
  const h = obj(ha)
  if (h.mode !== 'single' && h.mode !== 'pair') return undefined
  const members = Array.isArray(h.members) ? h.members.map(obj) : []
  const takeovers = Array.isArray(h.takeovers) ? h.takeovers.map(obj) : []
  const role = (v: unknown): 'active' | 'standby' | 'down' => (v === 'active' || v === 'standby' ? v : 'down')
  return {
    mode: h.mode,
    node: str(h.node) ?? '?',
    role: h.role === 'standby' ? 'standby' : 'active',
    members: members.map((m) => ({
      name: str(m.name) ?? '?',
      role: role(m.role),
      amqp: str(m.amqp),
      http: str(m.http),
      pid: num(m.pid),
      hostname: str(m.hostname),
      startedAt: num(m.started_at),
      lastSeenAt: num(m.last_seen_at),
      activeSince: num(m.active_since),
    })),
    takeovers: takeovers
      .map((t) => ({ at: num(t.at) ?? 0, node: str(t.node) ?? '?', previous: str(t.previous), reason: str(t.reason), tookMs: num(t.took_ms) }))
      .sort((a, b) => b.at - a.at),
  }
}

/** Each node's samples over the last `keepMs` (at most one per `minGapMs`). */
export class NodeHistory {
  private readonly samples = new Map<string, NodeSample[]>()

  constructor(
    private readonly keepMs = 30 * 60_000,
    private readonly minGapMs = 1000,
  ) {}

  record(nodes: ClusterNode[], t = Date.now()): void {
    for (const n of nodes) {
      const list = this.samples.get(n.name) ?? []
      const last = list[list.length - 1]
      if (last && t - last.t < this.minGapMs) continue
      list.push({
        t,
        memUsed: n.running ? (n.memUsed ?? null) : null,
        diskFree: n.running ? (n.diskFree ?? null) : null,
        fdUsed: n.running ? (n.fdUsed ?? null) : null,
        socketsUsed: n.running ? (n.socketsUsed ?? null) : null,
        procUsed: n.running ? (n.procUsed ?? null) : null,
      })
      while (list.length > 0 && list[0]!.t < t - this.keepMs) list.shift()
      this.samples.set(n.name, list)
    }
  }

  snapshot(): Record<string, NodeSample[]> {
    return Object.fromEntries([...this.samples].map(([k, v]) => [k, [...v]]))
  }

  clear(): void {
    this.samples.clear()
  }
}
