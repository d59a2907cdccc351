// Dead letters as plain data: x-death parsing, fingerprints (HTTP JSON vs amqplib typed values), filters, JSON
// paths, grouping, replay headers, export/import format, policy resolution and routing for dry runs.
import { describe, expect, it } from 'vitest'
import type { ArgTable, DeadLetterMessage, MessageProperties } from '../../../main/contract'
import { compileFilter, evalJsonPath, groupDeadLetters, parseJsonPath, timeRange } from '../../../main/console/dead-letters/filter'
import { describeDeadLetter, fingerprint, fromAmqpProperties, isDeadLetter, parseDeaths, replayHeaders, typedHeaders } from '../../../main/console/dead-letters/model'
import { exportLines, parseExport } from '../../../main/console/dead-letters/export-format'
import { deadLetterTargets, effectiveDeadLetter, matchPolicy, route, type Topology } from '../../../main/console/dead-letters/discovery'
import { topicMatches } from '../../../main/console/routing'
import { replayRoute, summarize } from '../../../main/console/dead-letters/jobs'

const T = 1_764_000_000 // seconds

function death(reason: string, queue: string, time: number, exchange = 'shop', keys = ['order.created'], count = 1): ArgTable {
  return { count, reason, queue, time, exchange, 'routing-keys': keys }
}

function msg(headers: ArgTable, body: string, extra: Partial<MessageProperties> = {}, queue = 'dlq', index = 0): DeadLetterMessage & { body: Buffer } {
  return describeDeadLetter({ vhost: '/', queue, index, exchange: 'dlx', routingKey: 'k', redelivered: false, properties: { ...extra, headers }, body: Buffer.from(body) })
}

describe('x-death and fingerprints', () => {
  it('parses x-death newest first, times in ms, skips non-table entries', () => {
    const d = parseDeaths({ 'x-death': [death('expired', 'payments', T + 5, '', ['payments'], 2), 'junk', death('rejected', 'orders', T)] })
    expect(d).toEqual([
      { count: 2, reason: 'expired', queue: 'payments', time: (T + 5) * 1000, exchange: '', routingKeys: ['payments'] },
      { count: 1, reason: 'rejected', queue: 'orders', time: T * 1000, exchange: 'shop', routingKeys: ['order.created'] },
    ])
    expect(parseDeaths({})).toEqual([])
    const m = msg({ 'x-death': [death('maxlen', 'orders', T)] }, 'x')
    expect(m).toMatchObject({ reason: 'maxlen', sourceQueue: 'orders', originalExchange: 'shop', originalRoutingKeys: ['order.created'], deathTime: T * 1000 })
    expect(msg({}, 'x').reason).toBe('unknown')
    expect(msg({ 'x-death': [death('delivery_limit', 'q', T)] }, 'x').reason).toBe('delivery_limit')
  })

  it('gives the same fingerprint for the HTTP JSON form and amqplib typed values, and differs on body, properties or history', () => {
    const httpProps: MessageProperties = { messageId: 'a', deliveryMode: 2, timestamp: T, headers: { 'x-death': [death('rejected', 'orders', T)], tenant: 'acme', n: 5 } }
    const amqpProps = fromAmqpProperties({
      messageId: 'a',
      deliveryMode: 2,
      timestamp: T,
      contentType: undefined,
      correlationId: '',
      headers: { n: 5, tenant: Buffer.from('acme'), 'x-death': [{ 'routing-keys': ['order.created'], exchange: 'shop', time: { '!': 'timestamp', value: T }, queue: 'orders', reason: 'rejected', count: 1 }] },
    })
    const body = Buffer.from('{"id":1}')
    expect(fingerprint(body, amqpProps)).toBe(fingerprint(body, httpProps))
    expect(fingerprint(Buffer.from('{"id":2}'), httpProps)).not.toBe(fingerprint(body, httpProps))
    expect(fingerprint(body, { ...httpProps, messageId: 'b' })).not.toBe(fingerprint(body, httpProps))
    const diedTwice = { ...httpProps, headers: { ...httpProps.headers, 'x-death': [death('rejected', 'orders', T, 'shop', ['order.created'], 2)] } }
    expect(fingerprint(body, diedTwice)).not.toBe(fingerprint(body, httpProps))
    // empty headers are no headers
    expect(fingerprint(body, { messageId: 'a', headers: {} })).toBe(fingerprint(body, { messageId: 'a' }))
  })
})

