/**
 * The planner: the ordered steps that turn a broker's topology into a design. A queue or exchange whose properties
 * or arguments differ cannot change in place (RabbitMQ refuses an inequivalent redeclare, or ignores arguments it
 * does not compare): it is deleted and recreated, and a queue's messages go with it — the plan says how many.
 * No I/O; unit-tested.
 */
import type { DesignBinding, DesignExchange, DesignQueue, PlanStep, TopologyDesign, TopologyPlan } from '../../contract'
import { bindingKey, describeArgs, describeBinding, isPredeclared, sameArgs } from './design'
import type { LiveState } from './live'

function exchangeDifference(want: DesignExchange, have: DesignExchange): string | undefined {
  const diffs: string[] = []
  if (want.type !== have.type) diffs.push(`type ${have.type} → ${want.type}`)
  if (want.durable !== have.durable) diffs.push(`durable ${have.durable} → ${want.durable}`)
  if (want.autoDelete !== have.autoDelete) diffs.push(`auto-delete ${have.autoDelete} → ${want.autoDelete}`)
  if (want.internal !== have.internal) diffs.push(`internal ${have.internal} → ${want.internal}`)
  if (!sameArgs(want.arguments, have.arguments)) diffs.push(`arguments {${describeArgs(have.arguments)}} → {${describeArgs(want.arguments)}}`)
  return diffs.length ? diffs.join('; ') : undefined
}

function queueDifference(want: DesignQueue, have: DesignQueue): string | undefined {
  const diffs: string[] = []
  if (want.durable !== have.durable) diffs.push(`durable ${have.durable} → ${want.durable}`)
  if (want.autoDelete !== have.autoDelete) diffs.push(`auto-delete ${have.autoDelete} → ${want.autoDelete}`)
  if (!sameArgs(want.arguments, have.arguments)) diffs.push(`arguments {${describeArgs(have.arguments)}} → {${describeArgs(want.arguments)}}`)
  return diffs.length ? diffs.join('; ') : undefined
}

const flags = (o: { durable: boolean; autoDelete: boolean; internal?: boolean; arguments: Record<string, unknown> }): string => {
  const parts = [o.durable ? 'durable' : 'transient']
  if (o.autoDelete) parts.push('auto-delete')
  if (o.internal) parts.push('internal')
  const args = describeArgs(o.arguments as DesignQueue['arguments'])
  if (args) parts.push(args)
  return parts.join(', ')
}

