/**
 * The console's topology area: its share of the contract's handlers (see ../context.ts).
 *   topology.live / stats   read the active broker over its management API (live.ts)
 *   topology.check          validation + message-loss flags (check.ts, with the broker's own argument checks)
 *   topology.plan / apply   diff the design against the broker, then run the steps through ctx.writable()
 *   topology.route          the broker's routing code on a sandbox vhost built from the design (sandbox.ts)
 *   topology.import/export  RabbitMQ definitions ⇄ designs (definitions.ts)
 */
import type { TopologyCommands } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'
import { ConsoleError } from '../profiles'
import { applyPlan } from './apply'
import { checkDesign, type BrokerNames } from './check'
import { importText, toDefinitions } from './definitions'
import { normalizeDesign } from './design'
import { liveStats, liveTopology, ManagementClient, type LiveState } from './live'
import { planTopology } from './plan'
import { buildSandbox, routeInSandbox } from './sandbox'

/** Names on the broker are re-read at most this often while the user edits (check runs on every edit). */
const NAMES_TTL_MS = 5000

export function createTopologyArea(ctx: ConsoleContext): ConsoleArea<keyof TopologyCommands> {
  let names: { key: string; at: number; value: BrokerNames } | undefined
  let runs = 0

  const client = (): ManagementClient => new ManagementClient(ctx.activeTarget())
  const vhostOf = (vhost: string | undefined): string => (vhost && vhost !== '' ? vhost : ctx.activeTarget().vhost || '/')

  async function load(vhost: string): Promise<LiveState> {
    return client().load(vhost)
  }

  async function brokerNames(vhost: string): Promise<BrokerNames | undefined> {
    const key = `${ctx.activeTarget().profileId}\u0000${vhost}`
    if (names && names.key === key && Date.now() - names.at < NAMES_TTL_MS) return names.value
    try {
      const state = await load(vhost)
      const value = { exchanges: new Set(state.exchanges.map((x) => x.name)), queues: new Set(state.queues.map((q) => q.name)) }
      names = { key, at: Date.now(), value }
      return value
    } catch (e) {
      ctx.log('warn', `topology check: broker names unavailable: ${e instanceof Error ? e.message : String(e)}`)
      return undefined
    }
  }

  return {
    handlers: {
      'topology.live': async ({ vhost } = {}) => liveTopology(await load(vhostOf(vhost))),
      'topology.stats': async ({ vhost } = {}) => liveStats(await load(vhostOf(vhost))),
      'topology.check': async ({ design, againstBroker }) => {
        const d = normalizeDesign(design, vhostOf(undefined))
        return checkDesign(d, againstBroker ? await brokerNames(d.vhost) : undefined)
      },
      'topology.plan': async ({ design, prune }) => {
        const d = normalizeDesign(design, vhostOf(undefined))
        return planTopology(d, await load(d.vhost), { prune })
      },
      'topology.apply': async ({ plan, acceptLoss, runId }) => {
        if (!plan || !Array.isArray(plan.steps)) throw new ConsoleError('INVALID', 'a plan is required')
        const backend = ctx.writable()
        const losing = plan.steps.filter((s) => s.object === 'queue' && s.kind !== 'create')
        if (losing.length > 0 && !acceptLoss) {
          const lost = losing.reduce((n, s) => n + (s.messagesLost ?? 0), 0)
          throw new ConsoleError('CONFIRMATION_REQUIRED', `the plan deletes or recreates ${losing.length} queue${losing.length === 1 ? '' : 's'} (${lost} message${lost === 1 ? '' : 's'} lost): confirm to apply it`)
        }
        const id = runId ?? `run-${++runs}`
        names = undefined
        const result = await applyPlan(backend, plan, (r) => ctx.emit('topology.applyProgress', { runId: id, total: plan.steps.length, result: r }))
        return result
      },
      'topology.route': ({ design, exchange, routingKey, headers }) => {
        const sandbox = buildSandbox(normalizeDesign(design, vhostOf(undefined)))
        try {
          return routeInSandbox(sandbox, exchange ?? '', routingKey ?? '', headers)
        } finally {
          sandbox.dispose()
        }
      },
      'topology.import': ({ text, vhost }) => {
        if (typeof text !== 'string') throw new ConsoleError('INVALID', 'the file text is required')
        return importText(text, vhost)
      },
      'topology.export': ({ design }) => toDefinitions(normalizeDesign(design, vhostOf(undefined))),
    },
    profileChanged() {
      names = undefined
    },
  }
}
