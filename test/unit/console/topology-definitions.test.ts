// RabbitMQ definitions ⇄ designs: a round trip keeps the topology; one vhost is picked from a multi-vhost file;
// predeclared amq.* exchanges are never exported; Warren design files open as they are.
import { describe, expect, it } from 'vitest'
import type { TopologyDesign } from '../../../main/contract'
import { fromDefinitions, importText, toDefinitions } from '../../../main/console/topology/definitions'
import { ConsoleError } from '../../../main/console/profiles'

const sample: TopologyDesign = {
  format: 'warren-topology',
  version: 1,
  vhost: 'shop',
  exchanges: [
    { name: 'orders', type: 'topic', durable: true, autoDelete: false, internal: false, arguments: { 'alternate-exchange': 'unrouted' } },
    { name: 'unrouted', type: 'fanout', durable: true, autoDelete: false, internal: true, arguments: {} },
  ],
  queues: [
    { name: 'eu', durable: true, autoDelete: false, arguments: { 'x-message-ttl': 60000, 'x-dead-letter-exchange': 'unrouted' } },
    { name: 'votes', durable: true, autoDelete: false, arguments: { 'x-queue-type': 'quorum' } },
  ],
  bindings: [
    { source: 'orders', destination: 'eu', destinationType: 'queue', routingKey: 'eu.#', arguments: {} },
    { source: 'amq.topic', destination: 'orders', destinationType: 'exchange', routingKey: '#', arguments: {} },
  ],
  layout: {},
}

describe('definitions conversion', () => {
  it('round-trips a design through RabbitMQ definitions', () => {
    const defs = toDefinitions(sample)
    expect(defs.vhosts).toEqual([{ name: 'shop' }])
    expect(defs.exchanges.map((x) => x.name)).toEqual(['orders', 'unrouted'])
    expect(defs.queues[0]).toEqual({ name: 'eu', vhost: 'shop', durable: true, auto_delete: false, arguments: { 'x-message-ttl': 60000, 'x-dead-letter-exchange': 'unrouted' } })
    expect(defs.bindings[1]).toEqual({ source: 'amq.topic', vhost: 'shop', destination: 'orders', destination_type: 'exchange', routing_key: '#', arguments: {} })
    const back = importText(JSON.stringify(defs))
    expect(back).toEqual(sample)
  })

  it('picks one vhost of a multi-vhost export: the asked one, else /', () => {
    const defs = {
      queues: [
        { name: 'a', vhost: '/', durable: true, auto_delete: false, arguments: {} },
        { name: 'b', vhost: 'other', durable: false, auto_delete: true, arguments: {} },
      ],
      exchanges: [{ name: 'amq.direct', vhost: '/', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} }],
      bindings: [],
    }
    expect(fromDefinitions(defs).queues.map((q) => q.name)).toEqual(['a'])
    expect(fromDefinitions(defs).exchanges).toEqual([])
    expect(fromDefinitions(defs, 'other')).toMatchObject({ vhost: 'other', queues: [{ name: 'b', durable: false, autoDelete: true }] })
  })

  it('reads per-vhost exports (no vhost fields) and RabbitMQ 3.10 queue types', () => {
    const d = importText(JSON.stringify({ queues: [{ name: 'q', durable: true, auto_delete: false, type: 'quorum', arguments: {} }], exchanges: [], bindings: [] }), 'v1')
    expect(d.vhost).toBe('v1')
    expect(d.queues[0]!.arguments).toEqual({ 'x-queue-type': 'quorum' })
  })

  it('opens a Warren design file with its layout', () => {
    const d = importText(JSON.stringify({ ...sample, layout: { 'queue:eu': { x: 10, y: 20 }, bad: { x: 'no' } } }))
    expect(d.layout).toEqual({ 'queue:eu': { x: 10, y: 20 } })
  })

  it('refuses what is neither', () => {
    expect(() => importText('not json')).toThrow(ConsoleError)
    expect(() => importText('{"hello": 1}')).toThrow(/neither/)
  })
})
