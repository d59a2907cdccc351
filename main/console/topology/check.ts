/**
 * Validation and message-loss flags of a design. The argument checks are the broker's own (the design is declared
 * into a sandbox vhost, see sandbox.ts); names, references and reachability are checked here; dead-letter paths are
 * followed with the broker's routing. No I/O: the names that exist on the broker are passed in.
 */
import type { ArgValue, DesignIssue, TopologyDesign } from '../../contract'
import { isPredeclared, isReserved } from './design'
import { buildSandbox, type Sandbox } from './sandbox'

export interface BrokerNames {
  exchanges: Set<string>
  queues: Set<string>
}

const asString = (v: ArgValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined)

function refusalCode(message: string): string {
  if (/reserved prefix/.test(message)) return 'RESERVED_NAME'
  if (/default exchange/.test(message)) return 'DEFAULT_EXCHANGE'
  if (/NOT_FOUND/.test(message)) return 'MISSING_ENDPOINT'
  if (/unknown exchange type/.test(message)) return 'UNKNOWN_TYPE'
  return 'BAD_ARGUMENT'
}

/** The routing keys a dead-lettered message of this queue may carry: its DL routing key, else the keys that brought it in. */
function deadLetterKeys(design: TopologyDesign, queue: string, dlrk: string | undefined): string[] {
  if (dlrk !== undefined) return [dlrk]
  const keys = new Set<string>()
  for (const b of design.bindings) if (b.destinationType === 'queue' && b.destination === queue) keys.add(b.routingKey)
  // published to the default exchange by its name
  if (keys.size === 0) keys.add(queue)
  return [...keys]
}

/** Queues a dead-lettered message of `queue` reaches, by the broker's routing in the sandbox. */
function deadLetterTargets(sandbox: Sandbox, design: TopologyDesign, queue: string, dlx: string, dlrk: string | undefined): Set<string> {
  const targets = new Set<string>()
  const exchange = dlx === '' ? undefined : sandbox.vhost.exchanges.get(dlx)
  if (dlx !== '' && !exchange) return targets
  for (const key of deadLetterKeys(design, queue, dlrk)) for (const q of sandbox.vhost.route(exchange, key, undefined)) targets.add(q.name)
  return targets
}

