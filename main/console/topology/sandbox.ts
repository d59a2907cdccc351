/**
 * A design declared into a throwaway in-memory vhost of the broker itself (broker/core), so that the console's
 * checks and route tests are the broker's own code: its argument validation (the errors RabbitMQ gives), its
 * routing tables (broker/core/exchanges: direct, fanout, topic trie, headers), and its vhost routing with
 * alternate exchanges and exchange-to-exchange hops. Nothing here talks to a network or a store on disk.
 */
import type { ArgTable, DesignBinding, RouteResult, TopologyDesign } from '../../contract'
import { Vhost, type Actor } from '../../../broker/core/vhost'
import { MemoryAccount } from '../../../broker/core/memory'
import { compilePermission } from '../../../broker/core/users'
import type { Binding } from '../../../broker/core/binding'
import type { Exchange } from '../../../broker/core/exchange'
import { createMemoryStore } from '../../../broker/store/memory/memory-store'
import { fieldTableFrom } from '../../../broker/http/json'
import { canonicalTableKey } from '../../../broker/core/arguments'
import { isPredeclared } from './design'

/** What the broker refused while the design was declared: per object, with the broker's reply text. */
export interface SandboxRefusal {
  kind: 'exchange' | 'queue' | 'binding'
  name: string
  bindingIndex?: number
  replyCode?: number
  message: string
}

export interface Sandbox {
  vhost: Vhost
  refusals: SandboxRefusal[]
  /** broker binding object → index in design.bindings */
  bindingIndex: Map<Binding, number>
  dispose(): void
}

const ACTOR: Actor = {
  user: 'warren-designer',
  permission: compilePermission({ user: 'warren-designer', vhost: '/', configure: '.*', write: '.*', read: '.*' }),
}

function messageOf(e: unknown): { message: string; replyCode?: number } {
  if (e instanceof Error) {
    const replyCode = (e as { replyCode?: unknown }).replyCode
    return { message: e.message, replyCode: typeof replyCode === 'number' ? replyCode : undefined }
  }
  return { message: String(e) }
}

function table(args: ArgTable | undefined): ReturnType<typeof fieldTableFrom> {
  return fieldTableFrom(args ?? {})
}

/** Declares the design's exchanges, queues and bindings in a fresh vhost, recording what the broker refuses. */
export function buildSandbox(design: TopologyDesign): Sandbox {
  const store = createMemoryStore()
  let id = 0
  const vhost = new Vhost(design.vhost || '/', { store, memory: new MemoryAccount(Number.MAX_SAFE_INTEGER), nextMessageId: () => ++id })
  const refusals: SandboxRefusal[] = []
  const attempt = (kind: SandboxRefusal['kind'], name: string, fn: () => void, bindingIndex?: number): boolean => {
    try {
      fn()
      return true
    } catch (e) {
      refusals.push({ kind, name, bindingIndex, ...messageOf(e) })
      return false
    }
  }
  const quietly = (fn: () => void): void => {
    try {
      fn()
    } catch {
      // already reported
    }
  }
  for (const x of design.exchanges) {
    if (isPredeclared(x.name)) {
      const existing = vhost.exchanges.get(x.name)
      if (existing && existing.type !== x.type) refusals.push({ kind: 'exchange', name: x.name, message: `${x.name} is a predeclared ${existing.type} exchange, not ${x.type}` })
      continue
    }
    const declare = (args: ArgTable): void => void vhost.declareExchange(ACTOR, { name: x.name, type: x.type, durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, arguments: table(args) })
    // refused for its arguments: still declared without them, so that routing through it can be simulated
    if (!attempt('exchange', x.name, () => declare(x.arguments))) quietly(() => declare({}))
  }
  for (const q of design.queues) {
    const declare = (args: ArgTable): void => void vhost.declareQueue(ACTOR, { name: q.name, durable: q.durable, exclusive: false, autoDelete: q.autoDelete, arguments: table(args) })
    if (!attempt('queue', q.name, () => declare(q.arguments))) quietly(() => declare({}))
  }
  const bindingIndex = new Map<Binding, number>()
  design.bindings.forEach((b: DesignBinding, index) => {
    const name = `${b.source} → ${b.destination}`
    attempt(
      'binding',
      name,
      () => {
        const args = table(b.arguments)
        if (b.destinationType === 'exchange') vhost.bindExchange(ACTOR, b.destination, b.source, b.routingKey, args)
        else vhost.bindQueue(ACTOR, b.destination, b.source, b.routingKey, args)
        // the broker keeps bindings as a set, keyed by destination, routing key and arguments (Vhost.bindingKey)
        const binding = vhost.exchanges.get(b.source)?.bindings.get(`${b.destinationType}\u0000${b.destination}\u0000${b.routingKey}\u0000${canonicalTableKey(args)}`)
        if (binding && !bindingIndex.has(binding)) bindingIndex.set(binding, index)
      },
      index,
    )
  })
  // x-expires and TTL timers must not outlive the sandbox
  for (const queue of vhost.queues.values()) queue.stopTimers()
  return {
    vhost,
    refusals,
    bindingIndex,
    dispose() {
      for (const queue of vhost.queues.values()) queue.stopTimers()
    },
  }
}