export function planTopology(design: TopologyDesign, live: LiveState, options: { prune?: boolean } = {}): TopologyPlan {
  const prune = options.prune !== false
  const liveExchanges = new Map(live.exchanges.map((x) => [x.name, x]))
  const liveQueues = new Map(live.queues.map((q) => [q.name, q]))
  const wantExchanges = new Map(design.exchanges.filter((x) => !isPredeclared(x.name)).map((x) => [x.name, x]))
  const wantQueues = new Map(design.queues.map((q) => [q.name, q]))

  const deleteBindings: PlanStep[] = []
  const deleteQueues: PlanStep[] = []
  const deleteExchanges: PlanStep[] = []
  const recreateExchanges: PlanStep[] = []
  const createExchanges: PlanStep[] = []
  const recreateQueues: PlanStep[] = []
  const createQueues: PlanStep[] = []
  const createBindings: PlanStep[] = []
  let unchanged = 0
  const step = (s: Omit<PlanStep, 'index'>): PlanStep => ({ index: 0, ...s })

  // objects whose bindings the broker drops with them
  const gone = new Set<string>()

  for (const [name, want] of wantExchanges) {
    const have = liveExchanges.get(name)
    if (!have) {
      createExchanges.push(step({ kind: 'create', object: 'exchange', name, description: `create ${want.type} exchange ${name} (${flags(want)})`, messagesLost: 0, exchange: want }))
      continue
    }
    const reason = exchangeDifference(want, have)
    if (!reason) {
      unchanged++
      continue
    }
    gone.add(`exchange:${name}`)
    recreateExchanges.push(step({ kind: 'recreate', object: 'exchange', name, description: `recreate exchange ${name}: delete it and declare it again (its bindings are recreated)`, reason, messagesLost: 0, exchange: want }))
  }
  if (prune) {
    for (const [name, have] of liveExchanges) {
      if (wantExchanges.has(name) || name.startsWith('amq.')) continue
      gone.add(`exchange:${name}`)
      deleteExchanges.push(step({ kind: 'delete', object: 'exchange', name, description: `delete exchange ${name} (${have.type})`, messagesLost: 0, exchange: have }))
    }
  }

  for (const [name, want] of wantQueues) {
    const have = liveQueues.get(name)
    if (!have) {
      createQueues.push(step({ kind: 'create', object: 'queue', name, description: `create queue ${name} (${flags(want)})`, messagesLost: 0, queue: want }))
      continue
    }
    const reason = queueDifference(want, have)
    if (!reason) {
      unchanged++
      continue
    }
    gone.add(`queue:${name}`)
    recreateQueues.push(
      step({
        kind: 'recreate',
        object: 'queue',
        name,
        description: `recreate queue ${name}: delete it (${have.messages} message${have.messages === 1 ? '' : 's'} lost) and declare it again`,
        reason,
        messagesLost: have.messages,
        queue: want,
      }),
    )
  }
  if (prune) {
    for (const [name, have] of liveQueues) {
      if (wantQueues.has(name) || have.exclusive) continue
      gone.add(`queue:${name}`)
      deleteQueues.push(
        step({ kind: 'delete', object: 'queue', name, description: `delete queue ${name} (${have.messages} message${have.messages === 1 ? '' : 's'} lost)`, messagesLost: have.messages, queue: have }),
      )
    }
  }

  const endsGone = (b: DesignBinding): boolean => gone.has(`exchange:${b.source}`) || gone.has(`${b.destinationType}:${b.destination}`)
  const wantBindings = new Map(design.bindings.map((b) => [bindingKey(b), b]))
  const liveBindings = new Map(live.bindings.map((b) => [bindingKey(b), b]))
  for (const [key, want] of wantBindings) {
    const have = liveBindings.get(key)
    if (have && !endsGone(have)) {
      unchanged++
      continue
    }
    createBindings.push(step({ kind: 'create', object: 'binding', name: describeBinding(want), description: `bind ${describeBinding(want)}${Object.keys(want.arguments).length ? ` {${describeArgs(want.arguments)}}` : ''}`, messagesLost: 0, binding: want }))
  }
  for (const [key, have] of liveBindings) {
    if (wantBindings.has(key) || endsGone(have)) continue
    // the design no longer has it; without prune only bindings between designed objects are removed
    const designed = (wantExchanges.has(have.source) || isPredeclared(have.source)) && (have.destinationType === 'queue' ? wantQueues.has(have.destination) : wantExchanges.has(have.destination))
    if (!prune && !designed) continue
    deleteBindings.push(step({ kind: 'delete', object: 'binding', name: describeBinding(have), description: `unbind ${describeBinding(have)}`, messagesLost: 0, binding: have }))
  }

  const steps = [...deleteBindings, ...deleteQueues, ...deleteExchanges, ...recreateExchanges, ...createExchanges, ...recreateQueues, ...createQueues, ...createBindings].map((s, index) => ({ ...s, index }))
  const messagesLost = steps.reduce((n, s) => n + s.messagesLost, 0)
  return {
    vhost: design.vhost,
    steps,
    messagesLost,
    counts: {
      create: steps.filter((s) => s.kind === 'create').length,
      delete: steps.filter((s) => s.kind === 'delete').length,
      recreate: steps.filter((s) => s.kind === 'recreate').length,
    },
    unchanged,
    // RabbitMQ's message counts lag by its statistics interval: any queue deleted or recreated is asked about
    confirmationRequired: steps.some((s) => s.object === 'queue' && s.kind !== 'create'),
    product: live.product,
  }
}
