/**
 * The console's cluster area: its share of the contract's handlers (see ../context.ts).
 *   cluster.state        nodes (nodes.ts), Warren's pair (/api/ha), shovels and federation links (shovels.ts),
 *                        the placement summary (placement.ts) and warnings (warnings.ts); records each node's
 *                        resources into a short in-memory history for the live charts
 *   cluster.placement    one page of the queues × nodes matrix (the queue list is fetched once per few seconds
 *                        and shared by state and every page)
 *   cluster.shovels.*    create / delete / restart a dynamic shovel through the management API
 * Everything goes through the management HTTP API of the active profile (RabbitMQ or Warren's embedded broker).
 */
import type { ClusterCommands, ClusterState, FederationLinkStatus, PlacementRow, ShovelStatus, WarrenPair } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'
import { BrokerReplyError, ManagementHttp } from '../management-backend'
import { ConsoleError } from '../profiles'
import { NodeHistory, nodeOf, pairOf } from './nodes'
import { pagePlacement, PLACEMENT_COLUMNS, placementOf, summarize } from './placement'
import { federationLinkOf, shovelOf, shovelParameter } from './shovels'
import { clusterWarnings } from './warnings'

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)
const enc = encodeURIComponent

/** the queue list (for placement) is re-read at most this often */
const QUEUES_TTL_MS = 3000

export interface ClusterAreaOptions {
  /** how long the node history keeps samples; default 30 min */
  historyMs?: number
  /** per-request timeout of the management API; default 15 s */
  timeoutMs?: number
}

/** 404 (the API is not there: plugin not enabled, or Warren without that extension) → undefined */
async function optional<T>(work: Promise<T>): Promise<{ value?: T; error?: string }> {
  try {
    return { value: await work }
  } catch (e) {
    if (e instanceof BrokerReplyError && e.replyCode === 404) return {}
    return { error: e instanceof Error ? e.message : String(e) }
  }
}

