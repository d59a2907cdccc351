/**
 * Finding dead-letter queues, and routing as the broker would (for dry runs).
 *
 * A queue's dead-letter exchange comes from its `x-dead-letter-exchange` argument or else from the highest-priority
 * policy matching it (`dead-letter-exchange`; RabbitMQ reports it as `effective_policy_definition`, the embedded
 * broker may not, so policies are matched here too). The queues that exchange routes to (following
 * exchange-to-exchange bindings) are dead-letter queues. Queues whose messages carry `x-death` are found by reading
 * a few messages of every other queue (a peek on Warren; get + requeue on RabbitMQ, only when asked), and queues
 * named like dead-letter queues are looked at as well.
 */
import type { ArgTable } from '../../contract'
import { ManagementHttp } from '../management-backend'
import { bindingMatches, routingType } from '../routing'

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : [])
const enc = encodeURIComponent

/** A list endpoint of the management API; 404/501 (not implemented there) read as empty. */
async function listOrEmpty(http: ManagementHttp, path: string): Promise<Json[]> {
  try {
    return arr(await http.get(path))
  } catch (e) {
    const code = (e as { replyCode?: number }).replyCode
    if (code === 404 || code === 501) return []
    throw e
  }
}

export interface QueueFacts {
  name: string
  messages: number
  arguments: ArgTable
  /** effective dead-letter exchange (argument, else policy), undefined = none */
  dlx?: string
  dlRoutingKey?: string
}

export interface BindingFacts {
  source: string
  destination: string
  destinationType: 'queue' | 'exchange'
  routingKey: string
  arguments: ArgTable
}

export interface Topology {
  vhost: string
  queues: Map<string, QueueFacts>
  exchanges: Map<string, { type: string; arguments: ArgTable }>
  bindings: BindingFacts[]
}

export interface PolicyFacts {
  name: string
  pattern: string
  applyTo: string
  priority: number
  definition: Json
}

/** The highest-priority policy matching a queue (RabbitMQ: ties broken by name, as it sorts them). */
export function matchPolicy(policies: PolicyFacts[], queue: string): PolicyFacts | undefined {
  let best: PolicyFacts | undefined
  for (const p of policies) {
    if (p.applyTo !== 'queues' && p.applyTo !== 'all') continue
    let re: RegExp
    try {
      re = new RegExp(p.pattern)
    } catch {
      continue
    }
    if (!re.test(queue)) continue
    if (!best || p.priority > best.priority || (p.priority === best.priority && p.name > best.name)) best = p
  }
  return best
}

/** The queue's dead-letter exchange and routing key: its arguments win over a policy, as in the broker. */
export function effectiveDeadLetter(args: ArgTable, policyDefinition: Json | undefined): { dlx?: string; dlRoutingKey?: string } {
  const a = args['x-dead-letter-exchange']
  const dlx = typeof a === 'string' ? a : typeof policyDefinition?.['dead-letter-exchange'] === 'string' ? (policyDefinition['dead-letter-exchange'] as string) : undefined
  if (dlx === undefined) return {}
  const k = args['x-dead-letter-routing-key']
  const pk = policyDefinition?.['dead-letter-routing-key']
  const dlRoutingKey = typeof k === 'string' ? k : typeof pk === 'string' ? pk : undefined
  return { dlx, dlRoutingKey }
}

