import { canSeeVhost, noContent, vhostOf } from '../context'
import { objectNotFound } from '../errors'
import type { Route } from '../router'

/**
 * The shovel_management plugin's API: the status of dynamic shovels in RabbitMQ's shape (plus Warren's
 * messages_transferred, last_error, last_error_at) and the restart of one shovel (RabbitMQ 3.10's path). Like
 * rabbit_shovel_mgmt, every route needs the monitoring (or administrator) tag: "Not monitor user" otherwise.
 */
export const shovelRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/shovels',
    access: 'monitoring',
    list: true,
    handler: (req) => req.deps.core.shovels.status().filter((s) => canSeeVhost(req, s.vhost)),
  },
  {
    method: 'GET',
    path: '/api/shovels/:vhost',
    access: 'monitoring',
    list: true,
    handler: (req) => req.deps.core.shovels.status(vhostOf(req).name),
  },
  {
    method: 'DELETE',
    path: '/api/shovels/vhost/:vhost/:name/restart',
    access: 'monitoring',
    handler: async (req) => {
      if (!(await req.deps.core.shovels.restart(vhostOf(req).name, req.params.name))) throw objectNotFound()
      return noContent()
    },
  },
]
