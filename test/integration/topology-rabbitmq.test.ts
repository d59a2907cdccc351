// The topology designer against a real RabbitMQ 3.10 node on loopback:
//  - the route tester (topology.route: the broker's routing code on a sandbox of the design) answers what RabbitMQ
//    really does for the same topology and messages: topic wildcards, headers x-match, alternate exchanges,
//    exchange-to-exchange bindings, the default exchange;
//  - a definitions file exported by RabbitMQ, applied to the embedded broker through topology.plan/apply, exports
//    again as the same topology;
//  - the same design applied to RabbitMQ through its profile gives the same definitions as on the embedded broker.
import amqp from 'amqplib'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchCommand, type CommandHandlers, type RabbitDefinitions, type RouteResult, type TopologyDesign } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { importText } from '../../main/console/topology/definitions'
import { startRabbitMQNode, type RabbitMQNode } from '../e2e/helpers/rabbitmq'
import { startHttpBroker, type HttpBroker } from '../helpers/http'

let rabbit: RabbitMQNode
let embedded: HttpBroker
let service: ConsoleService
let handlers: CommandHandlers
let rabbitProfileId: string

async function run<T>(name: string, request: unknown): Promise<T> {
  const r = await dispatchCommand(handlers, name, request)
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
  return r.value as T
}

