/**
 * Cluster view: the nodes of a RabbitMQ cluster (or Warren's active/standby pair), where each queue's data lives,
 * shovels and federation links, and warnings a user acts on.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 *
 * Everything is read from the management HTTP API (RabbitMQ's /api/nodes, /api/queues, /api/shovels,
 * /api/federation-links; Warren's extension /api/ha). Node names are Erlang node names ("rabbit@host").
 */
import type { Result } from './index'

export interface ClusterNode {
  name: string
  running: boolean
  /** disc | ram */
  type?: string
  uptimeMs?: number
  /** RabbitMQ's (or Warren's) version on this node, from its applications */
  version?: string
  memUsed?: number
  /** the memory high watermark in bytes (the alarm goes off above it) */
  memLimit?: number
  memAlarm: boolean
  diskFree?: number
  /** the disk alarm goes off below it */
  diskFreeLimit?: number
  diskAlarm: boolean
  fdUsed?: number
  fdTotal?: number
  socketsUsed?: number
  socketsTotal?: number
  procUsed?: number
  procTotal?: number
  processors?: number
  /** nodes this node cannot see (a network partition) */
  partitions: string[]
  /** the node whose management API answered (its Erlang version is the one shown) */
  queried: boolean
}

/** One sample of a node's resources (for the live charts). */
export interface NodeSample {
  t: number
  memUsed: number | null
  diskFree: number | null
  fdUsed: number | null
  socketsUsed: number | null
  procUsed: number | null
}

export type WarningKind =
  | 'node-down'
  | 'partition'
  | 'memory-alarm'
  | 'disk-alarm'
  | 'unsynchronised-mirror'
  | 'quorum-below-majority'
  | 'replica-offline'
  | 'queue-without-leader'
  | 'queue-down'
  | 'shovel-not-running'
  | 'federation-not-running'
  | 'standby-down'
  | 'profile-on-standby'
  | 'profile-member-unreachable'

export interface ClusterWarning {
  kind: WarningKind
  severity: 'critical' | 'warning'
  /** what is wrong, one line */
  title: string
  /** details: which nodes, queues, links; the last error */
  detail: string
  /** what to do about it */
  action: string
  /** the nodes / queues (vhost/name) / shovels it is about (at most 20; `count` says how many in all) */
  subjects: string[]
  count: number
}

/** Where one queue's data lives on one node. */
export type PlacementRole =
  /** classic queue's home (or mirrored queue's master) */
  | 'master'
  /** quorum queue's leader */
  | 'leader'
  /** quorum member, online */
  | 'member'
  /** quorum member that is not online */
  | 'member-offline'
  /** classic mirror, synchronised */
  | 'mirror'
  /** classic mirror, not synchronised yet */
  | 'mirror-unsynced'

/**
 * unsynchronised: a classic mirror has not caught up with its master; replica-offline: a quorum member is not online
 * (majority kept); below-majority: fewer than a majority of members online (the queue stops); no-leader: no online
 * leader; down: the queue's node (classic, not mirrored) is down
 */
export type QueueProblem = 'unsynchronised' | 'replica-offline' | 'below-majority' | 'no-leader' | 'down'

export interface PlacementRow {
  vhost: string
  name: string
  /** classic | quorum | stream */
  type: string
  /** running | down | minority | … as the broker says; undefined when it does not say */
  state?: string
  messages?: number
  policy?: string
  /** node name → role of that node for this queue (nodes not listed hold nothing) */
  cells: Record<string, PlacementRole>
  problems: QueueProblem[]
}

export interface PlacementRequest {
  page: number
  pageSize: number
  /** substring of vhost/name (case-insensitive) */
  filter?: string
  /** only queues with a problem */
  problemsOnly?: boolean
  /** only queues with data on this node */
  node?: string
  /** only this type */
  type?: string
}

export interface PlacementPage {
  /** the columns of the matrix, every cluster node in order */
  nodes: string[]
  rows: PlacementRow[]
  page: number
  pageSize: number
  filteredCount: number
  totalCount: number
  at: number
}

export interface PlacementSummary {
  queues: number
  /** queues per node: how many it leads/hosts, how many replicas it holds */
  perNode: Record<string, { leads: number; replicas: number }>
  unsynchronised: number
  replicaOffline: number
  belowMajority: number
  withoutLeader: number
  down: number
}

