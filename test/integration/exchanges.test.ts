// Exchanges: types and routing, predeclared exchanges, declare/delete rules, e2e bindings.
// Expectations (including reply texts) checked against RabbitMQ 3.10.8.
import type { Channel, ConfirmChannel } from 'amqplib'
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { uniq } from '../helpers/broker'
import { channel, closed, confirmChannel, connect, connectWithChannel, expectClose, expectConnectionClose } from '../helpers/amqp'

const ctx = useBroker()

type Binding = [label: string, key: string, args?: Record<string, unknown>]

/** Drain a queue with basic.get (noAck), returning message bodies. */
async function drain(ch: Channel, q: string): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const m = await ch.get(q, { noAck: true })
    if (!m) return out
    out.push(m.content.toString())
  }
}

/**
 * Bind one exclusive queue per label to `exchange`, publish each message (body = its id) with
 * confirms, and return label → bodies received (sorted).
 */
async function route(
  ch: ConfirmChannel,
  exchange: string,
  bindings: Binding[],
  messages: Array<{ id: string; key: string; headers?: Record<string, unknown> }>,
): Promise<Record<string, string[]>> {
  const queues: Record<string, string> = {}
  for (const [label, key, args] of bindings) {
    if (!queues[label]) queues[label] = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(queues[label]!, exchange, key, args)
  }
  for (const m of messages) ch.publish(exchange, m.key, Buffer.from(m.id), { headers: m.headers })
  await ch.waitForConfirms()
  const out: Record<string, string[]> = {}
  for (const [label, q] of Object.entries(queues)) out[label] = (await drain(ch, q)).sort()
  return out
}