/**
 * Routes a message through the sandbox with the broker's Vhost.route (alternate exchanges, e2e bindings, the
 * default exchange), watching which exchanges it asked and which bindings they matched, to draw the path.
 */
export function routeInSandbox(sandbox: Sandbox, exchangeName: string, routingKey: string, headers: ArgTable | undefined): RouteResult {
  const { vhost, bindingIndex } = sandbox
  const warnings = sandbox.refusals.map((r) => `${r.kind} ${r.name}: ${r.message}`)
  const headerTable = headers && Object.keys(headers).length > 0 ? fieldTableFrom(headers, 'headers') : undefined
  if (exchangeName === '') {
    const queues = vhost.route(undefined, routingKey, headerTable).map((q) => q.name)
    return { queues: queues.sort(), exchanges: [''], bindings: [], alternates: [], routed: queues.length > 0, warnings }
  }
  const exchange = vhost.exchanges.get(exchangeName)
  if (!exchange) {
    return { queues: [], exchanges: [], bindings: [], alternates: [], routed: false, warnings: [...warnings, `no exchange '${exchangeName}' in the design (the broker would close the channel with 404 NOT_FOUND)`] }
  }
  const visited: string[] = []
  const matched = new Set<number>()
  const emptyAt = new Set<string>()
  const originals = new Map<Exchange, Exchange['route']>()
  for (const x of vhost.exchanges.values()) {
    const original = x.route.bind(x)
    originals.set(x, x.route)
    x.route = (key, h, matches) => {
      visited.push(x.name)
      const before = new Set(matches)
      original(key, h, matches)
      let any = false
      for (const b of matches) {
        if (before.has(b)) continue
        any = true
        const index = bindingIndex.get(b)
        if (index !== undefined) matched.add(index)
      }
      if (!any) emptyAt.add(x.name)
    }
  }
  let queues: string[]
  try {
    queues = vhost.route(exchange, routingKey, headerTable).map((q) => q.name)
  } finally {
    for (const [x, route] of originals) x.route = route
  }
  // an exchange that matched nothing and was followed by its alternate: an alternate-exchange hop
  const alternates: { from: string; to: string }[] = []
  for (const name of emptyAt) {
    const x = vhost.exchanges.get(name)
    const ae = x?.arguments['alternate-exchange']
    const aeName = ae === undefined ? undefined : Buffer.isBuffer(ae) ? ae.toString('utf8') : String(ae)
    if (aeName !== undefined && visited.includes(aeName) && visited.indexOf(aeName) > visited.indexOf(name)) alternates.push({ from: name, to: aeName })
  }
  return { queues: [...new Set(queues)].sort(), exchanges: [...new Set(visited)], bindings: [...matched].sort((a, b) => a - b), alternates, routed: queues.length > 0, warnings }
}
