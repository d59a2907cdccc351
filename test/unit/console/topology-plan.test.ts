// The planner: a design diffed against a broker's state gives ordered create / delete / recreate steps, with the
// messages a deleted or recreated queue loses, and nothing for what already matches.
import { describe, expect, it } from 'vitest'
import type { TopologyDesign } from '../../../main/contract'
import type { LiveState } from '../../../main/console/topology/live'
import { planTopology } from '../../../main/console/topology/plan'

const x = (name: string, type = 'direct', args = {}) => ({ name, type, durable: true, autoDelete: false, internal: false, arguments: args })
const q = (name: string, args = {}) => ({ name, durable: true, autoDelete: false, arguments: args })
const b = (source: string, destination: string, routingKey = '', destinationType: 'queue' | 'exchange' = 'queue') => ({ source, destination, destinationType, routingKey, arguments: {} })

function design(parts: Partial<TopologyDesign>): TopologyDesign {
  return { format: 'warren-topology', version: 1, vhost: '/', exchanges: [], queues: [], bindings: [], ...parts }
}
function live(parts: Partial<LiveState>): LiveState {
  return { vhost: '/', product: 'Test 1', exchanges: [], queues: [], bindings: [], stats: {}, ...parts }
}
const lq = (name: string, messages: number, args = {}) => ({ ...q(name, args), exclusive: false, messages })
const lb = (source: string, destination: string, routingKey = '') => ({ ...b(source, destination, routingKey), propertiesKey: routingKey || '~' })

describe('topology planner', () => {
  it('creates everything on an empty broker, exchanges and queues before bindings', () => {
    const plan = planTopology(design({ exchanges: [x('orders', 'topic')], queues: [q('eu')], bindings: [b('orders', 'eu', 'eu.#')] }), live({}))
    expect(plan.steps.map((s) => `${s.kind} ${s.object} ${s.name}`)).toEqual(['create exchange orders', 'create queue eu', 'create binding orders → eu (eu.#)'])
    expect(plan.steps.map((s) => s.index)).toEqual([0, 1, 2])
    expect(plan.counts).toEqual({ create: 3, delete: 0, recreate: 0 })
    expect(plan.confirmationRequired).toBe(false)
    expect(plan.messagesLost).toBe(0)
  })

  it('plans nothing when the broker already matches (argument order does not matter)', () => {
    const d = design({ exchanges: [x('orders')], queues: [q('eu', { 'x-message-ttl': 5, 'x-max-length': 3 })], bindings: [b('orders', 'eu', 'k')] })
    const plan = planTopology(d, live({ exchanges: [x('orders')], queues: [lq('eu', 7, { 'x-max-length': 3, 'x-message-ttl': 5 })], bindings: [lb('orders', 'eu', 'k')] }))
    expect(plan.steps).toEqual([])
    expect(plan.unchanged).toBe(3)
  })

  it('recreates a queue whose arguments differ, says how many messages go, asks first, and rebinds it', () => {
    const d = design({ exchanges: [x('orders')], queues: [q('eu', { 'x-message-ttl': 1000 })], bindings: [b('orders', 'eu', 'k')] })
    const plan = planTopology(d, live({ exchanges: [x('orders')], queues: [lq('eu', 42)], bindings: [lb('orders', 'eu', 'k')] }))
    expect(plan.steps.map((s) => `${s.kind} ${s.object} ${s.name}`)).toEqual(['recreate queue eu', 'create binding orders → eu (k)'])
    expect(plan.steps[0]!.messagesLost).toBe(42)
    expect(plan.steps[0]!.reason).toContain('x-message-ttl')
    expect(plan.steps[0]!.description).toContain('42 messages lost')
    expect(plan.messagesLost).toBe(42)
    expect(plan.confirmationRequired).toBe(true)
  })

  it('recreates an exchange whose type changed, with the bindings on both sides', () => {
    const d = design({ exchanges: [x('orders', 'topic'), x('audit', 'fanout')], queues: [q('eu')], bindings: [b('orders', 'eu', 'k'), b('orders', 'audit', '#', 'exchange')] })
    const plan = planTopology(
      d,
      live({ exchanges: [x('orders', 'direct'), x('audit', 'fanout')], queues: [lq('eu', 0)], bindings: [lb('orders', 'eu', 'k'), { ...b('orders', 'audit', '#', 'exchange'), propertiesKey: '%23' }] }),
    )
    expect(plan.steps.map((s) => `${s.kind} ${s.object} ${s.name}`)).toEqual(['recreate exchange orders', 'create binding orders → eu (k)', 'create binding orders → exchange audit (#)'])
    expect(plan.steps[0]!.reason).toBe('type direct → topic')
    expect(plan.confirmationRequired).toBe(false)
  })

  it('deletes what the design does not have (bindings first, then queues, then exchanges), never amq.* or exclusive queues', () => {
    const plan = planTopology(
      design({ exchanges: [x('keep')], queues: [q('kept')], bindings: [] }),
      live({
        exchanges: [x('keep'), x('old'), x('amq.topic', 'topic')],
        queues: [lq('kept', 0), lq('gone', 5), { ...lq('amq.gen-1', 1), exclusive: true }],
        bindings: [lb('keep', 'kept', 'x'), lb('old', 'gone', 'y'), lb('amq.topic', 'kept', 'z')],
      }),
    )
    expect(plan.steps.map((s) => `${s.kind} ${s.object} ${s.name}`)).toEqual([
      'delete binding keep → kept (x)',
      'delete binding amq.topic → kept (z)',
      'delete queue gone',
      'delete exchange old',
    ])
    expect(plan.steps[0]!.binding?.propertiesKey).toBe('x')
    expect(plan.messagesLost).toBe(5)
    expect(plan.confirmationRequired).toBe(true)
  })

  it('without prune keeps what the design does not mention', () => {
    const plan = planTopology(design({ queues: [q('new')] }), live({ exchanges: [x('old')], queues: [lq('other', 3)], bindings: [lb('old', 'other')] }), { prune: false })
    expect(plan.steps.map((s) => `${s.kind} ${s.object} ${s.name}`)).toEqual(['create queue new'])
    expect(plan.confirmationRequired).toBe(false)
  })

  it('binds from predeclared exchanges without declaring them', () => {
    const plan = planTopology(design({ exchanges: [x('amq.topic', 'topic')], queues: [q('all')], bindings: [b('amq.topic', 'all', '#')] }), live({ exchanges: [x('amq.topic', 'topic')] }))
    expect(plan.steps.map((s) => `${s.kind} ${s.object} ${s.name}`)).toEqual(['create queue all', 'create binding amq.topic → all (#)'])
  })
})
