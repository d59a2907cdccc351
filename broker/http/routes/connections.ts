import type { AmqpConnection } from '../../amqp/connection'
import { canSeeVhost, isAdministrator, noContent, seesEverything, vhostOf, type ApiRequest } from '../context'
import { notAuthorised, objectNotFound } from '../errors'
import type { Route } from '../router'
import { allConsumers, channelJson, channelName, connectionJson, consumerJson } from '../views'

/** Management users see their own connections; monitoring users and administrators see all (RabbitMQ). */
function visibleConnections(req: ApiRequest): AmqpConnection[] {
  const all = seesEverything(req.user)
  return [...req.deps.connections()].filter((connection) => connection.isOpen && (all || connection.user === req.user.name))
}

function findConnection(req: ApiRequest): AmqpConnection {
  const connection = visibleConnections(req).find((c) => c.name === req.params.connection)
  if (!connection) throw objectNotFound()
  return connection
}

function visibleChannels(req: ApiRequest) {
  return visibleConnections(req).flatMap((connection) => [...connection.channels.values()])
}

async function closeConnection(req: ApiRequest) {
  const connection = findConnection(req)
  if (connection.user !== req.user.name && !isAdministrator(req.user)) throw notAuthorised('Not administrator user')
  // RabbitMQ: connection.close 320 CONNECTION_FORCED, with the reason from the X-Reason header
  await connection.forceClose(reasonOf(req))
  return noContent()
}

function reasonOf(req: ApiRequest): string {
  const header = req.headers['x-reason']
  return (Array.isArray(header) ? header[0] : header) ?? 'Closed via management plugin'
}

/**
 * Warren extension (RabbitMQ's API can only close whole connections): DELETE /api/channels/{name} closes one
 * channel with channel.close 320 CONNECTION_FORCED and the X-Reason text; the rest of the connection stays open.
 * Who may: the same as for DELETE /api/connections/{name} (the connection's own user, or an administrator).
 */
function closeChannel(req: ApiRequest) {
  const channel = visibleChannels(req).find((c) => channelName(c) === req.params.channel)
  if (!channel) throw objectNotFound()
  if (channel.connection.user !== req.user.name && !isAdministrator(req.user)) throw notAuthorised('Not administrator user')
  channel.forceClose(reasonOf(req))
  return noContent()
}

export const connectionRoutes: Route[] = [
  { method: 'GET', path: '/api/connections', access: 'management', list: true, handler: (req) => visibleConnections(req).map((c) => connectionJson(req.deps, c)) },
  { method: 'GET', path: '/api/connections/:connection', access: 'management', handler: (req) => connectionJson(req.deps, findConnection(req)) },
  { method: 'DELETE', path: '/api/connections/:connection', access: 'management', handler: closeConnection },
  {
    method: 'GET',
    path: '/api/connections/:connection/channels',
    access: 'management',
    list: true,
    handler: (req) => [...findConnection(req).channels.values()].map((channel) => channelJson(req.deps, channel)),
  },
  {
    method: 'GET',
    path: '/api/vhosts/:vhost/connections',
    access: 'management',
    list: true,
    handler: (req) => {
      const vhost = vhostOf(req)
      return visibleConnections(req)
        .filter((c) => c.vhost === vhost)
        .map((c) => connectionJson(req.deps, c))
    },
  },
  { method: 'GET', path: '/api/channels', access: 'management', list: true, handler: (req) => visibleChannels(req).map((channel) => channelJson(req.deps, channel)) },
  {
    method: 'GET',
    path: '/api/vhosts/:vhost/channels',
    access: 'management',
    list: true,
    handler: (req) => {
      const vhost = vhostOf(req)
      return visibleChannels(req)
        .filter((channel) => channel.connection.vhost === vhost)
        .map((channel) => channelJson(req.deps, channel))
    },
  },
  {
    method: 'GET',
    path: '/api/channels/:channel',
    access: 'management',
    handler: (req) => {
      const channel = visibleChannels(req).find((c) => channelName(c) === req.params.channel)
      if (!channel) throw objectNotFound()
      return channelJson(req.deps, channel)
    },
  },
  { method: 'DELETE', path: '/api/channels/:channel', access: 'management', handler: closeChannel },
  {
    method: 'GET',
    path: '/api/consumers',
    access: 'management',
    list: true,
    handler: (req) =>
      allConsumers(req.deps)
        .filter((c) => canSeeVhost(req, c.consumer.queue.vhost))
        .map((c) => consumerJson(req.deps, c.channel, c.consumer)),
  },
  {
    method: 'GET',
    path: '/api/consumers/:vhost',
    access: 'management',
    list: true,
    handler: (req) => {
      const vhost = vhostOf(req)
      return allConsumers(req.deps)
        .filter((c) => c.consumer.queue.vhost === vhost.name)
        .map((c) => consumerJson(req.deps, c.channel, c.consumer))
    },
  },
]