describe('filters, JSON paths and groups', () => {
  const ms = [
    msg({ 'x-death': [death('rejected', 'orders', T)], tenant: 'acme' }, JSON.stringify({ order: { id: 7, items: [{ sku: 'carrot' }] } }), {}, 'dlq', 0),
    msg({ 'x-death': [death('expired', 'payments', T + 60, '', ['payments'])] }, 'payment failed', {}, 'dlq', 1),
    msg({ 'x-death': [death('expired', 'payments', T + 120, '', ['payments'])], tenant: 'globex' }, JSON.stringify({ order: { id: 9 } }), {}, 'other.dlq', 0),
    msg({ 'x-death': [death('maxlen', 'orders', T + 30)] }, '[1,2,3]', {}, 'dlq', 2),
  ]
  const count = (f: Parameters<typeof compileFilter>[0]) => ms.filter(compileFilter(f)).length

  it('parses and evaluates JSON paths', () => {
    expect(parseJsonPath('$.order.items[0].sku')).toEqual(['order', 'items', 0, 'sku'])
    expect(parseJsonPath(`a["b c"]['d']`)).toEqual(['a', 'b c', 'd'])
    expect(() => parseJsonPath('$..x')).toThrow(/JSON path/)
    expect(evalJsonPath({ a: [1, { b: null }] }, ['a', 1, 'b'])).toEqual({ found: true, value: null })
    expect(evalJsonPath({ a: [1] }, ['a', 3])).toEqual({ found: false })
  })

  it('filters by queue, reason, source queue, time, header, body text and JSON path', () => {
    expect(count({})).toBe(4)
    expect(count({ queues: ['other.dlq'] })).toBe(1)
    expect(count({ reasons: ['expired', 'maxlen'] })).toBe(3)
    expect(count({ sourceQueues: ['orders'] })).toBe(2)
    expect(count({ from: (T + 30) * 1000, to: (T + 60) * 1000 })).toBe(2)
    expect(count({ headers: [{ name: 'tenant' }] })).toBe(2)
    expect(count({ headers: [{ name: 'tenant', value: 'GLO' }] })).toBe(1)
    expect(count({ bodyText: 'FAILED' })).toBe(1)
    expect(count({ jsonPath: { path: '$.order.id', op: 'exists' } })).toBe(2)
    expect(count({ jsonPath: { path: '$.order.id', op: 'gt', value: '8' } })).toBe(1)
    expect(count({ jsonPath: { path: '$.order.items[0].sku', op: 'eq', value: 'carrot' } })).toBe(1)
    // a JSON body without the field is not equal to 7 either
    expect(count({ jsonPath: { path: '$.order.id', op: 'ne', value: '7' } })).toBe(2)
    expect(count({ jsonPath: { path: '$[1]', op: 'eq', value: '2' } })).toBe(1)
    expect(count({ jsonPath: { path: '$.order', op: 'regex', value: '"id":9' } })).toBe(1)
    expect(count({ reasons: ['expired'], headers: [{ name: 'tenant' }] })).toBe(1)
    expect(() => compileFilter({ jsonPath: { path: '$.a', op: 'regex', value: '(' } })).toThrow(/regular expression/)
  })

  it('groups by reason, source queue and original route with counts and time ranges', () => {
    const g = groupDeadLetters(ms)
    expect(g.byReason).toEqual([
      { key: 'expired', count: 2, firstAt: (T + 60) * 1000, lastAt: (T + 120) * 1000 },
      { key: 'maxlen', count: 1, firstAt: (T + 30) * 1000, lastAt: (T + 30) * 1000 },
      { key: 'rejected', count: 1, firstAt: T * 1000, lastAt: T * 1000 },
    ])
    expect(g.bySourceQueue.map((x) => [x.key, x.count])).toEqual([
      ['orders', 2],
      ['payments', 2],
    ])
    expect(g.byRoute.map((x) => [x.key, x.count])).toEqual([
      ['(default) → payments', 2],
      ['shop → order.created', 2],
    ])
    expect(timeRange(ms)).toEqual({ firstAt: T * 1000, lastAt: (T + 120) * 1000 })
  })
})

