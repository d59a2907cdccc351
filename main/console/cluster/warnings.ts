/**
 * Warnings a user acts on, computed from the nodes, the placement matrix, shovels, federation links and Warren's
 * pair. Each says what is wrong, which nodes/queues/links, and what to do. Critical first.
 */
import type { ClusterNode, ClusterWarning, FederationLinkStatus, PlacementRow, ShovelStatus, WarrenPair } from '../../contract'

const MAX_SUBJECTS = 20

function warning(w: Omit<ClusterWarning, 'subjects' | 'count'>, subjects: string[]): ClusterWarning {
  return { ...w, subjects: subjects.slice(0, MAX_SUBJECTS), count: subjects.length }
}

const list = (xs: string[], max = 5): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`)
/** vhost/name, or just the name in the default vhost */
const qualified = (vhost: string, name: string): string => (vhost === '/' ? name : `${vhost}/${name}`)
const queueId = (r: PlacementRow): string => qualified(r.vhost, r.name)
const mb = (n: number | undefined): string => (n === undefined ? '?' : `${Math.round(n / 1048576)} MiB`)

export interface WarningInputs {
  nodes: ClusterNode[]
  rows: PlacementRow[]
  shovels?: ShovelStatus[]
  federationLinks?: FederationLinkStatus[]
  pair?: WarrenPair
}

export function clusterWarnings({ nodes, rows, shovels, federationLinks, pair }: WarningInputs): ClusterWarning[] {
  const out: ClusterWarning[] = []
  const down = nodes.filter((n) => !n.running).map((n) => n.name)
  if (down.length > 0)
    out.push(
      warning(
        {
          kind: 'node-down',
          severity: 'critical',
          title: down.length === 1 ? `Node ${down[0]} is down` : `${down.length} nodes are down`,
          detail: `Not running: ${list(down)}. Queues led from there moved to other nodes (mirrors, quorum members) or are unavailable (classic queues without mirrors); clients connected to it must reconnect elsewhere.`,
          action: 'Start the node again (rabbitmq-server, or systemctl start rabbitmq-server on its host) and check its log for why it stopped; it rejoins the cluster by itself. Remove it with rabbitmqctl forget_cluster_node only if it is gone for good.',
        },
        down,
      ),
    )

  const partitioned = nodes.filter((n) => n.partitions.length > 0)
  if (partitioned.length > 0)
    out.push(
      warning(
        {
          kind: 'partition',
          severity: 'critical',
          title: 'Network partition',
          detail: partitioned.map((n) => `${n.name} cannot see ${list(n.partitions)}`).join('; '),
          action: 'Fix the network between the nodes, then restart the nodes on the side you trust less (their changes since the split are lost) — or set cluster_partition_handling (pause_minority) so it heals by itself next time.',
        },
        partitioned.map((n) => n.name),
      ),
    )

  const memAlarm = nodes.filter((n) => n.running && n.memAlarm)
  if (memAlarm.length > 0)
    out.push(
      warning(
        {
          kind: 'memory-alarm',
          severity: 'critical',
          title: 'Memory alarm: publishers are blocked',
          detail: memAlarm.map((n) => `${n.name} uses ${mb(n.memUsed)} of its ${mb(n.memLimit)} limit`).join('; '),
          action: 'Drain the deepest queues (add consumers, purge what is not needed), use lazy or quorum queues for backlogs, or raise vm_memory_high_watermark if the host has the memory.',
        },
        memAlarm.map((n) => n.name),
      ),
    )

  const diskAlarm = nodes.filter((n) => n.running && n.diskAlarm)
  if (diskAlarm.length > 0)
    out.push(
      warning(
        {
          kind: 'disk-alarm',
          severity: 'critical',
          title: 'Disk alarm: publishers are blocked',
          detail: diskAlarm.map((n) => `${n.name} has ${mb(n.diskFree)} free, below its ${mb(n.diskFreeLimit)} limit`).join('; '),
          action: 'Free disk space on the node (old logs, other data) or drain the queues holding persistent messages; publishing resumes when free space is above disk_free_limit.',
        },
        diskAlarm.map((n) => n.name),
      ),
    )

  const noLeader = rows.filter((r) => r.problems.includes('below-majority') || r.problems.includes('no-leader'))
  const belowMajority = rows.filter((r) => r.problems.includes('below-majority'))
  if (belowMajority.length > 0)
    out.push(
      warning(
        {
          kind: 'quorum-below-majority',
          severity: 'critical',
          title: `${belowMajority.length} quorum queue${belowMajority.length === 1 ? '' : 's'} below majority: unavailable`,
          detail: `Fewer than a majority of members online: ${list(belowMajority.map(queueId))}. They accept and deliver nothing until a majority is back.`,
          action: 'Bring the stopped members\u2019 nodes back. Do not delete the queue or forget the nodes: the messages are on the members that are down.',
        },
        belowMajority.map(queueId),
      ),
    )
  const leaderless = noLeader.filter((r) => !r.problems.includes('below-majority'))
  if (leaderless.length > 0)
    out.push(
      warning(
        {
          kind: 'queue-without-leader',
          severity: 'critical',
          title: `${leaderless.length} queue${leaderless.length === 1 ? '' : 's'} without an online leader`,
          detail: `No online leader right now: ${list(leaderless.map(queueId))}. An election normally takes a few seconds.`,
          action: 'Wait a few seconds; if it stays, check the members\u2019 nodes (rabbitmq-queues quorum_status <queue>).',
        },
        leaderless.map(queueId),
      ),
    )

  const queueDown = rows.filter((r) => r.problems.includes('down'))
  if (queueDown.length > 0)
    out.push(
      warning(
        {
          kind: 'queue-down',
          severity: 'critical',
          title: `${queueDown.length} queue${queueDown.length === 1 ? '' : 's'} down with ${queueDown.length === 1 ? 'its node' : 'their nodes'}`,
          detail: `Classic queues without mirrors live on one node only: ${list(queueDown.map(queueId))}. Publishing to them is refused or lost until the node is back.`,
          action: 'Start the node again. For data that must survive a node, use quorum queues (x-queue-type: quorum).',
        },
        queueDown.map(queueId),
      ),
    )

  const unsynced = rows.filter((r) => r.problems.includes('unsynchronised'))
  if (unsynced.length > 0) {
    const nodesBehind = [...new Set(unsynced.flatMap((r) => Object.entries(r.cells).filter(([, role]) => role === 'mirror-unsynced').map(([n]) => n)))]
    out.push(
      warning(
        {
          kind: 'unsynchronised-mirror',
          severity: 'warning',
          title: `${unsynced.length} mirrored queue${unsynced.length === 1 ? ' has' : 's have'} an unsynchronised mirror`,
          detail: `Mirrors on ${list(nodesBehind)} have not caught up: ${list(unsynced.map(queueId))}. If the master's node fails now, messages only the master holds can be lost (or the queue stays unavailable with ha-promote-on-failure: when-synced).`,
          action: 'Wait for automatic synchronisation (ha-sync-mode: automatic), or start it: rabbitmqctl sync_queue <queue>. Consider moving to quorum queues: classic mirroring is deprecated.',
        },
        unsynced.map(queueId),
      ),
    )
  }

  const offline = rows.filter((r) => r.problems.includes('replica-offline'))
  if (offline.length > 0)
    out.push(
      warning(
        {
          kind: 'replica-offline',
          severity: 'warning',
          title: `${offline.length} quorum queue${offline.length === 1 ? ' has' : 's have'} a member offline`,
          detail: `Still available (a majority is online), but one more failure may stop them: ${list(offline.map(queueId))}.`,
          action: 'Bring the offline member\u2019s node back; it catches up by itself. If the node is gone for good: rabbitmq-queues delete_member / grow to another node.',
        },
        offline.map(queueId),
      ),
    )

  const stopped = (shovels ?? []).filter((s) => s.state !== 'running')
  if (stopped.length > 0)
    out.push(
      warning(
        {
          kind: 'shovel-not-running',
          severity: 'warning',
          title: `${stopped.length} shovel${stopped.length === 1 ? ' is' : 's are'} not running`,
          detail: stopped.map((s) => `${qualified(s.vhost, s.name)}: ${s.state}${s.reason ? ` (${s.reason})` : ''}`).join('; '),
          action: 'Check that both ends are reachable and that the source queue exists; the shovel retries by itself — or restart it here. Messages wait in the source meanwhile.',
        },
        stopped.map((s) => qualified(s.vhost, s.name)),
      ),
    )

  const links = (federationLinks ?? []).filter((l) => l.status !== 'running')
  if (links.length > 0)
    out.push(
      warning(
        {
          kind: 'federation-not-running',
          severity: 'warning',
          title: `${links.length} federation link${links.length === 1 ? ' is' : 's are'} not running`,
          detail: links.map((l) => `${qualified(l.vhost, l.target)} ← ${l.upstream}: ${l.status}${l.error ? ` (${l.error})` : ''}`).join('; '),
          action: 'Check the upstream URI, credentials and that the upstream broker is reachable; the link reconnects by itself (reconnect-delay).',
        },
        links.map((l) => qualified(l.vhost, l.target)),
      ),
    )

  if (pair?.mode === 'pair') {
    const gone = pair.members.filter((m) => m.role === 'down').map((m) => m.name)
    if (gone.length > 0)
      out.push(
        warning(
          {
            kind: 'standby-down',
            severity: 'warning',
            title: 'The standby is down: no takeover is possible',
            detail: `Not running: ${list(gone)}. If the active broker fails now, nobody takes over.`,
            action: 'Start the second Warren broker again on the same data directory; it joins as the standby.',
          },
          gone,
        ),
      )
  }

  return out.sort((a, b) => Number(b.severity === 'critical') - Number(a.severity === 'critical'))
}
