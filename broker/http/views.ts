/** The JSON objects of the management API, with RabbitMQ's field names. */
import { createHash } from 'node:crypto'
import { TLSSocket } from 'node:tls'
import type { AmqpChannel } from '../amqp/channel'
import type { AmqpConnection } from '../amqp/connection'
import { canonicalTableKey } from '../core/arguments'
import { destinationName, type Binding } from '../core/binding'
import type { Exchange } from '../core/exchange'
import type { Queue } from '../core/queue'
import type { Vhost } from '../core/vhost'
import type { UserRecord } from '../store/store'
import type { ApiDeps } from './context'
import { jsonTable } from './json'
import { aggregateKeys, depthJson, depthValues, keyFor, messageStatsJson, vhostDepth, vhostTotals } from './stats-view'

const withStats = (object: Record<string, unknown>, stats: Record<string, unknown> | undefined) => (stats ? { ...object, message_stats: stats } : object)

// --- queues -------------------------------------------------------------------------------------------------------

export function queueJson(deps: ApiDeps, queue: Queue, detail = false): Record<string, unknown> {
  // counted by the queue, paged-out messages included (readyEntries() holds only those in memory)
  const readyBytes = queue.messageBytes
  const persistent = queue.persistentCount
  const consumers = consumersOf(deps, queue)
  const exclusiveConsumer = consumers.find((c) => c.consumer.exclusive)
  const json: Record<string, unknown> = {
    arguments: jsonTable(queue.arguments),
    auto_delete: queue.autoDelete,
    consumer_capacity: consumers.length > 0 ? 1 : 0,
    consumer_utilisation: consumers.length > 0 ? 1 : 0,
    consumers: queue.consumerCount,
    durable: queue.durable,
    effective_policy_definition: {},
    exclusive: queue.exclusive,
    exclusive_consumer_tag: exclusiveConsumer ? exclusiveConsumer.consumer.tag : null,
    head_message_timestamp: null,
    message_bytes: readyBytes,
    message_bytes_persistent: 0,
    message_bytes_ram: readyBytes,
    message_bytes_ready: readyBytes,
    message_bytes_unacknowledged: 0,
    ...depthJson(depthValues(queue), deps.sampler, queue),
    messages_persistent: persistent,
    messages_ram: queue.messageCount + queue.unackedCount,
    messages_ready_ram: queue.messageCount,
    messages_unacknowledged_ram: queue.unackedCount,
    name: queue.name,
    node: deps.node,
    operator_policy: null,
    policy: null,
    single_active_consumer_tag: null,
    state: 'running',
    type: 'classic',
    vhost: queue.vhost,
  }
  const stats = messageStatsJson('queue', queue.stats, deps.sampler)
  if (!detail) return withStats(json, stats)
  return withStats({ ...json, consumer_details: consumers.map((c) => consumerJson(deps, c.channel, c.consumer)), deliveries: [], incoming: [] }, stats)
}

// --- exchanges ----------------------------------------------------------------------------------------------------

export function exchangeJson(deps: ApiDeps, exchange: Exchange, detail = false): Record<string, unknown> {
  const json: Record<string, unknown> = {
    arguments: jsonTable(exchange.arguments),
    auto_delete: exchange.autoDelete,
    durable: exchange.durable,
    internal: exchange.internal,
    name: exchange.name,
    type: exchange.type,
    user_who_performed_action: exchange.name.startsWith('amq.') ? 'rmq-internal' : '',
    vhost: exchange.vhost,
  }
  const stats = messageStatsJson('exchange', exchange.stats, deps.sampler)
  return withStats(detail ? { ...json, incoming: [], outgoing: [] } : json, stats)
}

/** The default exchange, which the core does not keep as an object (its name is '' and it routes by queue name). */
export function defaultExchangeJson(deps: ApiDeps, vhost: Vhost, detail = false): Record<string, unknown> {
  const json = { arguments: {}, auto_delete: false, durable: true, internal: false, name: '', type: 'direct', user_who_performed_action: 'rmq-internal', vhost: vhost.name }
  const stats = messageStatsJson('exchange', vhost.defaultExchangeStats, deps.sampler)
  return withStats(detail ? { ...json, incoming: [], outgoing: [] } : json, stats)
}

// --- bindings -----------------------------------------------------------------------------------------------------

/**
 * The "properties key" that names a binding in URLs: the routing key (with % and ~ escaped), plus "~" and a short
 * hash of the arguments when there are any. Opaque to clients, as in RabbitMQ.
 */