export function checkDesign(design: TopologyDesign, broker?: BrokerNames): DesignIssue[] {
  const issues: DesignIssue[] = []
  const add = (issue: DesignIssue): void => void issues.push(issue)
  const exchangeNames = new Set(design.exchanges.map((x) => x.name))
  const queueNames = new Set(design.queues.map((q) => q.name))
  const exchangeExists = (name: string): boolean => exchangeNames.has(name) || isPredeclared(name)

  // --- names ---
  const seen = new Set<string>()
  for (const x of design.exchanges) {
    const t = { kind: 'exchange' as const, name: x.name }
    if (x.name === '') add({ target: t, severity: 'error', category: 'validation', code: 'EMPTY_NAME', message: 'an exchange needs a name (the default exchange cannot be declared)' })
    if (seen.has(`e:${x.name}`)) add({ target: t, severity: 'error', category: 'validation', code: 'DUPLICATE', message: `two exchanges are named '${x.name}'` })
    seen.add(`e:${x.name}`)
    if (isReserved(x.name) && !isPredeclared(x.name)) add({ target: t, severity: 'error', category: 'validation', code: 'RESERVED_NAME', message: `'${x.name}': names starting with 'amq.' are reserved (403 ACCESS_REFUSED)` })
  }
  for (const q of design.queues) {
    const t = { kind: 'queue' as const, name: q.name }
    if (q.name === '') add({ target: t, severity: 'error', category: 'validation', code: 'EMPTY_NAME', message: 'a designed queue needs a name' })
    if (seen.has(`q:${q.name}`)) add({ target: t, severity: 'error', category: 'validation', code: 'DUPLICATE', message: `two queues are named '${q.name}'` })
    seen.add(`q:${q.name}`)
    if (isReserved(q.name)) add({ target: t, severity: 'error', category: 'validation', code: 'RESERVED_NAME', message: `'${q.name}': names starting with 'amq.' are reserved (403 ACCESS_REFUSED)` })
  }

  // --- bindings: ends ---
  design.bindings.forEach((b, index) => {
    const t = { kind: 'binding' as const, bindingIndex: index, name: `${b.source} → ${b.destination}` }
    if (b.source === '' || (b.destinationType === 'exchange' && b.destination === '')) {
      add({ target: t, severity: 'error', category: 'validation', code: 'DEFAULT_EXCHANGE', message: 'the default exchange cannot be bound to or from: it reaches every queue by its name already (403 ACCESS_REFUSED)' })
      return
    }
    if (!exchangeExists(b.source)) add({ target: t, severity: 'error', category: 'validation', code: 'MISSING_ENDPOINT', message: `source exchange '${b.source}' is not in the design` })
    const destOk = b.destinationType === 'queue' ? queueNames.has(b.destination) : exchangeExists(b.destination)
    if (!destOk) add({ target: t, severity: 'error', category: 'validation', code: 'MISSING_ENDPOINT', message: `destination ${b.destinationType} '${b.destination}' is not in the design` })
  })

  // --- the broker's own checks (argument types and values, exchange types, x-match, reserved names) ---
  const sandbox = buildSandbox(design)
  try {
    for (const r of sandbox.refusals) {
      const code = refusalCode(r.message)
      // reported above in clearer words
      if ((code === 'RESERVED_NAME' || code === 'DEFAULT_EXCHANGE' || code === 'MISSING_ENDPOINT') && issues.some((i) => i.code === code && (i.target.name === r.name || i.target.bindingIndex === r.bindingIndex))) continue
      if (code === 'MISSING_ENDPOINT' && r.kind === 'binding' && issues.some((i) => i.target.bindingIndex === r.bindingIndex)) continue
      add({ target: { kind: r.kind, name: r.name, bindingIndex: r.bindingIndex }, severity: 'error', category: 'validation', code, message: `the broker refuses it: ${r.message}` })
    }

    // --- references: dead-letter and alternate exchanges ---
    const reference = (kind: 'exchange' | 'queue', owner: string, name: string, what: string, code: string): void => {
      if (name === '' || exchangeExists(name)) return
      const onBroker = broker?.exchanges.has(name)
      add({
        target: { kind, name: owner },
        severity: onBroker ? 'warning' : 'error',
        category: 'validation',
        code,
        message: onBroker
          ? `${what} '${name}' is not in the design, only on the broker (a plan that prunes would delete it)`
          : `${what} '${name}' exists neither in the design${broker ? ' nor on the broker' : ''}`,
      })
    }
    for (const q of design.queues) {
      const dlx = asString(q.arguments['x-dead-letter-exchange'])
      if (dlx !== undefined) reference('queue', q.name, dlx, 'dead-letter exchange', 'MISSING_DLX')
    }
    for (const x of design.exchanges) {
      const ae = asString(x.arguments['alternate-exchange'])
      if (ae !== undefined) reference('exchange', x.name, ae, 'alternate exchange', 'MISSING_AE')
    }

    // --- reachability: publishers reach non-internal exchanges; e2e bindings, alternates and dead-lettering carry on ---
    const reachable = new Set<string>()
    const pending: string[] = design.exchanges.filter((x) => !x.internal).map((x) => x.name)
    for (const name of Object.keys({ 'amq.direct': 1, 'amq.fanout': 1, 'amq.topic': 1, 'amq.headers': 1, 'amq.match': 1 })) pending.push(name)
    const reachedQueues = new Set<string>()
    const dlxOf = new Map<string, string>()
    for (const q of design.queues) {
      const dlx = asString(q.arguments['x-dead-letter-exchange'])
      if (dlx !== undefined) dlxOf.set(q.name, dlx)
    }
    const visitQueue = (name: string): void => {
      if (reachedQueues.has(name)) return
      reachedQueues.add(name)
      const dlx = dlxOf.get(name)
      if (dlx !== undefined && dlx !== '') pending.push(dlx)
      if (dlx === '') {
        const target = asString(design.queues.find((q) => q.name === name)?.arguments['x-dead-letter-routing-key'])
        if (target !== undefined) visitQueue(target)
      }
    }
    while (pending.length > 0) {
      const name = pending.pop()!
      if (reachable.has(name)) continue
      reachable.add(name)
      const ae = asString(design.exchanges.find((x) => x.name === name)?.arguments['alternate-exchange'])
      if (ae) pending.push(ae)
      for (const b of design.bindings) {
        if (b.source !== name) continue
        if (b.destinationType === 'exchange') pending.push(b.destination)
        else visitQueue(b.destination)
      }
    }
    for (const q of design.queues) {
      if (reachedQueues.has(q.name)) continue
      const bound = design.bindings.some((b) => b.destinationType === 'queue' && b.destination === q.name)
      add({
        target: { kind: 'queue', name: q.name },
        severity: 'warning',
        category: 'validation',
        code: 'UNREACHABLE',
        message: bound
          ? 'nothing can reach this queue: it is bound only from internal exchanges no publisher or binding reaches'
          : 'no binding or dead-letter route reaches this queue (only a publish to the default exchange with its name would)',
      })
    }

    // --- message loss ---
    const targets = new Map<string, Set<string>>()
    for (const q of design.queues) {
      const t = { kind: 'queue' as const, name: q.name }
      const args = q.arguments
      const dlx = asString(args['x-dead-letter-exchange'])
      const overflow = asString(args['x-overflow']) ?? 'drop-head'
      const ttl = args['x-message-ttl'] !== undefined
      const maxLength = args['x-max-length'] !== undefined || args['x-max-length-bytes'] !== undefined
      if (dlx === undefined) {
        if (ttl) add({ target: t, severity: 'warning', category: 'loss', code: 'NO_DLX', message: 'messages that expire (x-message-ttl) are dropped: the queue has no dead-letter exchange' })
        if (maxLength && overflow === 'drop-head') add({ target: t, severity: 'warning', category: 'loss', code: 'NO_DLX', message: 'messages pushed out by the length limit (drop-head) are dropped: the queue has no dead-letter exchange' })
        if (maxLength && overflow === 'reject-publish-dlx') add({ target: t, severity: 'warning', category: 'loss', code: 'NO_DLX', message: 'x-overflow reject-publish-dlx without a dead-letter exchange: rejected messages go nowhere' })
        continue
      }
      if (dlx !== '' && !exchangeExists(dlx)) continue // reported as MISSING_DLX
      const dlrk = asString(args['x-dead-letter-routing-key'])
      const reached = deadLetterTargets(sandbox, design, q.name, dlx, dlrk)
      targets.set(q.name, reached)
      if (reached.size === 0) {
        add({
          target: t,
          severity: 'warning',
          category: 'loss',
          code: 'DLX_NOWHERE',
          message:
            dlx === ''
              ? `dead letters go to the default exchange with key '${dlrk ?? q.name}', and no queue has that name: they are dropped`
              : `dead letters go to '${dlx}'${dlrk !== undefined ? ` with key '${dlrk}'` : ''}, which routes them to no queue: they are dropped`,
        })
      }
    }
    // cycles of dead-lettering: RabbitMQ drops a message that dies back into a queue it already died in (unless rejected)
    const automatic = (name: string): boolean => {
      const args = design.queues.find((q) => q.name === name)?.arguments ?? {}
      const overflow = asString(args['x-overflow']) ?? 'drop-head'
      return args['x-message-ttl'] !== undefined || ((args['x-max-length'] !== undefined || args['x-max-length-bytes'] !== undefined) && overflow !== 'reject-publish')
    }
    for (const cycle of cyclesOf(targets)) {
      // a queue without TTL or length limit dead-letters only what consumers reject, and a rejection keeps the loop going
      if (!cycle.every(automatic)) continue
      for (const member of cycle) {
        add({
          target: { kind: 'queue', name: member },
          severity: 'warning',
          category: 'loss',
          code: 'DLX_LOOP',
          message: `dead-letter loop ${[...cycle, cycle[0]].join(' → ')}: every queue in it expires or drops messages by itself, and RabbitMQ drops a message that dies back into a queue it already died in without being rejected`,
        })
      }
    }
  } finally {
    sandbox.dispose()
  }
  return issues
}

/** The strongly connected parts of a graph that hold a cycle (Tarjan), each as a list of its members. */
export function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const connect = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        part.push(w)
      } while (w !== v)
      if (part.length > 1 || graph.get(v)?.has(v)) out.push(part.reverse())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) connect(v)
  return out
}