describe('replay headers and routes', () => {
  const headers = { 'x-death': [{ count: 1, reason: 'rejected', queue: 'orders', time: { '!': 'timestamp', value: T }, exchange: 'shop', 'routing-keys': ['a', 'b'] }], 'x-first-death-reason': 'rejected', 'x-first-death-queue': 'orders', 'x-first-death-exchange': 'shop', tenant: 'acme' }

  it('adds when and how often, keeps everything else; rename moves the death history aside', () => {
    const kept = replayHeaders(headers, 'keep', 'job:0', T * 1000)
    expect(kept).toMatchObject({ tenant: 'acme', 'x-death': headers['x-death'], 'x-warren-replay-count': 1, 'x-warren-replay-id': 'job:0', 'x-warren-replayed-at': { '!': 'timestamp', value: T } })
    expect(replayHeaders(kept, 'keep', 'job:1')['x-warren-replay-count']).toBe(2)
    const renamed = replayHeaders(headers, 'rename', 'job:0')
    expect(renamed['x-death']).toBeUndefined()
    expect(renamed['x-first-death-queue']).toBeUndefined()
    expect(renamed['x-warren-original-death']).toBe(headers['x-death'])
    expect(renamed['x-warren-original-first-death-queue']).toBe('orders')
    expect(renamed.tenant).toBe('acme')
  })

  it('routes to the original exchange and keys (CC for the rest), to the source queue, or to a chosen exchange', () => {
    const props = { headers: { 'x-death': [death('rejected', 'orders', T, 'shop', ['a', 'b'])] } }
    expect(replayRoute({ kind: 'original' }, props)).toEqual({ exchange: 'shop', routingKeys: ['a', 'b'] })
    expect(replayRoute({ kind: 'source-queue' }, props)).toEqual({ exchange: '', routingKeys: ['orders'] })
    expect(replayRoute({ kind: 'custom', exchange: 'x', routingKey: 'k' }, {})).toEqual({ exchange: 'x', routingKeys: ['k'] })
    expect(() => replayRoute({ kind: 'original' }, {})).toThrow(/no x-death/)
  })

  it('knows a replayed message is no longer a dead letter until it dies again', () => {
    const dead = msg({ 'x-death': [death('rejected', 'orders', T)] }, 'x')
    expect(isDeadLetter(dead)).toBe(true)
    expect(isDeadLetter(msg({ 'x-death': [death('rejected', 'orders', T)], 'x-warren-replayed-at': T + 10 }, 'x'))).toBe(false)
    expect(isDeadLetter(msg({ 'x-death': [death('rejected', 'orders', T + 20)], 'x-warren-replayed-at': T + 10 }, 'x'))).toBe(true)
    expect(isDeadLetter(msg({}, 'x'))).toBe(false)
  })

  it('summarises a job for people', () => {
    const j = { id: 'a', action: 'replay' as const, state: 'done' as const, vhost: '/', queues: ['q'], total: 3, processed: 3, replayed: 2, deleted: 0, failed: 0, unroutable: 1, skipped: 4, rate: 0, startedAt: 0 , summary: '' }
    expect(summarize(j)).toBe('finished: 2 replayed, 1 unroutable (left in the queue), 4 not matching (left in the queue)')
  })
})

describe('export format', () => {
  it('round-trips bodies as base64 (any bytes) and x-death, and restores AMQP timestamps on import', () => {
    const body = Buffer.from([0, 255, 10, 13, 0x80])
    const m = msg({ 'x-death': [death('rejected', 'orders', T)] }, '', { messageId: 'm1', contentType: 'application/octet-stream' })
    const content = exportLines('/', [{ ...m, body }], new Date(0))
    const lines = content.trim().split('\n')
    expect(JSON.parse(lines[0]!)).toEqual({ format: 'warren-dead-letters', version: 1, vhost: '/', exportedAt: '1970-01-01T00:00:00.000Z', count: 1 })
    const back = parseExport(content)
    expect(back.vhost).toBe('/')
    expect(back.messages[0]!.body.equals(body)).toBe(true)
    expect(back.messages[0]).toMatchObject({ queue: 'dlq', exchange: 'dlx', routingKey: 'k', properties: { messageId: 'm1' } })
    const typed = typedHeaders(back.messages[0]!.properties.headers) as { 'x-death': { time: unknown }[] }
    expect(typed['x-death'][0]!.time).toEqual({ '!': 'timestamp', value: T })
    // the same message again: same fingerprint
    expect(fingerprint(body, { ...back.messages[0]!.properties, headers: typed as ArgTable })).toBe(fingerprint(body, m.properties))
  })

  it('refuses files that are not exports, bad lines and truncated files, naming the line', () => {
    expect(() => parseExport('')).toThrow(/empty/)
    expect(() => parseExport('{"format":"other"}')).toThrow(/not a Warren dead-letter export/)
    expect(() => parseExport('{"format":"warren-dead-letters","version":2}')).toThrow(/version 2/)
    const head = '{"format":"warren-dead-letters","version":1,"count":2}\n'
    expect(() => parseExport(head + '{"queue":"q","bodyBase64":"AA=="}\nnot json\n')).toThrow(/line 3 is not JSON/)
    expect(() => parseExport(head + '{"queue":"q","bodyBase64":"%%%"}\n')).toThrow(/line 2: bodyBase64/)
    expect(() => parseExport(head + '{"queue":"q","bodyBase64":"AA=="}\n')).toThrow(/says 2 messages but holds 1/)
  })
})