export function propertiesKey(routingKey: string, args: Binding['arguments']): string {
  const escaped = routingKey.replace(/%/g, '%25').replace(/~/g, '%7E')
  if (Object.keys(args).length === 0) return escaped
  const hash = createHash('sha1').update(canonicalTableKey(args)).digest('base64url').slice(0, 6)
  return `${escaped}~${hash}`
}

export function bindingJson(binding: Binding, vhost: string): Record<string, unknown> {
  return {
    source: binding.source.name,
    vhost,
    destination: destinationName(binding.destination),
    destination_type: binding.destination.kind,
    routing_key: binding.routingKey,
    arguments: jsonTable(binding.arguments),
    properties_key: propertiesKey(binding.routingKey, binding.arguments),
  }
}

/** Every queue is bound to the default exchange by its name (RabbitMQ lists that binding too). */
export function defaultBindingJson(queue: Queue): Record<string, unknown> {
  return { source: '', vhost: queue.vhost, destination: queue.name, destination_type: 'queue', routing_key: queue.name, arguments: {}, properties_key: propertiesKey(queue.name, {}) }
}

export function vhostBindings(vhost: Vhost): Binding[] {
  const bindings: Binding[] = []
  for (const exchange of vhost.exchanges.values()) bindings.push(...exchange.bindings.values())
  return bindings
}

// --- connections, channels, consumers -----------------------------------------------------------------------------

function peer(connection: AmqpConnection) {
  return { host: connection.socket.localAddress ?? '', port: connection.socket.localPort ?? 0, peerHost: connection.socket.remoteAddress ?? '', peerPort: connection.socket.remotePort ?? 0 }
}

/** sampled values of a connection: bytes received, bytes sent */
export const connectionValues = (connection: AmqpConnection) => [connection.socket.bytesRead, connection.socket.bytesWritten]

export function connectionJson(deps: ApiDeps, connection: AmqpConnection): Record<string, unknown> {
  const { host, port, peerHost, peerPort } = peer(connection)
  const [recv, send] = connectionValues(connection)
  return {
    auth_mechanism: connection.authMechanism,
    channel_max: connection.channelMax,
    channels: connection.channels.size,
    client_properties: jsonTable(connection.clientProperties),
    connected_at: connection.connectedAt,
    frame_max: connection.frameMax,
    host: stripV4Prefix(host),
    name: connection.name,
    node: deps.node,
    peer_host: stripV4Prefix(peerHost),
    peer_port: peerPort,
    port,
    protocol: 'AMQP 0-9-1',
    recv_oct: recv,
    recv_oct_details: { rate: deps.sampler.rate(connection, 0) },
    send_oct: send,
    send_oct_details: { rate: deps.sampler.rate(connection, 1) },
    send_pend: connection.socket.writableLength,
    ...tlsFields(connection),
    state: connection.isOpen ? 'running' : 'closing',
    timeout: connection.heartbeat,
    type: 'network',
    user: connection.user,
    user_who_performed_action: connection.user,
    vhost: connection.vhost?.name ?? '',
  }
}

const stripV4Prefix = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address)

export const channelName = (channel: AmqpChannel) => `${channel.connection.name} (${channel.id})`

export function channelJson(deps: ApiDeps, channel: AmqpChannel): Record<string, unknown> {
  const connection = channel.connection
  const info = channel.managementInfo()
  const { peerHost, peerPort } = peer(connection)
  return withStats(
    {
      acks_uncommitted: info.uncommittedAcks,
      confirm: info.confirm,
      connection_details: { name: connection.name, peer_host: stripV4Prefix(peerHost), peer_port: peerPort },
      consumer_count: info.consumers.length,
      global_prefetch_count: info.globalPrefetchCount,
      messages_unacknowledged: info.unacknowledged,
      messages_uncommitted: info.uncommittedMessages,
      messages_unconfirmed: info.unconfirmed,
      name: channelName(channel),
      node: deps.node,
      number: channel.id,
      pending_raft_commands: 0,
      prefetch_count: info.prefetchCount,
      state: info.flowActive ? 'running' : 'flow',
      transactional: info.transactional,
      user: connection.user,
      user_who_performed_action: connection.user,
      vhost: connection.vhost?.name ?? '',
    },
    messageStatsJson('channel', channel.stats, deps.sampler),
  )
}

type ConsumerInfo = ReturnType<AmqpChannel['managementInfo']>['consumers'][number]

