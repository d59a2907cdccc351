import type { Route } from '../router'
import { bindingRoutes } from './bindings'
import { connectionRoutes } from './connections'
import { definitionRoutes } from './definitions'
import { exchangeRoutes } from './exchanges'
import { messageRoutes } from './messages'
import { overviewRoutes } from './overview'
import { policyRoutes } from './policies'
import { parameterRoutes } from './parameters'
import { shovelRoutes } from './shovels'
import { queueRoutes } from './queues'
import { scheduledRoutes } from './scheduled'
import { userRoutes } from './users'
import { vhostRoutes } from './vhosts'
import { healthRoutes } from './health'
import { haRoutes } from './ha'

/** Every route of the management API; docs/http-api.md describes them. */
export const allRoutes: Route[] = [
  ...overviewRoutes,
  ...vhostRoutes,
  ...userRoutes,
  ...connectionRoutes,
  ...exchangeRoutes,
  ...queueRoutes,
  ...bindingRoutes,
  ...messageRoutes,
  ...policyRoutes,
  ...parameterRoutes,
  ...shovelRoutes,
  ...definitionRoutes,
  ...scheduledRoutes,
  ...healthRoutes,
  ...haRoutes,
]