describe('exchange types', () => {
  it('direct routes by exact key, to every matching queue', async () => {
    const { ch: _c, conn } = await connectWithChannel(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { autoDelete: false, durable: false })
    const got = await route(
      ch,
      x,
      [
        ['a', 'k1'],
        ['b', 'k1'],
        ['c', 'k2'],
        ['c', 'k3'],
        ['e', ''],
      ],
      [
        { id: 'm1', key: 'k1' },
        { id: 'm2', key: 'k2' },
        { id: 'm3', key: 'k3' },
        { id: 'm4', key: 'K1' },
        { id: 'm5', key: '' },
      ],
    )
    expect(got).toEqual({ a: ['m1'], b: ['m1'], c: ['m2', 'm3'], e: ['m5'] })
  })

  it('a queue bound twice with different keys gets one copy of a message that matches both', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'topic', { durable: false })
    const got = await route(
      ch,
      x,
      [
        ['a', 'a.*'],
        ['a', '*.b'],
        ['a', '#'],
      ],
      [{ id: 'm1', key: 'a.b' }],
    )
    expect(got).toEqual({ a: ['m1'] })
  })

  it('fanout ignores the routing key', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'fanout', { durable: false })
    const got = await route(
      ch,
      x,
      [
        ['a', ''],
        ['b', 'whatever'],
      ],
      [
        { id: 'm1', key: '' },
        { id: 'm2', key: 'zzz' },
      ],
    )
    expect(got).toEqual({ a: ['m1', 'm2'], b: ['m1', 'm2'] })
  })

  it('topic: *, #, # alone, a.#.b, empty words and the empty key', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'topic', { durable: false })
    const patterns = ['a.*', 'a.#', '#', '*', 'a.#.b', '#.b', 'a.*.b', '*.*', 'a..b', '', 'a.b', '#.#', 'a.#.#.b', '*.#']
    const keys = ['a', 'a.b', 'a.x.b', 'a.x.y.b', 'b', '', 'a..b', 'a.b.c', 'x.b', 'a.']
    const got = await route(
      ch,
      x,
      patterns.map((p) => [`p:${p}`, p] as Binding),
      keys.map((k) => ({ id: `k:${k}`, key: k })),
    )
    const expected: Record<string, string[]> = {
      'p:a.*': ['a.b', 'a.'],
      'p:a.#': ['a', 'a.b', 'a.x.b', 'a.x.y.b', 'a..b', 'a.b.c', 'a.'],
      'p:#': keys,
      'p:*': ['a', 'b'],
      'p:a.#.b': ['a.b', 'a.x.b', 'a.x.y.b', 'a..b'],
      'p:#.b': ['a.b', 'a.x.b', 'a.x.y.b', 'b', 'a..b', 'x.b'],
      'p:a.*.b': ['a.x.b', 'a..b'],
      'p:*.*': ['a.b', 'x.b', 'a.'],
      'p:a..b': ['a..b'],
      'p:': [''],
      'p:a.b': ['a.b'],
      'p:#.#': keys,
      'p:a.#.#.b': ['a.b', 'a.x.b', 'a.x.y.b', 'a..b'],
      'p:*.#': keys.filter((k) => k !== ''),
    }
    const want: Record<string, string[]> = {}
    for (const [p, ks] of Object.entries(expected)) want[p] = ks.map((k) => `k:${k}`).sort()
    expect(got).toEqual(want)
  })

  it('headers: x-match all/any (default all), all-with-x/any-with-x, x- headers ignored by all/any', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'headers', { durable: false })
    const got = await route(
      ch,
      x,
      [
        ['all', '', { 'x-match': 'all', h1: 'v1', h2: 'v2' }],
        ['any', '', { 'x-match': 'any', h1: 'v1', h2: 'v2' }],
        ['dflt', '', { h1: 'v1' }],
        ['ignx', '', { 'x-match': 'all', 'x-foo': 'bar', h1: 'v1' }],
        ['anyIgnx', '', { 'x-match': 'any', 'x-foo': 'bar', h9: 'q' }],
        ['allx', '', { 'x-match': 'all-with-x', 'x-foo': 'bar', h1: 'v1' }],
        ['anyx', '', { 'x-match': 'any-with-x', 'x-foo': 'bar', h9: 'q' }],
        ['empty', '', {}],
      ],
      [
        { id: 'm1', key: 'rk', headers: { h1: 'v1', h2: 'v2' } },
        { id: 'm2', key: 'rk', headers: { h1: 'v1' } },
        { id: 'm3', key: 'rk', headers: { h2: 'v2', h3: 'z' } },
        { id: 'm4', key: 'rk', headers: {} },
        { id: 'm5', key: 'rk', headers: { h1: 'v1', 'x-foo': 'bar' } },
        { id: 'm6', key: 'rk', headers: { 'x-foo': 'bar' } },
        { id: 'm7', key: 'rk', headers: { h1: 'v2' } },
      ],
    )
    expect(got).toEqual({
      all: ['m1'],
      any: ['m1', 'm2', 'm3', 'm5'],
      dflt: ['m1', 'm2', 'm5'],
      ignx: ['m1', 'm2', 'm5'],
      anyIgnx: [],
      allx: ['m5'],
      anyx: ['m5', 'm6'],
      empty: ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'],
    })
  })

  it('topic with 10k bindings still routes correctly and quickly', async () => {
    const conn = await connect(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    const setup = await channel(conn)
    await setup.assertExchange(x, 'topic', { durable: false })
    const N = 10_000
    const Q = 8
    const queues: string[] = []
    for (let i = 0; i < Q; i++) queues.push((await setup.assertQueue('', { exclusive: true })).queue)
    // bind in parallel over several channels (amqplib serialises RPCs per channel)
    const chans = await Promise.all(Array.from({ length: 8 }, () => channel(conn)))
    await Promise.all(
      chans.map(async (c, ci) => {
        for (let i = ci; i < N; i += chans.length) {
          const pattern = i % 3 === 0 ? `s.${i}.*` : i % 3 === 1 ? `s.${i}.#` : `*.${i}.z`
          await c.bindQueue(queues[i % Q]!, x, pattern)
        }
      }),
    )
    const pub = await confirmChannel(conn)
    const expected: Record<string, string[]> = {}
    for (const q of queues) expected[q] = []
    const t0 = Date.now()
    for (let j = 0; j < 300; j++) {
      const i = (j * 7919) % N
      const key = i % 3 === 0 ? `s.${i}.y` : i % 3 === 1 ? `s.${i}.y.w` : `q.${i}.z`
      pub.publish(x, key, Buffer.from(String(j)))
      expected[queues[i % Q]!]!.push(String(j))
    }
    // and some that match nothing
    for (let j = 0; j < 50; j++) pub.publish(x, `nope.${j}`, Buffer.from('x'))
    await pub.waitForConfirms()
    const elapsed = Date.now() - t0
    for (const q of queues) expect((await drain(pub, q)).sort()).toEqual(expected[q]!.sort())
    expect(elapsed).toBeLessThan(5000)
  }, 60_000)
})