describe('discovery and routing', () => {
  it('picks the highest-priority matching policy; a queue argument wins over it', () => {
    const policies = [
      { name: 'low', pattern: '^orders', applyTo: 'queues', priority: 0, definition: { 'dead-letter-exchange': 'low-dlx' } },
      { name: 'high', pattern: '^orders$', applyTo: 'all', priority: 5, definition: { 'dead-letter-exchange': 'high-dlx', 'dead-letter-routing-key': 'dead' } },
      { name: 'exchanges', pattern: '.*', applyTo: 'exchanges', priority: 9, definition: { 'dead-letter-exchange': 'nope' } },
    ]
    expect(matchPolicy(policies, 'orders')?.name).toBe('high')
    expect(matchPolicy(policies, 'orders.v2')?.name).toBe('low')
    expect(matchPolicy(policies, 'payments')).toBeUndefined()
    expect(effectiveDeadLetter({}, matchPolicy(policies, 'orders')?.definition)).toEqual({ dlx: 'high-dlx', dlRoutingKey: 'dead' })
    expect(effectiveDeadLetter({ 'x-dead-letter-exchange': 'arg-dlx' }, matchPolicy(policies, 'orders')?.definition)).toEqual({ dlx: 'arg-dlx', dlRoutingKey: 'dead' })
    expect(effectiveDeadLetter({}, undefined)).toEqual({})
  })

  it('matches topics like the broker', () => {
    expect(topicMatches('order.*', 'order.created')).toBe(true)
    expect(topicMatches('order.*', 'order.created.eu')).toBe(false)
    expect(topicMatches('order.#', 'order')).toBe(true)
    expect(topicMatches('#.eu', 'a.b.eu')).toBe(true)
    expect(topicMatches('#', '')).toBe(true)
  })

  const topo: Topology = {
    vhost: '/',
    queues: new Map(
      [
        { name: 'orders', messages: 0, arguments: {}, dlx: 'dlx' },
        { name: 'payments', messages: 0, arguments: {}, dlx: '', dlRoutingKey: 'payments.dlq' },
        { name: 'orders.dlq', messages: 3, arguments: {} },
        { name: 'payments.dlq', messages: 1, arguments: {} },
        { name: 'audit', messages: 0, arguments: {} },
        { name: 'eu', messages: 0, arguments: {} },
        { name: 'parking-lot', messages: 0, arguments: {} },
      ].map((q) => [q.name, q]),
    ),
    exchanges: new Map<string, { type: string; arguments: ArgTable }>([
      ['', { type: 'direct', arguments: {} }],
      ['dlx', { type: 'fanout', arguments: {} }],
      ['dlx.fan', { type: 'fanout', arguments: {} }],
      ['shop', { type: 'topic', arguments: { 'alternate-exchange': 'dlx.fan' } }],
      ['hdr', { type: 'headers', arguments: {} }],
    ]),
    bindings: [
      { source: 'dlx', destination: 'orders.dlq', destinationType: 'queue', routingKey: '', arguments: {} },
      { source: 'dlx', destination: 'dlx.fan', destinationType: 'exchange', routingKey: '', arguments: {} },
      { source: 'dlx.fan', destination: 'audit', destinationType: 'queue', routingKey: '', arguments: {} },
      { source: 'shop', destination: 'orders', destinationType: 'queue', routingKey: 'order.*', arguments: {} },
      { source: 'shop', destination: 'eu', destinationType: 'queue', routingKey: '#.eu', arguments: {} },
      { source: 'hdr', destination: 'eu', destinationType: 'queue', routingKey: '', arguments: { 'x-match': 'all', region: 'eu' } },
    ],
  }

  it('routes like the broker for dry runs: default exchange, topic, exchange-to-exchange, alternate, headers', () => {
    expect(route(topo, '', ['orders'])).toEqual(['orders'])
    expect(route(topo, '', ['nope'])).toEqual([])
    expect(route(topo, 'shop', ['order.created'])).toEqual(['orders'])
    expect(route(topo, 'shop', ['order.created', 'x.eu'])).toEqual(['eu', 'orders'])
    expect(route(topo, 'shop', ['unmatched'])).toEqual(['audit'])
    expect(route(topo, 'dlx', undefined)).toEqual(['audit', 'orders.dlq'])
    expect(route(topo, 'hdr', ['x'], { region: 'eu' })).toEqual(['eu'])
    expect(route(topo, 'hdr', ['x'], { region: 'us' })).toEqual([])
    expect(route(topo, 'missing', ['x'])).toEqual([])
  })

  it('finds dead-letter queues from DLX arguments/policies (with their sources) and by name', () => {
    const t = deadLetterTargets(topo)
    expect([...t.get('orders.dlq')!.sources]).toEqual(['orders'])
    expect([...t.get('orders.dlq')!.dlxs]).toEqual(['dlx'])
    expect([...t.get('audit')!.sources]).toEqual(['orders'])
    expect([...t.get('payments.dlq')!.sources]).toEqual(['payments'])
    expect([...t.get('payments.dlq')!.dlxs]).toEqual(['(default)'])
    expect(t.get('parking-lot')).toMatchObject({ byName: true })
    expect(t.has('eu')).toBe(false)
  })
})
