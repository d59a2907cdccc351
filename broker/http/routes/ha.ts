import { haSourceOf, singleStatus } from '../../ha/status'
import type { Route } from '../router'

/** GET /api/ha (Warren extension): the active/standby pair this broker belongs to, or itself alone. See broker/ha/. */
export const haRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/ha',
    access: 'management',
    handler: (req) => haSourceOf(req.deps.core)?.status() ?? singleStatus(req.deps),
  },
]