describe('predeclared and default exchanges', () => {
  it('amq.direct, amq.fanout, amq.topic, amq.headers, amq.match exist with their types', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    for (const x of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) await ch.checkExchange(x)
    // and they route like their type
    const conn = await connect(ctx.url)
    const cc = await confirmChannel(conn)
    const got = await route(
      cc,
      'amq.topic',
      [['t', `wt.${process.pid}.#`]],
      [
        { id: 'm1', key: `wt.${process.pid}.a.b` },
        { id: 'm2', key: `other.${process.pid}` },
      ],
    )
    expect(got).toEqual({ t: ['m1'] })
    const got2 = await route(cc, 'amq.match', [['h', '', { 'x-match': 'all', wtpid: String(process.pid) }]], [
      { id: 'm1', key: '', headers: { wtpid: String(process.pid) } },
      { id: 'm2', key: '' },
    ])
    expect(got2).toEqual({ h: ['m1'] })
  })

  it('redeclaring a predeclared exchange with identical properties is ok; with another type → 406', async () => {
    // RabbitMQ 3.10.8 checks equivalence of an existing exchange before the amq. prefix rule.
    const { ch } = await connectWithChannel(ctx.url)
    await ch.assertExchange('amq.direct', 'direct', { durable: true })
    const info = await expectClose(ch.assertExchange('amq.direct', 'fanout', { durable: true }))
    expect(info.code).toBe(406)
    expect(info.message).toContain("inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'fanout' but current is 'direct'")
  })

  it('the default exchange routes by queue name and nothing else', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    ch.publish('', q, Buffer.from('hit'))
    ch.publish('', q + '.nope', Buffer.from('miss'))
    await ch.waitForConfirms()
    expect(await drain(ch, q)).toEqual(['hit'])
  })

  it('binding a queue to the default exchange is refused with 403', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    const info = await expectClose(ch.bindQueue(q, '', 'foo'))
    expect(info.code).toBe(403)
    expect(info.message).toContain('ACCESS_REFUSED - operation not permitted on the default exchange')
  })

  it('deleting the default exchange is refused with 403', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const info = await expectClose(ch.deleteExchange(''))
    expect(info.code).toBe(403)
  })
})