async function rabbitApi(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(rabbit.managementUrl.replace(/\/$/, '') + path, {
    method,
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

beforeAll(async () => {
  ;[rabbit, embedded] = await Promise.all([startRabbitMQNode(), startHttpBroker()])
  const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl: embedded.amqpUrl.replace('guest:guest@', ''), managementUrl: embedded.apiBase })
  service = createConsoleService({ profiles, emit: () => {} })
  handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  const added = profiles.add({ name: 'rabbit', amqpUrl: rabbit.amqpUrl, managementUrl: rabbit.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })
  rabbitProfileId = added.id
}, 180_000)

afterAll(async () => {
  await service?.close()
  await embedded?.handle.close()
  await rabbit?.stop()
})

// ---------------------------------------------------------------------------------------------------------------
// The routing topology: every exchange and queue named with a prefix so runs never collide.

const P = `rt${randomBytes(3).toString('hex')}-`
const X = (n: string) => P + n
const ex = (name: string, type: string, args: Record<string, string> = {}) => ({ name: X(name), type, durable: false, autoDelete: false, internal: false, arguments: args })
const qu = (name: string) => ({ name: X(name), durable: false, autoDelete: false, arguments: {} })
const bq = (source: string, dest: string, key = '', args: Record<string, string | number> = {}) => ({ source: X(source), destination: X(dest), destinationType: 'queue' as const, routingKey: key, arguments: args })
const be = (source: string, dest: string, key = '', args: Record<string, string | number> = {}) => ({ source: X(source), destination: X(dest), destinationType: 'exchange' as const, routingKey: key, arguments: args })

const routing: TopologyDesign = {
  format: 'warren-topology',
  version: 1,
  vhost: '/',
  exchanges: [
    ex('topic', 'topic'),
    ex('headers', 'headers'),
    ex('direct', 'direct', { 'alternate-exchange': X('ae') }),
    ex('ae', 'fanout'),
    ex('fan', 'fanout'),
    ex('hop', 'direct'),
    ex('hop-ae', 'direct', { 'alternate-exchange': X('ae2') }),
    ex('ae2', 'fanout'),
    ex('loop1', 'fanout'),
    ex('loop2', 'fanout'),
  ],
  queues: ['orange', 'rabbit', 'lazy', 'end', 'az', 'empty', 'h-all', 'h-any', 'h-one', 'red', 'redgreen', 'unrouted', 'fan', 'hop', 'unrouted2', 'loop'].map(qu),
  bindings: [
    bq('topic', 'orange', '*.orange.*'),
    bq('topic', 'rabbit', '*.*.rabbit'),
    bq('topic', 'lazy', 'lazy.#'),
    bq('topic', 'end', '#.end'),
    bq('topic', 'az', 'a.#.z'),
    bq('topic', 'empty', ''),
    bq('headers', 'h-all', '', { 'x-match': 'all', format: 'pdf', type: 'report' }),
    bq('headers', 'h-any', '', { 'x-match': 'any', format: 'pdf', type: 'log' }),
    bq('headers', 'h-one', '', { region: 'eu' }),
    bq('direct', 'red', 'red'),
    bq('direct', 'redgreen', 'red'),
    bq('direct', 'redgreen', 'green'),
    bq('ae', 'unrouted'),
    bq('fan', 'fan'),
    be('fan', 'topic'),
    be('fan', 'headers'),
    be('hop', 'direct', 'blue'),
    be('hop', 'topic', 'lazy.hop'),
    bq('hop', 'hop', 'blue'),
    be('hop', 'hop-ae', 'lazy.hop'),
    bq('hop-ae', 'red', 'only-this'),
    bq('ae2', 'unrouted2'),
    be('loop1', 'loop2'),
    be('loop2', 'loop1'),
    bq('loop2', 'loop'),
  ],
  layout: {},
}

interface Case {
  exchange: string
  key: string
  headers?: Record<string, string | number>
}
const cases: Case[] = [
  // topic wildcards
  { exchange: 'topic', key: 'quick.orange.rabbit' },
  { exchange: 'topic', key: 'lazy.orange.elephant' },
  { exchange: 'topic', key: 'quick.orange.fox' },
  { exchange: 'topic', key: 'lazy.brown.fox' },
  { exchange: 'topic', key: 'lazy.pink.rabbit' },
  { exchange: 'topic', key: 'quick.brown.fox' },
  { exchange: 'topic', key: 'orange' },
  { exchange: 'topic', key: 'quick.orange.new.rabbit' },
  { exchange: 'topic', key: 'lazy' },
  { exchange: 'topic', key: 'lazy.' },
  { exchange: 'topic', key: 'end' },
  { exchange: 'topic', key: 'the.very.end' },
  { exchange: 'topic', key: 'a.z' },
  { exchange: 'topic', key: 'a.b.c.z' },
  { exchange: 'topic', key: 'a.b.c.z.end' },
  { exchange: 'topic', key: '' },
  { exchange: 'topic', key: '.orange.' },
  // headers x-match
  { exchange: 'headers', key: '', headers: { format: 'pdf', type: 'report' } },
  { exchange: 'headers', key: '', headers: { format: 'pdf', type: 'log' } },
  { exchange: 'headers', key: '', headers: { format: 'zip', type: 'log' } },
  { exchange: 'headers', key: '', headers: { format: 'pdf' } },
  { exchange: 'headers', key: '', headers: { type: 'report' } },
  { exchange: 'headers', key: '', headers: { region: 'eu', format: 'pdf', type: 'report' } },
  { exchange: 'headers', key: '', headers: { region: 'us' } },
  { exchange: 'headers', key: 'ignored', headers: {} },
  // direct + alternate exchange
  { exchange: 'direct', key: 'red' },
  { exchange: 'direct', key: 'green' },
  { exchange: 'direct', key: 'blue' },
  // exchange-to-exchange: fanout into topic and headers
  { exchange: 'fan', key: 'quick.orange.rabbit', headers: { format: 'pdf', type: 'report' } },
  { exchange: 'fan', key: 'nothing.here' },
  // e2e hops with an alternate exchange on the hop
  { exchange: 'hop', key: 'blue' },
  { exchange: 'hop', key: 'lazy.hop' },
  { exchange: 'hop', key: 'none' },
  // an exchange-to-exchange cycle ends
  { exchange: 'loop1', key: 'x' },
  { exchange: 'loop2', key: 'x' },
  // the default exchange
  { exchange: '', key: X('red') },
  { exchange: '', key: X('no-such-queue') },
]

describe('route tester vs RabbitMQ routing', () => {
  it(`answers what RabbitMQ routes, for ${cases.length} messages`, async () => {
    const connection = await amqp.connect(`${rabbit.amqpUrl.replace('amqp://', 'amqp://guest:guest@')}`)
    try {
      const channel = await connection.createConfirmChannel()
      for (const x of routing.exchanges) await channel.assertExchange(x.name, x.type, { durable: false, arguments: x.arguments })
      for (const q of routing.queues) await channel.assertQueue(q.name, { durable: false })
      for (const b of routing.bindings) {
        if (b.destinationType === 'queue') await channel.bindQueue(b.destination, b.source, b.routingKey, b.arguments)
        else await channel.bindExchange(b.destination, b.source, b.routingKey, b.arguments)
      }
      cases.forEach((c, i) => channel.publish(c.exchange === '' ? '' : X(c.exchange), c.key, Buffer.from(String(i)), { messageId: String(i), headers: c.headers }))
      await channel.waitForConfirms()
      const received = new Map<number, Set<string>>(cases.map((_, i) => [i, new Set<string>()]))
      for (const q of routing.queues) {
        for (;;) {
          const m = await channel.get(q.name, { noAck: true })
          if (!m) break
          received.get(Number(m.properties.messageId))!.add(q.name)
        }
      }
      const mismatches: string[] = []
      for (const [i, c] of cases.entries()) {
        const answer = await run<RouteResult>('topology.route', { design: routing, exchange: c.exchange === '' ? '' : X(c.exchange), routingKey: c.key, headers: c.headers })
        expect(answer.warnings).toEqual([])
        const rabbitQueues = [...received.get(i)!].sort()
        if (JSON.stringify(answer.queues) !== JSON.stringify(rabbitQueues)) {
          mismatches.push(`${c.exchange || '(default)'} "${c.key}" ${JSON.stringify(c.headers ?? {})}: RabbitMQ ${JSON.stringify(rabbitQueues)}, route tester ${JSON.stringify(answer.queues)}`)
        }
      }
      expect(mismatches).toEqual([])
      // the cases are not trivial: most reach a queue, some reach several, some none
      const counts = [...received.values()].map((s) => s.size)
      expect(counts.filter((n) => n === 0).length).toBeGreaterThanOrEqual(3)
      expect(counts.filter((n) => n >= 2).length).toBeGreaterThanOrEqual(5)
    } finally {
      await connection.close()
    }
  }, 120_000)

  it('draws the path: exchanges passed, bindings followed, alternate-exchange hops', async () => {
    const viaAe = await run<RouteResult>('topology.route', { design: routing, exchange: X('direct'), routingKey: 'blue' })
    expect(viaAe.queues).toEqual([X('unrouted')])
    expect(viaAe.alternates).toEqual([{ from: X('direct'), to: X('ae') }])
    expect(viaAe.exchanges).toEqual([X('direct'), X('ae')])
    expect(viaAe.bindings.map((i) => routing.bindings[i]!.destination)).toEqual([X('unrouted')])
    const e2e = await run<RouteResult>('topology.route', { design: routing, exchange: X('fan'), routingKey: 'lazy.x', headers: { region: 'eu' } })
    expect(e2e.queues).toEqual([X('fan'), X('h-one'), X('lazy')].sort())
    expect(e2e.exchanges).toEqual(expect.arrayContaining([X('fan'), X('topic'), X('headers')]))
    expect(e2e.bindings.map((i) => routing.bindings[i]!.destination).sort()).toEqual([X('fan'), X('h-one'), X('headers'), X('lazy'), X('topic')].sort())
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Definitions: RabbitMQ → embedded broker → back

/** The topology of one vhost of a definitions file, sorted, for comparing two brokers' exports. */
function topologyOf(defs: RabbitDefinitions, prefix: string): unknown {
  const d = importText(JSON.stringify(defs), '/')
  const sortBy = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)))
  return {
    exchanges: sortBy(
      d.exchanges.filter((x) => x.name.startsWith(prefix)),
      (x) => x.name,
    ),
    queues: sortBy(
      d.queues.filter((q) => q.name.startsWith(prefix)),
      (q) => q.name,
    ),
    bindings: sortBy(
      d.bindings.filter((b) => b.destination.startsWith(prefix)),
      (b) => JSON.stringify(b),
    ),
  }
}

describe('definitions between RabbitMQ and the embedded broker', () => {
  const D = `defs${randomBytes(3).toString('hex')}-`

  it('imports a file RabbitMQ exported, applies it to the embedded broker, and exports the same topology', async () => {
    // a topology declared on RabbitMQ with the features definitions carry
    const connection = await amqp.connect(`${rabbit.amqpUrl.replace('amqp://', 'amqp://guest:guest@')}`)
    try {
      const ch = await connection.createChannel()
      await ch.assertExchange(`${D}orders`, 'topic', { durable: true, alternateExchange: `${D}unrouted` })
      await ch.assertExchange(`${D}unrouted`, 'fanout', { durable: true, internal: true })
      await ch.assertExchange(`${D}dlx`, 'direct', { durable: true })
      await ch.assertExchange(`${D}match`, 'headers', { durable: true })
      await ch.assertQueue(`${D}eu`, { durable: true, arguments: { 'x-message-ttl': 60000, 'x-dead-letter-exchange': `${D}dlx`, 'x-dead-letter-routing-key': 'dead', 'x-max-length': 1000, 'x-overflow': 'reject-publish' } })
      await ch.assertQueue(`${D}dead`, { durable: true })
      await ch.assertQueue(`${D}prio`, { durable: true, arguments: { 'x-max-priority': 10 } })
      await ch.assertQueue(`${D}lost`, { durable: true })
      // classic only: the embedded broker has no quorum queues
      await ch.assertQueue(`${D}votes`, { durable: true, arguments: { 'x-single-active-consumer': true } })
      await ch.bindQueue(`${D}eu`, `${D}orders`, 'eu.#')
      await ch.bindQueue(`${D}prio`, `${D}orders`, '*.urgent')
      await ch.bindQueue(`${D}dead`, `${D}dlx`, 'dead')
      await ch.bindQueue(`${D}lost`, `${D}unrouted`, '')
      await ch.bindQueue(`${D}votes`, `${D}match`, '', { 'x-match': 'any', kind: 'vote', weight: 2 })
      await ch.bindExchange(`${D}match`, `${D}orders`, 'votes.*')
      await ch.bindExchange(`${D}orders`, 'amq.topic', 'shop.#')
    } finally {
      await connection.close()
    }
    const exported = (await rabbitApi('GET', '/api/definitions')) as RabbitDefinitions
    const text = JSON.stringify(exported)

    // the console: open the file, plan against the embedded broker (without pruning anything else), apply
    await run('profiles.activate', { id: 'embedded' })
    const design = await run<TopologyDesign>('topology.import', { text })
    const plan = await run<{ steps: { kind: string }[]; confirmationRequired: boolean }>('topology.plan', { design, prune: false })
    expect(plan.steps.length).toBeGreaterThanOrEqual(5 + 4 + 7)
    expect(plan.steps.every((s) => s.kind === 'create')).toBe(true)
    const result = await run<{ completed: boolean; failed?: unknown }>('topology.apply', { plan })
    expect(result.failed).toBeUndefined()
    expect(result.completed).toBe(true)

    // export again, from the embedded broker's own /api/definitions
    const again = (await embedded.get('/api/definitions')).body as RabbitDefinitions
    expect(topologyOf(again, D)).toEqual(topologyOf(exported, D))
    // nothing left to do
    const replan = await run<{ steps: unknown[] }>('topology.plan', { design, prune: false })
    expect(replan.steps).toEqual([])
  }, 60_000)

  it('applies one design to the embedded broker and to RabbitMQ: both export the same definitions', async () => {
    const S = `same${randomBytes(3).toString('hex')}-`
    const design: TopologyDesign = {
      format: 'warren-topology',
      version: 1,
      vhost: '/',
      exchanges: [
        { name: `${S}in`, type: 'topic', durable: true, autoDelete: false, internal: false, arguments: { 'alternate-exchange': `${S}ae` } },
        { name: `${S}ae`, type: 'fanout', durable: true, autoDelete: false, internal: false, arguments: {} },
        { name: `${S}dlx`, type: 'direct', durable: true, autoDelete: false, internal: false, arguments: {} },
      ],
      queues: [
        { name: `${S}work`, durable: true, autoDelete: false, arguments: { 'x-dead-letter-exchange': `${S}dlx`, 'x-message-ttl': 30000 } },
        { name: `${S}dead`, durable: true, autoDelete: false, arguments: {} },
        { name: `${S}other`, durable: true, autoDelete: false, arguments: { 'x-max-length': 10 } },
      ],
      bindings: [
        { source: `${S}in`, destination: `${S}work`, destinationType: 'queue', routingKey: 'job.*', arguments: {} },
        { source: `${S}ae`, destination: `${S}other`, destinationType: 'queue', routingKey: '', arguments: {} },
        { source: `${S}dlx`, destination: `${S}dead`, destinationType: 'queue', routingKey: 'job.x', arguments: {} },
      ],
      layout: {},
    }
    const exports: unknown[] = []
    for (const profile of ['embedded', rabbitProfileId]) {
      await run('profiles.activate', { id: profile })
      const plan = await run<{ steps: unknown[] }>('topology.plan', { design, prune: false })
      expect(plan.steps).toHaveLength(9)
      expect(await run<{ completed: boolean }>('topology.apply', { plan })).toMatchObject({ completed: true })
      const live = await run<{ design: TopologyDesign; stats: Record<string, { messages?: number }> }>('topology.live', {})
      expect(live.stats[`queue:${S}work`]).toMatchObject({ messages: 0 })
      exports.push(topologyOf(profile === 'embedded' ? ((await embedded.get('/api/definitions')).body as RabbitDefinitions) : ((await rabbitApi('GET', '/api/definitions')) as RabbitDefinitions), S))
    }
    expect(exports[1]).toEqual(exports[0])
    expect((exports[0] as { queues: unknown[] }).queues).toHaveLength(3)
  }, 60_000)

  it('recreates a queue whose arguments changed only after the loss is accepted, and stops at the first failure', async () => {
    await run('profiles.activate', { id: 'embedded' })
    const R = `re${randomBytes(3).toString('hex')}-`
    const base: TopologyDesign = {
      format: 'warren-topology',
      version: 1,
      vhost: '/',
      exchanges: [],
      queues: [{ name: `${R}q`, durable: true, autoDelete: false, arguments: {} }],
      bindings: [],
      layout: {},
    }
    await run('topology.apply', { plan: await run('topology.plan', { design: base, prune: false }) })
    await run('messages.publish', { vhost: '/', exchange: '', routingKey: `${R}q`, properties: {}, body: 'x', bodyEncoding: 'text', repeat: 3 })
    const changed = { ...base, queues: [{ ...base.queues[0]!, arguments: { 'x-max-length': 5 } }] }
    const plan = await run<{ steps: { kind: string; messagesLost: number }[]; confirmationRequired: boolean; messagesLost: number }>('topology.plan', { design: changed, prune: false })
    expect(plan.steps).toMatchObject([{ kind: 'recreate', messagesLost: 3 }])
    expect(plan.confirmationRequired).toBe(true)
    const refused = await dispatchCommand(handlers, 'topology.apply', { plan })
    expect(refused).toMatchObject({ ok: false, error: { code: 'CONFIRMATION_REQUIRED' } })
    expect(await run('topology.apply', { plan, acceptLoss: true })).toMatchObject({ completed: true })
    const live = await run<{ design: TopologyDesign }>('topology.live', {})
    expect(live.design.queues.find((q) => q.name === `${R}q`)?.arguments).toEqual({ 'x-max-length': 5 })

    // a step the broker refuses: a binding from an exchange that does not exist
    const bad = {
      ...changed,
      queues: [...changed.queues, { name: `${R}later`, durable: true, autoDelete: false, arguments: {} }],
      bindings: [{ source: `${R}missing`, destination: `${R}q`, destinationType: 'queue', routingKey: 'k', arguments: {} }],
    }
    const badPlan = await run<{ steps: { description: string }[] }>('topology.plan', { design: bad, prune: false })
    const failed = await run<{ completed: boolean; failed: { index: number; description: string; error: { replyCode?: number; message: string } }; results: { status: string }[] }>('topology.apply', { plan: badPlan })
    expect(failed.completed).toBe(false)
    expect(failed.failed.description).toContain(`${R}missing`)
    expect(failed.failed.error.replyCode).toBe(404)
    expect(failed.results.map((r) => r.status)).toEqual(['done', 'failed'])
  }, 60_000)
})