export async function loadTopology(http: ManagementHttp, vhost: string): Promise<Topology> {
  const v = enc(vhost)
  const [queues, policies, bindings, exchanges] = await Promise.all([
    listOrEmpty(http, `/api/queues/${v}`),
    listOrEmpty(http, `/api/policies/${v}`),
    listOrEmpty(http, `/api/bindings/${v}`),
    listOrEmpty(http, `/api/exchanges/${v}`),
  ])
  const pols: PolicyFacts[] = policies.map((p) => ({
    name: str(p.name),
    pattern: str(p.pattern),
    applyTo: str(p['apply-to']) || 'all',
    priority: typeof p.priority === 'number' ? p.priority : 0,
    definition: obj(p.definition),
  }))
  const topo: Topology = { vhost, queues: new Map(), exchanges: new Map(), bindings: [] }
  for (const q of queues) {
    const name = str(q.name)
    const args = obj(q.arguments) as ArgTable
    const reported = q.effective_policy_definition && typeof q.effective_policy_definition === 'object' ? obj(q.effective_policy_definition) : undefined
    const def = reported && Object.keys(reported).length ? reported : matchPolicy(pols, name)?.definition
    topo.queues.set(name, { name, messages: typeof q.messages === 'number' ? q.messages : typeof q.messages_ready === 'number' ? q.messages_ready : 0, arguments: args, ...effectiveDeadLetter(args, def) })
  }
  for (const x of exchanges) topo.exchanges.set(str(x.name), { type: str(x.type), arguments: obj(x.arguments) as ArgTable })
  topo.exchanges.set('', { type: 'direct', arguments: {} })
  for (const b of bindings) {
    const source = str(b.source)
    if (source === '') continue // the default exchange's implicit bindings: handled by name
    topo.bindings.push({
      source,
      destination: str(b.destination),
      destinationType: b.destination_type === 'exchange' ? 'exchange' : 'queue',
      routingKey: str(b.routing_key),
      arguments: obj(b.arguments) as ArgTable,
    })
  }
  return topo
}

/**
 * The queues a message would reach if published now to `exchange` with `keys` (routing key + CC), from the
 * current bindings. `keys` undefined = any routing key (every binding of the exchange).
 */
export function route(topo: Topology, exchange: string, keys: string[] | undefined, headers: ArgTable = {}): string[] {
  const out = new Set<string>()
  const seen = new Set<string>()
  const visit = (x: string): void => {
    if (seen.has(x)) return
    seen.add(x)
    const facts = topo.exchanges.get(x)
    if (!facts) return
    const type = routingType(facts)
    if (x === '') {
      for (const k of keys ?? []) if (topo.queues.has(k)) out.add(k)
      return
    }
    let matched = false
    for (const b of topo.bindings) {
      if (b.source !== x) continue
      if (keys !== undefined && !keys.some((k) => bindingMatches(type, b, k, headers))) continue
      matched = true
      if (b.destinationType === 'queue') out.add(b.destination)
      else visit(b.destination)
    }
    const alternate = facts.arguments['alternate-exchange']
    if (!matched && typeof alternate === 'string') visit(alternate)
  }
  visit(exchange)
  return [...out].sort()
}

const DLQ_NAME = /(^|[._\-:])(dlq|dlx|dl|dead|deadletter|dead-letter|dead_letter|dead-letters|deadletters|parking-?lot|error)([._\-:]|$)/i

export function looksLikeDlq(name: string): boolean {
  return DLQ_NAME.test(name)
}

/** Dead-letter queues by evidence: DLX targets (with their sources and exchanges) and queues named like one. */
export function deadLetterTargets(topo: Topology): Map<string, { dlxs: Set<string>; sources: Set<string>; byName: boolean }> {
  const out = new Map<string, { dlxs: Set<string>; sources: Set<string>; byName: boolean }>()
  const at = (q: string) => {
    let e = out.get(q)
    if (!e) out.set(q, (e = { dlxs: new Set(), sources: new Set(), byName: false }))
    return e
  }
  for (const q of topo.queues.values()) {
    if (q.dlx === undefined) continue
    // without a dead-letter routing key the message keeps its own keys: every binding of the DLX may apply
    const keys = q.dlRoutingKey !== undefined ? [q.dlRoutingKey] : q.dlx === '' ? undefined : undefined
    const targets = q.dlx === '' ? (q.dlRoutingKey !== undefined ? route(topo, '', keys) : []) : route(topo, q.dlx, keys)
    for (const t of targets) {
      if (t === q.name) continue
      const e = at(t)
      e.dlxs.add(q.dlx || '(default)')
      e.sources.add(q.name)
    }
  }
  for (const q of topo.queues.keys()) if (looksLikeDlq(q)) at(q).byName = true
  return out
}
