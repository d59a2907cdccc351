import { cpus } from 'node:os'
import { isKnownExchangeType } from '../../core/delayed'
import { canSeeVhost, seesEverything, type ApiRequest } from '../context'
import { objectNotFound } from '../errors'
import type { Route } from '../router'
import { aggregateKeys, brokerTotals, keyFor, messageStatsJson, vhostDepth } from '../stats-view'
import { allConsumers } from '../views'

/** The version of RabbitMQ whose management API this one follows. */
export const RABBITMQ_VERSION = '3.10.8'
export const PRODUCT_VERSION = '0.1.0'

const EXCHANGE_TYPES = ['direct', 'fanout', 'headers', 'topic', 'x-delayed-message']
  // x-delayed-message has no routing table of its own (it routes as its x-delayed-type) but is a declarable type
  .filter((type) => isKnownExchangeType(type))
  .map((name) => ({ name, description: name === 'x-delayed-message' ? 'Delayed message exchange' : `AMQP ${name} exchange, as per the AMQP specification`, enabled: true }))

function overview(req: ApiRequest) {
  const { deps } = req
  const vhosts = [...deps.core.vhosts.values()].filter((vhost) => canSeeVhost(req, vhost.name))
  const all = seesEverything(req.user)
  const depth = [0, 0, 0]
  let queues = 0
  let exchanges = 0
  for (const vhost of vhosts) {
    vhostDepth(vhost).forEach((value, i) => (depth[i] += value))
    queues += vhost.queues.size
    exchanges += vhost.exchanges.size + 1
  }
  const key = all ? keyFor(aggregateKeys.brokerDepth, deps.core) : {}
  const connections = [...deps.connections()].filter((connection) => all || connection.user === req.user.name)
  const names = ['messages', 'messages_ready', 'messages_unacknowledged']
  const queueTotals: Record<string, unknown> = {}
  names.forEach((name, i) => {
    queueTotals[name] = depth[i]
    queueTotals[`${name}_details`] = { rate: deps.sampler.rate(key, i) }
  })
  return {
    management_version: RABBITMQ_VERSION,
    rates_mode: 'basic',
    sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
    exchange_types: EXCHANGE_TYPES,
    product_version: PRODUCT_VERSION,
    product_name: 'Warren',
    rabbitmq_version: RABBITMQ_VERSION,
    cluster_name: deps.node,
    disable_stats: false,
    enable_queue_totals: false,
    message_stats: messageStatsJson('vhost', brokerTotals(deps.core, vhosts), deps.sampler, all ? keyFor(aggregateKeys.brokerTotals, deps.core) : {}) ?? {},
    queue_totals: queueTotals,
    object_totals: {
      channels: connections.reduce((sum, connection) => sum + connection.channels.size, 0),
      connections: connections.length,
      consumers: allConsumers(deps).filter((c) => vhosts.some((vhost) => vhost.queues.get(c.consumer.queue.name) === c.consumer.queue)).length,
      exchanges,
      queues,
    },
    statistics_db_event_queue: 0,
    node: deps.node,
    listeners: deps.listeners.map((listener) => ({ node: deps.node, ...listener, socket_opts: {} })),
    contexts: deps.listeners.filter((l) => l.protocol === 'http' || l.protocol === 'https').map((l) => ({ node: deps.node, description: 'Warren management API', path: '/', port: String(l.port) })),
  }
}

function nodeJson(req: ApiRequest) {
  const { deps } = req
  const memory = deps.core.memory
  return {
    name: deps.node,
    type: 'disc',
    running: true,
    being_drained: false,
    os_pid: String(process.pid),
    mem_used: process.memoryUsage().rss,
    mem_calculation_strategy: 'rss',
    /** Warren's watermark counts message bodies, not the whole process */
    mem_limit: memory.highWatermark,
    message_bytes_held: memory.used,
    mem_alarm: memory.memoryAlarmRaised,
    disk_free_alarm: memory.diskAlarmRaised,
    disk_free_limit: 50_000_000,
    fd_used: 0,
    fd_total: 1024,
    sockets_used: [...deps.connections()].length,
    proc_used: 0,
    proc_total: 1_048_576,
    processors: cpus().length,
    run_queue: 0,
    uptime: Date.now() - deps.startedAt,
    rates_mode: 'basic',
    partitions: [],
    exchange_types: EXCHANGE_TYPES,
    auth_mechanisms: [
      { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
      { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
    ],
    applications: [{ name: 'warren', description: 'Warren embedded broker', version: PRODUCT_VERSION }],
    contexts: [],
    log_files: [],
    enabled_plugins: ['rabbitmq_management'],
  }
}

export const overviewRoutes: Route[] = [
  { method: 'GET', path: '/api/overview', access: 'management', handler: overview },
  { method: 'GET', path: '/api/whoami', access: 'management', handler: (req) => ({ name: req.user.name, tags: req.user.tags }) },
  { method: 'GET', path: '/api/nodes', access: 'monitoring', list: true, handler: (req) => [nodeJson(req)] },
  {
    method: 'GET',
    path: '/api/nodes/:name',
    access: 'monitoring',
    handler: (req) => {
      if (req.params.name !== req.deps.node) throw objectNotFound()
      return nodeJson(req)
    },
  },
  // the web UI asks for its plugins' extensions; there are none
  { method: 'GET', path: '/api/extensions', access: 'management', handler: () => [] },
  { method: 'GET', path: '/api/cluster-name', access: 'management', handler: (req) => ({ name: req.deps.node }) },
]