describe('exchange declare / delete', () => {
  it('declare, passive declare, and passive declare of a missing exchange → 404', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { durable: false })
    await ch.checkExchange(x)
    const missing = uniq('missing')
    const info = await expectClose(ch.checkExchange(missing))
    expect(info.code).toBe(404)
    expect(info.message).toContain(`NOT_FOUND - no exchange '${missing}' in vhost '/'`)
    expect([info.classId, info.methodId]).toEqual([40, 10])
  })

  it('redeclare with the same properties is ok; with a different type → 406 with the reply text', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { durable: false })
    await ch.assertExchange(x, 'direct', { durable: false })
    const info = await expectClose(ch.assertExchange(x, 'fanout', { durable: false }))
    expect(info.code).toBe(406)
    expect(info.message).toContain(
      `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'fanout' but current is 'direct'`,
    )
  })

  it('redeclare with a different durable flag → 406', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { durable: false })
    const info = await expectClose(ch.assertExchange(x, 'direct', { durable: true }))
    expect(info.code).toBe(406)
    expect(info.message).toContain(`inequivalent arg 'durable' for exchange '${x}' in vhost '/': received 'true' but current is 'false'`)
  })

  it('declaring an amq.-prefixed name → 403 ACCESS_REFUSED', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const name = 'amq.wt-' + uniq()
    const info = await expectClose(ch.assertExchange(name, 'direct'))
    expect(info.code).toBe(403)
    expect(info.message).toContain(`ACCESS_REFUSED - exchange name '${name}' contains reserved prefix 'amq.*'`)
  })

  it('passive declare of an amq.-prefixed missing name → 404 (passive skips the prefix check)', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const info = await expectClose(ch.checkExchange('amq.wt-' + uniq()))
    expect(info.code).toBe(404)
  })

  it('unknown exchange type → 503 COMMAND_INVALID connection close', async () => {
    const conn = await connect(ctx.url)
    const ch = await channel(conn)
    const info = await expectConnectionClose(conn, ch.assertExchange(uniq('x'), 'x-no-such-type'))
    expect(info.code).toBe(503)
    expect(info.message).toContain("COMMAND_INVALID - unknown exchange type 'x-no-such-type'")
  })

  it('delete if-unused on a bound exchange → 406; unbound → ok', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { durable: false })
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, x, 'k')
    const info = await expectClose(ch.deleteExchange(x, { ifUnused: true }))
    expect(info.code).toBe(406)
    expect(info.message).toContain(`PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`)
    const { ch: ch2 } = await connectWithChannel(ctx.url)
    await ch2.checkExchange(x)
    await ch2.unbindQueue(q, x, 'k').catch(() => undefined)
    // q belongs to the first connection; the binding still exists there, so unbind from a channel of that connection
  })

  it('delete if-unused succeeds once the bindings are gone; the exchange is then missing', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { durable: false })
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, x, 'k')
    await ch.unbindQueue(q, x, 'k')
    await ch.deleteExchange(x, { ifUnused: true })
    const ch2 = await channel(conn)
    expect((await expectClose(ch2.checkExchange(x))).code).toBe(404)
  })

  it('an exchange that is only the source of an e2e binding is "in use" for if-unused', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const src = ctx.cleanup.x(uniq('src'))
    const dst = ctx.cleanup.x(uniq('dst'))
    await ch.assertExchange(src, 'fanout', { durable: false })
    await ch.assertExchange(dst, 'fanout', { durable: false })
    await ch.bindExchange(dst, src, '')
    // the destination of an exchange binding is not "in use"
    await ch.deleteExchange(dst, { ifUnused: true })
    await ch.assertExchange(dst, 'fanout', { durable: false })
    await ch.bindExchange(dst, src, '')
    const info = await expectClose(ch.deleteExchange(src, { ifUnused: true }))
    expect(info.code).toBe(406)
  })

  it('deleting a missing exchange is ok', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    await ch.deleteExchange(uniq('missing'))
    await ch.deleteExchange(uniq('missing'), { ifUnused: true })
    await ch.checkExchange('amq.direct')
  })

  it('durable exchange declare works and is reported by passive declare', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'topic', { durable: true })
    await ch.checkExchange(x)
    // same properties again
    await ch.assertExchange(x, 'topic', { durable: true })
  })

  it('auto-delete exchange stays while never bound, is deleted when its last binding goes', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'direct', { durable: false, autoDelete: true })
    await ch.checkExchange(x)
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, x, 'a')
    await ch.bindQueue(q, x, 'b')
    await ch.unbindQueue(q, x, 'a')
    await ch.checkExchange(x)
    await ch.unbindQueue(q, x, 'b')
    const info = await expectClose(ch.checkExchange(x))
    expect(info.code).toBe(404)
    void conn
  })

  it('auto-delete exchange is deleted when its bound queue is deleted', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const x = ctx.cleanup.x(uniq('x'))
    await ch.assertExchange(x, 'fanout', { durable: false, autoDelete: true })
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, x, '')
    await ch.deleteQueue(q)
    const ch2 = await channel(conn)
    expect((await expectClose(ch2.checkExchange(x))).code).toBe(404)
  })

  it('publishing to an internal exchange → 403; it still routes via an e2e binding', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const internal = ctx.cleanup.x(uniq('int'))
    const front = ctx.cleanup.x(uniq('front'))
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true })
    await ch.assertExchange(front, 'fanout', { durable: false })
    await ch.bindExchange(internal, front, '')
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, internal, '')
    const cc = await confirmChannel(conn)
    cc.publish(front, '', Buffer.from('via-front'))
    await cc.waitForConfirms()
    expect(await drain(cc, q)).toEqual(['via-front'])

    const pubCh = await channel(conn)
    pubCh.publish(internal, '', Buffer.from('direct-to-internal'))
    const info = await closed(pubCh)
    expect(info.code).toBe(403)
    expect(info.message).toContain(`ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`)
    expect([info.classId, info.methodId]).toEqual([60, 40])
  })
})