export function consumerJson(deps: ApiDeps, channel: AmqpChannel, consumer: ConsumerInfo): Record<string, unknown> {
  const { peerHost, peerPort } = peer(channel.connection)
  return {
    arguments: {},
    ack_required: !consumer.noAck,
    active: true,
    activity_status: 'up',
    channel_details: {
      connection_name: channel.connection.name,
      name: channelName(channel),
      node: deps.node,
      number: channel.id,
      peer_host: stripV4Prefix(peerHost),
      peer_port: peerPort,
      user: channel.connection.user,
    },
    consumer_tag: consumer.tag,
    exclusive: consumer.exclusive,
    prefetch_count: consumer.prefetch,
    queue: { name: consumer.queue.name, vhost: consumer.queue.vhost },
  }
}

export function allChannels(deps: ApiDeps): AmqpChannel[] {
  const channels: AmqpChannel[] = []
  for (const connection of deps.connections()) channels.push(...connection.channels.values())
  return channels
}

export function allConsumers(deps: ApiDeps): { channel: AmqpChannel; consumer: ConsumerInfo }[] {
  const found: { channel: AmqpChannel; consumer: ConsumerInfo }[] = []
  for (const channel of allChannels(deps)) for (const consumer of channel.managementInfo().consumers) found.push({ channel, consumer })
  return found
}

function consumersOf(deps: ApiDeps, queue: Queue) {
  if (queue.consumerCount === 0) return []
  return allConsumers(deps).filter((c) => c.consumer.queue === queue)
}

// --- vhosts, users, permissions -----------------------------------------------------------------------------------

export function vhostJson(deps: ApiDeps, vhost: Vhost): Record<string, unknown> {
  const meta = deps.vhostMeta.get(vhost.name) ?? { description: '', tags: [] }
  const [recv, send] = vhostOctets(deps, vhost)
  const octetsKey = keyFor(aggregateKeys.vhostOctets, vhost)
  // live connections only: a closing connection takes its bytes away, which is not a negative rate
  const octetRate = (index: number) => Math.max(0, deps.sampler.rate(octetsKey, index))
  const depthKey = keyFor(aggregateKeys.vhostDepth, vhost)
  const json: Record<string, unknown> = {
    cluster_state: { [deps.node]: 'running' },
    default_queue_type: meta.defaultQueueType ?? 'undefined',
    description: meta.description,
    metadata: { description: meta.description, tags: meta.tags },
    name: vhost.name,
    tags: meta.tags,
    tracing: false,
    ...depthJson(vhostDepth(vhost), deps.sampler, depthKey),
    recv_oct: recv,
    recv_oct_details: { rate: octetRate(0) },
    send_oct: send,
    send_oct_details: { rate: octetRate(1) },
  }
  return withStats(json, messageStatsJson('vhost', vhostTotals(vhost), deps.sampler, keyFor(aggregateKeys.vhostTotals, vhost)))
}

/** bytes received from and sent to the vhost's live connections */
export function vhostOctets(deps: Pick<ApiDeps, 'connections'>, vhost: Vhost): number[] {
  let recv = 0
  let send = 0
  for (const connection of deps.connections()) {
    if (connection.vhost !== vhost) continue
    recv += connection.socket.bytesRead
    send += connection.socket.bytesWritten
  }
  return [recv, send]
}

export function userJson(user: UserRecord): Record<string, unknown> {
  return { name: user.name, password_hash: user.passwordHash, hashing_algorithm: user.hashingAlgorithm, tags: user.tags, limits: {} }
}

/** RabbitMQ's ssl_* and peer_cert_* fields: what an amqps connection negotiated, and the client's certificate if any. */
function tlsFields(connection: AmqpConnection) {
  const socket = connection.socket
  if (!(socket instanceof TLSSocket)) {
    return { ssl: false, ssl_cipher: null, ssl_hash: null, ssl_key_exchange: null, ssl_protocol: null, peer_cert_issuer: null, peer_cert_subject: null, peer_cert_validity: null }
  }
  const cipher = socket.getCipher()
  const cert = socket.getPeerCertificate()
  const dn = (name: Record<string, unknown> | undefined) => (name ? Object.entries(name).map(([k, v]) => `${k}=${String(v)}`).join(',') : null)
  const hasCert = cert && Object.keys(cert).length > 0
  return {
    ssl: true,
    ssl_cipher: cipher?.standardName ?? cipher?.name ?? null,
    ssl_hash: null,
    ssl_key_exchange: null,
    ssl_protocol: socket.getProtocol()?.toLowerCase() ?? null,
    peer_cert_issuer: hasCert ? dn(cert.issuer as unknown as Record<string, unknown>) : null,
    peer_cert_subject: hasCert ? dn(cert.subject as unknown as Record<string, unknown>) : null,
    peer_cert_validity: hasCert ? `${cert.valid_from} - ${cert.valid_to}` : null,
  }
}
