import { describe, expect, it } from 'vitest'
import type { Binding } from '../../../broker/core/binding'
import { createRoutingTable } from '../../../broker/core/exchanges'

function binding(routingKey: string, args: Record<string, unknown> = {}): Binding {
  return { routingKey, arguments: args, key: `${routingKey}:${JSON.stringify(args)}` } as unknown as Binding
}

function routeKeys(type: string, bindings: Binding[], routingKey: string, headers?: Record<string, unknown>): string[] {
  const table = createRoutingTable(type)!
  for (const b of bindings) table.add(b)
  const matches = new Set<Binding>()
  table.route(routingKey, headers as never, matches)
  return [...matches].map((b) => b.routingKey).sort()
}

describe('topic routing', () => {
  const keys = ['a.b.c', 'a.*.c', 'a.#', '#', '*.b.*', 'a.#.c', '#.c', '*', 'x.*.*']
  const cases: [string, string[]][] = [
    ['a.b.c', ['#', '#.c', '*.b.*', 'a.#', 'a.#.c', 'a.*.c', 'a.b.c']],
    ['a', ['#', '*', 'a.#']],
    ['a.c', ['#', '#.c', 'a.#', 'a.#.c']],
    ['a.x.y.c', ['#', '#.c', 'a.#', 'a.#.c']],
    ['', ['#']], // the empty key has no words, so '*' does not match it (RabbitMQ)
    ['x.y', ['#']],
    ['x.y.z', ['#', 'x.*.*']],
    ['b', ['#', '*']],
  ]
  for (const [routingKey, expected] of cases) {
    it(`routes '${routingKey}'`, () => {
      expect(routeKeys('topic', keys.map((k) => binding(k)), routingKey)).toEqual(expected)
    })
  }

  it('removes bindings and prunes', () => {
    const table = createRoutingTable('topic')!
    const a = binding('a.*')
    const b = binding('a.b')
    table.add(a)
    table.add(b)
    table.remove(a)
    const matches = new Set<Binding>()
    table.route('a.b', undefined, matches)
    expect([...matches]).toEqual([b])
    table.remove(b)
    matches.clear()
    table.route('a.b', undefined, matches)
    expect(matches.size).toBe(0)
  })

  it('routes among 10,000 bindings without scanning them', () => {
    const table = createRoutingTable('topic')!
    // each binding counts how often its fields are read once routing starts: a scan would read all 10,000 per route
    let reads = 0
    let counting = false
    for (let i = 0; i < 10_000; i++) {
      table.add(
        new Proxy(binding(`stock.${i}.*`), {
          get(target, property, receiver) {
            if (counting) reads++
            return Reflect.get(target, property, receiver)
          },
        }),
      )
    }
    counting = true
    const matches = new Set<Binding>()
    for (let i = 0; i < 10_000; i++) {
      matches.clear()
      table.route(`stock.${i}.nyse`, undefined, matches)
      expect(matches.size).toBe(1)
    }
    counting = false
    // the trie walks words, not bindings: at most the matching binding is looked at per route
    expect(reads).toBeLessThanOrEqual(10_000)
  })
})

describe('headers routing', () => {
  const all = binding('all', { 'x-match': 'all', format: 'pdf', type: 'report' })
  const any = binding('any', { 'x-match': 'any', format: 'pdf', type: 'log' })
  const allWithX = binding('all-with-x', { 'x-match': 'all-with-x', 'x-tenant': 't1' })
  const presence = binding('presence', { 'x-match': 'all', flag: null })
  const bindings = [all, any, allWithX, presence]

  it('all needs every header', () => {
    expect(routeKeys('headers', bindings, '', { format: 'pdf', type: 'report' })).toEqual(['all', 'any'])
    expect(routeKeys('headers', bindings, '', { format: 'pdf' })).toEqual(['any'])
  })
  it('any needs one header', () => {
    expect(routeKeys('headers', bindings, '', { type: 'log' })).toEqual(['any'])
  })
  it('x- arguments count only with *-with-x', () => {
    expect(routeKeys('headers', bindings, '', { 'x-tenant': 't1' })).toEqual(['all-with-x'])
  })
  it('a void argument matches on presence', () => {
    expect(routeKeys('headers', bindings, '', { flag: 'whatever' })).toEqual(['presence'])
  })
  it('rejects an invalid x-match with 406', () => {
    const table = createRoutingTable('headers')!
    expect(() => table.add(binding('bad', { 'x-match': 'some' }))).toThrow(/PRECONDITION_FAILED - Invalid x-match/)
  })
})

describe('direct and fanout routing', () => {
  it('direct matches the exact key', () => {
    expect(routeKeys('direct', [binding('a'), binding('b')], 'a')).toEqual(['a'])
  })
  it('fanout matches everything', () => {
    expect(routeKeys('fanout', [binding('a'), binding('b')], 'zzz')).toEqual(['a', 'b'])
  })
  it('unknown types have no table', () => {
    expect(createRoutingTable('x-unknown')).toBeUndefined()
  })
})