export interface ShovelStatus {
  name: string
  vhost: string
  /** dynamic | static */
  type: string
  /** starting | running | terminated | … */
  state: string
  node?: string
  /** why it is not running, as the broker says */
  reason?: string
  srcUri?: string
  /** queue or exchange (+ key) it reads */
  source?: string
  destUri?: string
  destination?: string
  /** ms since the epoch, when known */
  since?: number
}

export interface FederationLinkStatus {
  upstream: string
  vhost: string
  /** exchange | queue */
  type: string
  /** the local exchange or queue */
  target: string
  /** starting | running | shutdown | error | … */
  status: string
  node?: string
  uri?: string
  error?: string
  since?: number
}

/** Warren's active/standby pair (GET /api/ha, a Warren extension). */
export interface WarrenPairMember {
  name: string
  role: 'active' | 'standby' | 'down'
  amqp?: string
  http?: string
  pid?: number
  hostname?: string
  startedAt?: number
  lastSeenAt?: number
  activeSince?: number
}

export interface WarrenTakeover {
  at: number
  node: string
  previous?: string
  reason?: string
  tookMs?: number
}

export interface WarrenPair {
  mode: 'single' | 'pair'
  /** the node that answered */
  node: string
  role: 'active' | 'standby'
  members: WarrenPairMember[]
  takeovers: WarrenTakeover[]
}

export interface ClusterState {
  /** RabbitMQ | Warren */
  kind: 'rabbitmq' | 'warren'
  product: string
  version?: string
  erlangVersion?: string
  clusterName?: string
  /** the node whose management API answered */
  queriedNode?: string
  nodes: ClusterNode[]
  /** Warren only: the pair; undefined when the broker does not have /api/ha */
  pair?: WarrenPair
  placement: PlacementSummary
  /** undefined: the broker has no shovel API (RabbitMQ without rabbitmq_shovel_management, Warren before shovels) */
  shovels?: ShovelStatus[]
  /** undefined: the broker has no federation API */
  federationLinks?: FederationLinkStatus[]
  /** optional parts that failed to load (not 404: that means not available), with the error */
  unavailable: { shovels?: string; federationLinks?: string; pair?: string }
  warnings: ClusterWarning[]
  /** each node's recent samples (oldest first), for the live charts; kept in the console's memory (30 min) */
  history: Record<string, NodeSample[]>
  at: number
}

/** A dynamic shovel, shaped like RabbitMQ's shovel parameter (amqp091). */
export interface ShovelSpec {
  vhost: string
  name: string
  srcUri: string
  srcQueue?: string
  srcExchange?: string
  srcExchangeKey?: string
  destUri: string
  destQueue?: string
  destExchange?: string
  destExchangeKey?: string
  /** on-confirm (default) | on-publish | no-ack */
  ackMode?: 'on-confirm' | 'on-publish' | 'no-ack'
  prefetchCount?: number
  /** never (default) | queue-length | a number of messages */
  deleteAfter?: 'never' | 'queue-length' | number
}

export interface ClusterCommands {
  /** nodes, pair, warnings, shovels, federation links, placement summary and the nodes' recent samples */
  'cluster.state': (req: void) => Promise<Result<ClusterState>>
  /** one page of the queues × nodes matrix */
  'cluster.placement': (req: PlacementRequest) => Promise<Result<PlacementPage>>
  /** PUT /api/parameters/shovel/{vhost}/{name} */
  'cluster.shovels.create': (req: ShovelSpec) => Promise<Result<void>>
  /** DELETE /api/parameters/shovel/{vhost}/{name} */
  'cluster.shovels.delete': (req: { vhost: string; name: string }) => Promise<Result<void>>
  /** DELETE /api/shovels/vhost/{vhost}/{name}/restart */
  'cluster.shovels.restart': (req: { vhost: string; name: string }) => Promise<Result<void>>
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ClusterEvents {}

export const CLUSTER_COMMANDS: { readonly [K in keyof ClusterCommands]: true } = {
  'cluster.state': true,
  'cluster.placement': true,
  'cluster.shovels.create': true,
  'cluster.shovels.delete': true,
  'cluster.shovels.restart': true,
}
export const CLUSTER_EVENTS: { readonly [E in keyof ClusterEvents]: true } = {}
