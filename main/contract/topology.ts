/**
 * Topology designer: live topology, plan and apply a design, definitions import/export, route testing.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 *
 * A design is plain JSON, shaped like one vhost of RabbitMQ's definitions (exchanges, queues, bindings), plus the
 * canvas positions of its nodes. Node ids are `exchange:<name>` and `queue:<name>`; a binding is identified by its
 * index in `bindings` (issues and route results refer to it that way).
 */
import type { ArgTable, Result, WarrenError } from './index'

export interface DesignExchange {
  name: string
  /** direct | fanout | topic | headers | x-delayed-message */
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  /** alternate-exchange, x-delayed-type, … */
  arguments: ArgTable
}

export interface DesignQueue {
  name: string
  durable: boolean
  autoDelete: boolean
  /** x-message-ttl, x-dead-letter-exchange, x-max-length, x-overflow, x-max-priority, x-queue-type, … */
  arguments: ArgTable
}

export interface DesignBinding {
  /** an exchange (never the default exchange '') */
  source: string
  destination: string
  destinationType: 'queue' | 'exchange'
  routingKey: string
  arguments: ArgTable
}

export interface NodePosition {
  x: number
  y: number
}

export interface TopologyDesign {
  format: 'warren-topology'
  version: 1
  /** the vhost it is planned and applied in */
  vhost: string
  exchanges: DesignExchange[]
  queues: DesignQueue[]
  bindings: DesignBinding[]
  /** node id (`exchange:<name>`, `queue:<name>`) → canvas position */
  layout?: Record<string, NodePosition>
}

/** Depths and rates of one node of the live topology. */
export interface NodeStats {
  messages?: number
  messagesReady?: number
  messagesUnacked?: number
  consumers?: number
  /** queues: publishes into / deliveries out of, per second */
  publishRate?: number
  deliverRate?: number
  /** exchanges: messages in / out, per second */
  publishInRate?: number
  publishOutRate?: number
}

export interface LiveTopology {
  design: TopologyDesign
  /** node id → stats */
  stats: Record<string, NodeStats>
  /** ms since the epoch */
  at: number
  /** e.g. "RabbitMQ 3.10.8", "Warren 0.1.0" */
  product: string
}

export interface LiveStats {
  stats: Record<string, NodeStats>
  at: number
}

/** What an issue is about: a node (by kind and name), a binding (by index in the design), or the whole design. */
export interface IssueTarget {
  kind: 'exchange' | 'queue' | 'binding' | 'design'
  name?: string
  bindingIndex?: number
}

export interface DesignIssue {
  target: IssueTarget
  severity: 'error' | 'warning'
  /** 'validation': the broker would refuse it or it is wrong; 'loss': messages can silently disappear */
  category: 'validation' | 'loss'
  /** stable: RESERVED_NAME, DEFAULT_EXCHANGE, BAD_ARGUMENT, MISSING_DLX, MISSING_AE, UNREACHABLE, DLX_LOOP, DLX_NOWHERE, NO_DLX, … */
  code: string
  message: string
}

export type PlanStepKind = 'create' | 'delete' | 'recreate'

export interface PlanStep {
  /** 0-based position in the plan */
  index: number
  kind: PlanStepKind
  object: 'exchange' | 'queue' | 'binding'
  /** the object's name; for a binding "source → destination (key)" */
  name: string
  /** for humans: "create queue orders (durable, x-message-ttl=60000)" */
  description: string
  /** why a recreate: what differs */
  reason?: string
  /** ready + unacked messages that go with a deleted or recreated queue */
  messagesLost: number
  exchange?: DesignExchange
  queue?: DesignQueue
  /** for a binding delete, the broker's properties key */
  binding?: DesignBinding & { propertiesKey?: string }
}

export interface TopologyPlan {
  vhost: string
  steps: PlanStep[]
  /** messages lost by the whole plan */
  messagesLost: number
  counts: { create: number; delete: number; recreate: number }
  /** objects already as designed */
  unchanged: number
  /** a step deletes or recreates a queue (its messages go with it): apply needs acceptLoss */
  confirmationRequired: boolean
  /** the product the plan was made against */
  product: string
}

