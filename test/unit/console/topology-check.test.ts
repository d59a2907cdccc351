// Validation and message-loss flags of a design: the broker's own argument checks (sandbox vhost), names,
// references, reachability; dead-letter paths followed with the broker's routing.
import { describe, expect, it } from 'vitest'
import type { DesignIssue, TopologyDesign } from '../../../main/contract'
import { checkDesign, cyclesOf } from '../../../main/console/topology/check'

const x = (name: string, type = 'direct', args = {}, internal = false) => ({ name, type, durable: true, autoDelete: false, internal, arguments: args })
const q = (name: string, args = {}) => ({ name, durable: true, autoDelete: false, arguments: args })
const b = (source: string, destination: string, routingKey = '', destinationType: 'queue' | 'exchange' = 'queue', args = {}) => ({ source, destination, destinationType, routingKey, arguments: args })
const design = (parts: Partial<TopologyDesign>): TopologyDesign => ({ format: 'warren-topology', version: 1, vhost: '/', exchanges: [], queues: [], bindings: [], ...parts })
const codes = (issues: DesignIssue[], name?: string) => issues.filter((i) => name === undefined || i.target.name === name).map((i) => i.code).sort()

describe('topology check', () => {
  it('passes a sound design with no issues', () => {
    const issues = checkDesign(
      design({
        exchanges: [x('orders', 'topic', { 'alternate-exchange': 'unrouted' }), x('unrouted', 'fanout'), x('dlx')],
        queues: [q('eu', { 'x-message-ttl': 60000, 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'dead' }), q('lost-and-found'), q('dead')],
        bindings: [b('orders', 'eu', 'eu.#'), b('unrouted', 'lost-and-found'), b('dlx', 'dead', 'dead')],
      }),
    )
    expect(issues).toEqual([])
  })

  it('reports reserved names and bindings to the default exchange', () => {
    const issues = checkDesign(design({ exchanges: [x('amq.mine')], queues: [q('amq.q'), q('ok')], bindings: [b('', 'ok'), b('amq.mine', 'ok')] }))
    expect(codes(issues, 'amq.mine')).toContain('RESERVED_NAME')
    expect(codes(issues, 'amq.q')).toContain('RESERVED_NAME')
    expect(issues.find((i) => i.target.bindingIndex === 0)?.code).toBe('DEFAULT_EXCHANGE')
  })

  it('reports wrong argument types with the broker\'s own reply text', () => {
    const issues = checkDesign(
      design({
        exchanges: [x('h', 'headers'), x('d', 'x-delayed-message'), x('weird', 'nosuchtype')],
        queues: [q('q', { 'x-message-ttl': 'soon', 'x-max-priority': 1000 }), q('r', { 'x-overflow': 'explode' })],
        bindings: [b('h', 'q', '', 'queue', { 'x-match': 'some' })],
      }),
    )
    const q1 = issues.filter((i) => i.target.name === 'q' && i.code === 'BAD_ARGUMENT')
    expect(q1[0]?.message).toMatch(/x-message-ttl/)
    expect(issues.find((i) => i.target.name === 'r')?.message).toMatch(/x-overflow/)
    expect(issues.find((i) => i.target.name === 'd')?.message).toMatch(/x-delayed-type/)
    expect(issues.find((i) => i.target.name === 'weird')?.code).toBe('UNKNOWN_TYPE')
    expect(issues.find((i) => i.target.bindingIndex === 0)?.message).toMatch(/x-match/)
  })

  it('reports a dead-letter or alternate exchange missing from the design, and softens it when the broker has it', () => {
    const d = design({ exchanges: [x('in', 'direct', { 'alternate-exchange': 'nowhere' })], queues: [q('q', { 'x-dead-letter-exchange': 'gone' })], bindings: [b('in', 'q', 'k')] })
    const alone = checkDesign(d)
    expect(alone.find((i) => i.code === 'MISSING_DLX')).toMatchObject({ severity: 'error', target: { kind: 'queue', name: 'q' } })
    expect(alone.find((i) => i.code === 'MISSING_AE')).toMatchObject({ severity: 'error', target: { kind: 'exchange', name: 'in' } })
    const withBroker = checkDesign(d, { exchanges: new Set(['gone']), queues: new Set() })
    expect(withBroker.find((i) => i.code === 'MISSING_DLX')).toMatchObject({ severity: 'warning' })
    expect(withBroker.find((i) => i.code === 'MISSING_AE')?.message).toContain('neither in the design nor on the broker')
  })

  it('finds queues nothing can reach, through internal exchanges too', () => {
    const issues = checkDesign(
      design({
        exchanges: [x('hidden', 'fanout', {}, true), x('front', 'fanout'), x('inner', 'fanout', {}, true)],
        queues: [q('orphan'), q('behind-internal'), q('via-e2e'), q('dead', {}), q('src', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dead' })],
        bindings: [b('hidden', 'behind-internal'), b('front', 'inner', '', 'exchange'), b('inner', 'via-e2e'), b('front', 'src')],
      }),
    )
    expect(issues.filter((i) => i.code === 'UNREACHABLE').map((i) => i.target.name).sort()).toEqual(['behind-internal', 'orphan'])
  })

  it('flags queues that drop messages silently: TTL or max length without a DLX', () => {
    const issues = checkDesign(
      design({
        exchanges: [x('e', 'fanout')],
        queues: [q('ttl', { 'x-message-ttl': 10 }), q('len', { 'x-max-length': 5 }), q('rejecting', { 'x-max-length': 5, 'x-overflow': 'reject-publish' })],
        bindings: [b('e', 'ttl'), b('e', 'len'), b('e', 'rejecting')],
      }),
    )
    expect(issues.filter((i) => i.category === 'loss').map((i) => `${i.target.name} ${i.code}`).sort()).toEqual(['len NO_DLX', 'ttl NO_DLX'])
  })

  it('flags a dead-letter exchange that routes to no queue, using the dead-letter routing key', () => {
    const issues = checkDesign(
      design({
        exchanges: [x('in', 'fanout'), x('dlx', 'direct')],
        queues: [q('a', { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'nope' }), q('b', { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'yes' }), q('parking')],
        bindings: [b('in', 'a'), b('in', 'b'), b('dlx', 'parking', 'yes')],
      }),
    )
    expect(issues.filter((i) => i.code === 'DLX_NOWHERE').map((i) => i.target.name)).toEqual(['a'])
  })

  it('flags dead-letter loops RabbitMQ drops (all automatic deaths), not a retry loop through a consumer-rejected queue', () => {
    const loop = checkDesign(
      design({
        exchanges: [x('in', 'fanout'), x('dlx1', 'fanout'), x('dlx2', 'fanout')],
        queues: [q('one', { 'x-message-ttl': 10, 'x-dead-letter-exchange': 'dlx1' }), q('two', { 'x-message-ttl': 10, 'x-dead-letter-exchange': 'dlx2' })],
        bindings: [b('in', 'one'), b('dlx1', 'two'), b('dlx2', 'one')],
      }),
    )
    expect(loop.filter((i) => i.code === 'DLX_LOOP').map((i) => i.target.name).sort()).toEqual(['one', 'two'])
    expect(loop.find((i) => i.code === 'DLX_LOOP')?.message).toMatch(/one → two → one|two → one → two/)
    const retry = checkDesign(
      design({
        exchanges: [x('in', 'direct'), x('retry', 'direct'), x('back', 'direct')],
        queues: [q('work', { 'x-dead-letter-exchange': 'retry' }), q('wait', { 'x-message-ttl': 5000, 'x-dead-letter-exchange': 'back' })],
        bindings: [b('in', 'work', 'job'), b('retry', 'wait', 'job'), b('back', 'work', 'job')],
      }),
    )
    expect(retry.filter((i) => i.code === 'DLX_LOOP')).toEqual([])
    const self = checkDesign(design({ queues: [q('self', { 'x-message-ttl': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'self' })] }))
    expect(self.map((i) => i.code)).toContain('DLX_LOOP')
  })

  it('finds cycles in a graph (Tarjan)', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['d'])],
      ['e', new Set(['a'])],
    ])
    expect(cyclesOf(g).map((c) => [...c].sort().join(''))).toEqual(expect.arrayContaining(['abc', 'd']))
    expect(cyclesOf(g)).toHaveLength(2)
  })
})