export function createClusterArea(ctx: ConsoleContext, options: ClusterAreaOptions = {}): ConsoleArea<keyof ClusterCommands> {
  const history = new NodeHistory(options.historyMs ?? 30 * 60_000)
  let queues: { profileId: string; at: number; rows: Promise<PlacementRow[]> } | undefined
  let nodeNames: { profileId: string; names: string[] } | undefined
  /** the Warren pair the active profile's broker last described, to find the active member when that broker is gone */
  const lastPair = new Map<string, WarrenPair>()
  /** while the profile's member does not answer: the other member the state was read through (placement uses it too) */
  let detour: { profileId: string; client: ManagementHttp } | undefined

  const http = (): ManagementHttp => new ManagementHttp(ctx.activeTarget(), { timeoutMs: options.timeoutMs ?? 15_000 })

  function placementRows(client: ManagementHttp): Promise<PlacementRow[]> {
    const profileId = ctx.activeTarget().profileId
    if (queues && queues.profileId === profileId && Date.now() - queues.at < QUEUES_TTL_MS) return queues.rows
    const rows = client.get(`/api/queues?columns=${PLACEMENT_COLUMNS.join(',')}`).then((list) => arr(list).map(placementOf))
    queues = { profileId, at: Date.now(), rows }
    rows.catch(() => {
      if (queues?.rows === rows) queues = undefined
    })
    return rows
  }

  /**
   * A Warren standby answers only GET /api/ha (everything else 503): the view still shows the pair, and says that
   * the profile points at the standby.
   */
  async function standbyState(client: ManagementHttp, cause: unknown): Promise<ClusterState> {
    const pair = pairOf(await client.get('/api/ha').catch(() => Promise.reject(cause)))
    if (!pair) throw cause
    const active = pair.members.find((m) => m.role === 'active')
    const now = Date.now()
    return {
      kind: 'warren',
      product: 'Warren',
      queriedNode: pair.node,
      nodes: [],
      pair,
      placement: summarize([], []),
      unavailable: {},
      warnings: [
        {
          kind: 'profile-on-standby',
          severity: 'warning',
          title: `This profile points at the standby (${pair.node})`,
          detail: active
            ? `The active member is ${active.name} (AMQP ${active.amqp ?? '?'}, HTTP ${active.http ?? '?'}). A standby serves nothing but its pair status; queues, shovels and messages are on the active.`
            : 'No member is active right now: a takeover may be in progress.',
          action: 'Point the profile\u2019s management URL at the active member (or wait: this member becomes active when the active one fails). Clients should be given both addresses (see docs/pair.md).',
          subjects: [pair.node],
          count: 1,
        },
        ...clusterWarnings({ nodes: [], rows: [], pair }),
      ],
      history: history.snapshot(),
      at: now,
    }
  }

  async function state(): Promise<ClusterState> {
    const client = http()
    const profileId = ctx.activeTarget().profileId
    try {
      const s = await fullState(client)
      if (s.pair?.mode === 'pair') lastPair.set(profileId, s.pair)
      detour = undefined
      return s
    } catch (e) {
      if (e instanceof BrokerReplyError && e.replyCode === 503) return standbyState(client, e)
      const pair = lastPair.get(profileId)
      if (e instanceof ConsoleError && e.code === 'UNREACHABLE' && pair) return throughAnotherMember(pair, e)
      throw e
    }
  }

  /**
   * The profile points at a member of a Warren pair that does not answer (killed, its host down): the pair's other
   * member has most likely taken over, so the view asks the members it knows of and shows the pair through the one
   * that is active now, with a warning that the profile's own address is not answering.
   */
  async function throughAnotherMember(pair: WarrenPair, cause: ConsoleError): Promise<ClusterState> {
    const target = ctx.activeTarget()
    const scheme = new URL(target.managementUrl).protocol
    for (const member of pair.members) {
      if (!member.http || member.name === pair.node) continue
      const client = new ManagementHttp({ ...target, managementUrl: `${scheme}//${member.http}` }, { timeoutMs: options.timeoutMs ?? 15_000 })
      const ha = pairOf(await client.get('/api/ha').catch(() => undefined))
      if (ha?.role !== 'active') continue
      const s = await fullState(client).catch(() => undefined)
      if (!s) continue
      detour = { profileId: target.profileId, client }
      s.warnings.unshift({
        kind: 'profile-member-unreachable',
        severity: 'warning',
        title: `This profile\u2019s broker (${pair.node}) does not answer; showing the pair through ${ha.node}`,
        detail: `${cause.message}. ${ha.node} is active now (HTTP ${member.http}, AMQP ${member.amqp ?? '?'}); the other views use the profile\u2019s address and stay unavailable.`,
        action: 'Start the stopped member again (it joins as the standby), or point the profile at the active member. Clients should be given both addresses (see docs/pair.md).',
        subjects: [pair.node],
        count: 1,
      })
      return s
    }
    throw cause
  }

  async function fullState(client: ManagementHttp): Promise<ClusterState> {
    const profileId = ctx.activeTarget().profileId
    const [overviewJson, nodesJson, rows, shovelsJson, linksJson] = await Promise.all([
      client.get('/api/overview').then(obj),
      client.get('/api/nodes').then(arr),
      placementRows(client),
      optional(client.get('/api/shovels').then(arr)),
      optional(client.get('/api/federation-links').then(arr)),
    ])
    const product = str(overviewJson.product_name) ?? 'RabbitMQ'
    const kind = product === 'Warren' ? 'warren' : 'rabbitmq'
    const haJson = kind === 'warren' ? await optional(client.get('/api/ha')) : {}
    const queriedNode = str(overviewJson.node)
    const nodes = nodesJson.map((n) => nodeOf(n, queriedNode)).sort((a, b) => a.name.localeCompare(b.name))
    nodeNames = { profileId, names: nodes.map((n) => n.name) }
    const now = Date.now()
    history.record(nodes, now)
    const shovels: ShovelStatus[] | undefined = shovelsJson.value?.map(shovelOf).sort((a, b) => a.vhost.localeCompare(b.vhost) || a.name.localeCompare(b.name))
    const federationLinks: FederationLinkStatus[] | undefined = linksJson.value?.map(federationLinkOf)
    const pair = haJson.value !== undefined ? pairOf(haJson.value) : undefined
    const unavailable: ClusterState['unavailable'] = {}
    if (shovelsJson.error) unavailable.shovels = shovelsJson.error
    if (linksJson.error) unavailable.federationLinks = linksJson.error
    if (haJson.error) unavailable.pair = haJson.error
    return {
      kind,
      product,
      version: str(overviewJson.product_version) ?? str(overviewJson.rabbitmq_version),
      erlangVersion: str(overviewJson.erlang_version),
      clusterName: str(overviewJson.cluster_name),
      queriedNode,
      nodes,
      pair,
      placement: summarize(rows, nodes.map((n) => n.name)),
      shovels,
      federationLinks,
      unavailable,
      warnings: clusterWarnings({ nodes, rows, shovels, federationLinks, pair }),
      history: history.snapshot(),
      at: now,
    }
  }

  return {
    handlers: {
      'cluster.state': () => state(),
      'cluster.placement': async (req) => {
        const client = detour?.profileId === ctx.activeTarget().profileId ? detour.client : http()
        const profileId = ctx.activeTarget().profileId
        const rows = await placementRows(client)
        let names = nodeNames?.profileId === profileId ? nodeNames.names : undefined
        if (!names) {
          names = arr(await client.get('/api/nodes?columns=name'))
            .map((n) => str(n.name) ?? '?')
            .sort()
          nodeNames = { profileId, names }
        }
        return pagePlacement(rows, names, req)
      },
      'cluster.shovels.create': async (spec) => {
        ctx.writable()
        const value = shovelParameter(spec)
        await http().request('PUT', `/api/parameters/shovel/${enc(spec.vhost || '/')}/${enc(spec.name.trim())}`, { value })
      },
      'cluster.shovels.delete': async ({ vhost, name }) => {
        ctx.writable()
        await http().request('DELETE', `/api/parameters/shovel/${enc(vhost || '/')}/${enc(name)}`)
      },
      'cluster.shovels.restart': async ({ vhost, name }) => {
        ctx.writable()
        await http().request('DELETE', `/api/shovels/vhost/${enc(vhost || '/')}/${enc(name)}/restart`)
      },
    },
    profileChanged() {
      history.clear()
      queues = undefined
      nodeNames = undefined
      detour = undefined
    },
  }
}