export interface PlanRequest {
  design: TopologyDesign
  /** delete exchanges, queues and bindings the broker has but the design does not (default true); amq.* exchanges and exclusive queues are never touched */
  prune?: boolean
}

export interface ApplyRequest {
  plan: TopologyPlan
  /** required when the plan loses messages */
  acceptLoss?: boolean
  /** echoed in topology.applyProgress events */
  runId?: string
}

export interface StepResult {
  index: number
  status: 'done' | 'failed' | 'skipped'
  error?: WarrenError
  ms: number
}

export interface ApplyResult {
  /** every step done */
  completed: boolean
  results: StepResult[]
  /** the step that failed, and why; the steps after it were not run */
  failed?: { index: number; description: string; error: WarrenError }
}

export interface ApplyProgress {
  runId: string
  total: number
  result: StepResult
}

export interface RouteRequest {
  design: TopologyDesign
  /** '' = the default exchange */
  exchange: string
  routingKey: string
  headers?: ArgTable
}

export interface RouteResult {
  /** queues that receive the message, sorted */
  queues: string[]
  /** exchanges the message passed through, in the order the broker visited them */
  exchanges: string[]
  /** indices (in design.bindings) of the bindings it followed */
  bindings: number[]
  /** alternate-exchange hops taken: from the exchange that could not route, to its alternate */
  alternates: { from: string; to: string }[]
  routed: boolean
  /** parts of the design the broker would refuse, left out of the simulation */
  warnings: string[]
}

/** RabbitMQ's definitions format (GET /api/definitions, rabbitmqctl export_definitions); fields beyond topology are kept as they are. */
export interface RabbitDefinitions {
  rabbit_version?: string
  rabbitmq_version?: string
  product_name?: string
  product_version?: string
  vhosts?: { name: string }[]
  queues: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: ArgTable; type?: string }[]
  exchanges: { name: string; vhost: string; type: string; durable: boolean; auto_delete: boolean; internal: boolean; arguments: ArgTable }[]
  bindings: { source: string; vhost: string; destination: string; destination_type: 'queue' | 'exchange'; routing_key: string; arguments: ArgTable }[]
  [extra: string]: unknown
}

export interface TopologyCommands {
  /** the active broker's exchanges, queues and bindings in one vhost (default: the profile's), with message counts */
  'topology.live': (req: { vhost?: string }) => Promise<Result<LiveTopology>>
  /** only the depths and rates (live mode polls this) */
  'topology.stats': (req: { vhost?: string }) => Promise<Result<LiveStats>>
  /** validation (the broker's own argument checks, names, references, reachability) and message-loss flags */
  'topology.check': (req: { design: TopologyDesign; againstBroker?: boolean }) => Promise<Result<DesignIssue[]>>
  /** the steps that turn the broker's topology into the design */
  'topology.plan': (req: PlanRequest) => Promise<Result<TopologyPlan>>
  /** runs a plan in order; stops at the first failure */
  'topology.apply': (req: ApplyRequest) => Promise<Result<ApplyResult>>
  /** where a message would go, computed by the broker's own routing code */
  'topology.route': (req: RouteRequest) => Promise<Result<RouteResult>>
  /** a RabbitMQ definitions file or a Warren design file → a design (one vhost: the asked one, else the only or first one) */
  'topology.import': (req: { text: string; vhost?: string }) => Promise<Result<TopologyDesign>>
  /** a design → RabbitMQ definitions (importable by rabbitmqctl import_definitions and POST /api/definitions) */
  'topology.export': (req: { design: TopologyDesign }) => Promise<Result<RabbitDefinitions>>
}

export interface TopologyEvents {
  /** one step of a running topology.apply finished */
  'topology.applyProgress': ApplyProgress
}

export const TOPOLOGY_COMMANDS: { readonly [K in keyof TopologyCommands]: true } = {
  'topology.live': true,
  'topology.stats': true,
  'topology.check': true,
  'topology.plan': true,
  'topology.apply': true,
  'topology.route': true,
  'topology.import': true,
  'topology.export': true,
}
export const TOPOLOGY_EVENTS: { readonly [E in keyof TopologyEvents]: true } = { 'topology.applyProgress': true }