describe('exchange-to-exchange bindings', () => {
  it('route through chains, honour keys, and unbindExchange stops routing', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const a = ctx.cleanup.x(uniq('a'))
    const b = ctx.cleanup.x(uniq('b'))
    const c = ctx.cleanup.x(uniq('c'))
    await ch.assertExchange(a, 'topic', { durable: false })
    await ch.assertExchange(b, 'direct', { durable: false })
    await ch.assertExchange(c, 'fanout', { durable: false })
    await ch.bindExchange(b, a, 'k.#') // a --k.#--> b
    await ch.bindExchange(c, b, 'k.1') // b --k.1--> c
    const qb = (await ch.assertQueue('', { exclusive: true })).queue
    const qc = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(qb, b, 'k.2')
    await ch.bindQueue(qc, c, '')
    ch.publish(a, 'k.1', Buffer.from('one'))
    ch.publish(a, 'k.2', Buffer.from('two'))
    ch.publish(a, 'z.1', Buffer.from('none'))
    await ch.waitForConfirms()
    expect(await drain(ch, qb)).toEqual(['two'])
    expect(await drain(ch, qc)).toEqual(['one'])
    await ch.unbindExchange(b, a, 'k.#')
    ch.publish(a, 'k.1', Buffer.from('one-again'))
    await ch.waitForConfirms()
    expect(await drain(ch, qc)).toEqual([])
  })

  it('a queue reachable by two paths (and a cycle) receives one copy', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const a = ctx.cleanup.x(uniq('a'))
    const b = ctx.cleanup.x(uniq('b'))
    await ch.assertExchange(a, 'fanout', { durable: false })
    await ch.assertExchange(b, 'fanout', { durable: false })
    await ch.bindExchange(b, a, '')
    await ch.bindExchange(a, b, '') // cycle
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, a, '')
    await ch.bindQueue(q, b, '')
    ch.publish(a, '', Buffer.from('once'))
    await ch.waitForConfirms()
    expect(await drain(ch, q)).toEqual(['once'])
  })

  it('bindExchange with a missing source or destination → 404', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const info = await expectClose(ch.bindExchange('amq.fanout', uniq('missing'), ''))
    expect(info.code).toBe(404)
    const { ch: ch2 } = await connectWithChannel(ctx.url)
    const info2 = await expectClose(ch2.bindExchange(uniq('missing'), 'amq.fanout', ''))
    expect(info2.code).toBe(404)
  })
})
