// Core scenarios: routing per exchange type, bindings, declare/delete errors, acks and requeue order, basic.get
// counts, confirms, mandatory returns, exclusivity.
import type { Channel, GetMessage } from 'amqplib'
import type { Scenario, TestBed } from '../harness'

const s = (name: string, run: (t: TestBed) => Promise<unknown>): Scenario => ({ name, run })

async function queues(t: TestBed, ch: Channel, names: string[]): Promise<string[]> {
  const out: string[] = []
  for (const name of names) out.push((await ch.assertQueue(t.n(name), { durable: false })).queue)
  return out
}

async function drainAll(t: TestBed, ch: Channel, names: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const name of names) out[name] = (await t.drain(ch, t.n(name))).map((m) => (m as { body: string }).body)
  return out
}

export const coreScenarios: Scenario[] = [
  s('direct-routing-and-multiple-bindings', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    const [a, b] = await queues(t, ch, ['a', 'b'])
    await ch.bindQueue(a, ex, 'k1')
    await ch.bindQueue(a, ex, 'k2')
    await ch.bindQueue(b, ex, 'k1')
    for (const key of ['k1', 'k2', 'k3']) ch.publish(ex, key, Buffer.from(key))
    await t.sleep(30)
    return await drainAll(t, ch, ['a', 'b'])
  }),
  s('fanout-routing-ignores-key', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'fanout', { durable: false })
    const [a, b] = await queues(t, ch, ['a', 'b'])
    await ch.bindQueue(a, ex, 'whatever')
    await ch.bindQueue(b, ex, '')
    ch.publish(ex, 'x', Buffer.from('1'))
    ch.publish(ex, '', Buffer.from('2'))
    await t.sleep(30)
    return await drainAll(t, ch, ['a', 'b'])
  }),
  s('topic-routing-patterns', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'topic', { durable: false })
    const patterns: Record<string, string> = { star: 'a.*', hash: 'a.#', mid: '*.b.*', all: '#', exact: 'a.b', empty: '', tail: '#.z' }
    for (const [name, pattern] of Object.entries(patterns)) {
      const [q] = await queues(t, ch, [name])
      await ch.bindQueue(q, ex, pattern)
    }
    for (const key of ['a', 'a.b', 'a.b.c', 'x.b.y', '', 'q.z', 'z', 'a..b']) ch.publish(ex, key, Buffer.from(key))
    await t.sleep(50)
    return await drainAll(t, ch, Object.keys(patterns))
  }),
  s('headers-routing-all-and-any', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'headers', { durable: false })
    const [all, any, none] = await queues(t, ch, ['all', 'any', 'none'])
    await ch.bindQueue(all, ex, '', { 'x-match': 'all', a: '1', b: '2' })
    await ch.bindQueue(any, ex, '', { 'x-match': 'any', a: '1', b: '2' })
    await ch.bindQueue(none, ex, '', {})
    ch.publish(ex, '', Buffer.from('ab'), { headers: { a: '1', b: '2' } })
    ch.publish(ex, '', Buffer.from('a'), { headers: { a: '1' } })
    ch.publish(ex, '', Buffer.from('wrong'), { headers: { a: '2', b: '3' } })
    ch.publish(ex, '', Buffer.from('no-headers'))
    await t.sleep(50)
    return await drainAll(t, ch, ['all', 'any', 'none'])
  }),
  s('exchange-to-exchange-binding', async (t) => {
    const ch = await t.channel()
    const src = t.n('src')
    const dst = t.n('dst')
    await ch.assertExchange(src, 'topic', { durable: false })
    await ch.assertExchange(dst, 'direct', { durable: false })
    await ch.bindExchange(dst, src, 'a.*')
    const [q] = await queues(t, ch, ['q'])
    await ch.bindQueue(q, dst, 'a.b')
    ch.publish(src, 'a.b', Buffer.from('yes'))
    ch.publish(src, 'a.c', Buffer.from('no'))
    await ch.unbindExchange(dst, src, 'a.*')
    ch.publish(src, 'a.b', Buffer.from('after-unbind'))
    await t.sleep(30)
    return await drainAll(t, ch, ['q'])
  }),
  s('default-exchange-routes-by-queue-name', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    ch.publish('', q, Buffer.from('m'), { headers: { x: 1 } })
    await t.sleep(20)
    return await t.drain(ch, q)
  }),
  s('unbind-stops-routing', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    const [q] = await queues(t, ch, ['q'])
    await ch.bindQueue(q, ex, 'k')
    ch.publish(ex, 'k', Buffer.from('1'))
    await ch.unbindQueue(q, ex, 'k')
    ch.publish(ex, 'k', Buffer.from('2'))
    await t.sleep(30)
    return await drainAll(t, ch, ['q'])
  }),
  s('exchange-redeclare-inequivalent-type', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    return await t.attempt(() => ch.assertExchange(ex, 'fanout', { durable: false }))
  }),
  s('exchange-redeclare-inequivalent-durable', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    return await t.attempt(() => ch.assertExchange(ex, 'direct', { durable: true }))
  }),
  s('redeclare-ignores-unknown-arguments', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    const ex = t.n('ex')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-custom': 1 } })
    await ch.assertExchange(ex, 'direct', { durable: false, arguments: { 'x-custom': 'a' } })
    const queue = await t.attempt(() => ch.assertQueue(q, { durable: false, arguments: { 'x-custom': 2, other: 'x' } }))
    const exchange = await t.attempt(() => ch.assertExchange(ex, 'direct', { durable: false, arguments: { 'x-custom': 'b' } }))
    return { queue, exchange }
  }),
  s('redeclare-exchange-with-other-alternate-exchange', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false, alternateExchange: 'one' })
    return await t.attempt(() => ch.assertExchange(ex, 'direct', { durable: false, alternateExchange: 'two' }))
  }),
  s('redeclare-queue-without-lifecycle-argument', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 5 } })
    return await t.attempt(() => ch.assertQueue(q, { durable: false }))
  }),
  s('exchange-declare-reserved-name', async (t) => {
    const ch = await t.channel()
    return await t.attempt(() => ch.assertExchange('amq.' + t.n('x'), 'direct', { durable: false }))
  }),
  s('exchange-declare-unknown-type', async (t) => {
    const ch = await t.channel()
    return await t.attempt(() => ch.assertExchange(t.n('ex'), 'nonsense', { durable: false }))
  }),
  s('exchange-passive-missing', async (t) => {
    const ch = await t.channel()
    return await t.attempt(() => ch.checkExchange(t.n('missing')))
  }),
  s('exchange-delete-missing-and-if-unused', async (t) => {
    const ch = await t.channel()
    const missing = await t.attempt(() => ch.deleteExchange(t.n('missing')))
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    const [q] = await queues(t, ch, ['q'])
    await ch.bindQueue(q, ex, 'k')
    const inUse = await t.attempt(() => ch.deleteExchange(ex, { ifUnused: true }))
    return { missing, inUse }
  }),
  s('queue-passive-missing', async (t) => {
    const ch = await t.channel()
    return await t.attempt(() => ch.checkQueue(t.n('missing')))
  }),
  s('queue-redeclare-inequivalent-durable', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    return await t.attempt(() => ch.assertQueue(q, { durable: true }))
  }),
  s('queue-declare-reserved-name', async (t) => {
    const ch = await t.channel()
    return await t.attempt(() => ch.assertQueue('amq.' + t.n('q'), { durable: false }))
  }),
  s('queue-delete-if-empty-and-if-unused', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(20)
    const notEmpty = await t.attempt(() => ch.deleteQueue(q, { ifEmpty: true }))
    const ch2 = await t.channel()
    await ch2.consume(q, () => {}, { noAck: false })
    const ch3 = await t.channel()
    const inUse = await t.attempt(() => ch3.deleteQueue(q, { ifUnused: true }))
    const ch4 = await t.channel()
    const deleted = await ch4.deleteQueue(q)
    return { notEmpty, inUse, deleted }
  }),
  s('queue-declare-ok-counts-and-server-named', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await ch.consume(q, () => {}, { noAck: false })
    await t.sleep(30)
    const again = await ch.assertQueue(q, { durable: false })
    const named = await ch.assertQueue('', { exclusive: true })
    return { again, named }
  }),
  s('bind-errors', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    const missingExchange = await t.attempt(() => ch.bindQueue(q, t.n('missing'), 'k'))
    const ch2 = await t.channel()
    const ex = t.n('ex')
    await ch2.assertExchange(ex, 'direct', { durable: false })
    const missingQueue = await t.attempt(() => ch2.bindQueue(t.n('missing-q'), ex, 'k'))
    const ch3 = await t.channel()
    const defaultExchange = await t.attempt(() => ch3.bindQueue(q, '', 'k'))
    return { missingExchange, missingQueue, defaultExchange }
  }),
  s('publish-to-missing-exchange-closes-channel', async (t) => {
    const ch = await t.channel()
    const closed = t.closeOf(ch)
    ch.publish(t.n('missing'), 'k', Buffer.from('m'))
    return await closed
  }),
  s('publish-to-internal-exchange-refused', async (t) => {
    const ch = await t.channel()
    const ex = t.n('internal')
    await ch.assertExchange(ex, 'fanout', { durable: false, internal: true })
    const closed = t.closeOf(ch)
    ch.publish(ex, '', Buffer.from('m'))
    return await closed
  }),
  s('mandatory-unroutable-is-returned', async (t) => {
    const ch = await t.confirmChannel()
    const returns: unknown[] = []
    ch.on('return', (m) => returns.push({ body: m.content.toString(), fields: m.fields, headers: m.properties.headers }))
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    const outcomes = await t.publishConfirmed(ch, [
      { exchange: ex, routingKey: 'nowhere', body: 'returned', options: { mandatory: true, headers: { h: 'v' } } },
      { exchange: ex, routingKey: 'nowhere', body: 'dropped' },
      { routingKey: t.n('no-queue'), body: 'default', options: { mandatory: true } },
    ])
    await t.sleep(30)
    return { outcomes, returns }
  }),
  s('confirms-ack-routed-and-unroutable', async (t) => {
    const ch = await t.confirmChannel()
    const [q] = await queues(t, ch, ['q'])
    const outcomes = await t.publishConfirmed(ch, [
      { routingKey: q, body: '1' },
      { routingKey: t.n('nowhere'), body: '2' },
      { routingKey: q, body: '3', options: { persistent: true } },
    ])
    return { outcomes, got: await t.drain(ch, q) }
  }),
  s('get-message-counts-and-redelivered', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(20)
    const first = await ch.get(q, { noAck: false })
    if (first) ch.nack(first, false, true)
    await t.sleep(20)
    return await t.drain(ch, q)
  }),
  s('requeue-restores-original-order', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    for (const body of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(20)
    const got: (GetMessage | false)[] = []
    for (let i = 0; i < 3; i++) got.push(await ch.get(q, { noAck: false }))
    if (got[2]) ch.nack(got[2], false, true)
    if (got[0]) ch.nack(got[0], false, true)
    await t.sleep(20)
    return await t.drain(ch, q)
  }),
  s('nack-multiple-requeue-and-recover', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    const first = await t.consume(ch, q, 3, { noAck: false, timeoutMs: 500 })
    ch.nackAll(true)
    await t.sleep(30)
    const ch2 = await t.channel()
    const second = await t.consume(ch2, q, 3, { noAck: false, timeoutMs: 500 })
    await ch2.recover()
    await t.sleep(30)
    const ch3 = await t.channel()
    const third = await t.consume(ch3, q, 3, { noAck: false, ack: true, timeoutMs: 500 })
    return { first, second, third }
  }),
  s('unknown-delivery-tag', async (t) => {
    const ch = await t.channel()
    const closed = t.closeOf(ch)
    ch.ack({ fields: { deliveryTag: 42 } } as never)
    return await closed
  }),
  s('double-ack-is-unknown-tag', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    ch.sendToQueue(q, Buffer.from('m'))
    const got = await ch.get(q, { noAck: false })
    const closed = t.closeOf(ch)
    if (got) {
      ch.ack(got)
      ch.ack(got)
    }
    return await closed
  }),
  s('prefetch-limits-unacked-deliveries', async (t) => {
    const ch = await t.channel()
    await ch.prefetch(2)
    const [q] = await queues(t, ch, ['q'])
    for (const body of ['1', '2', '3', '4', '5']) ch.sendToQueue(q, Buffer.from(body))
    const delivered = await t.consume(ch, q, 5, { noAck: false, timeoutMs: 200 })
    return { delivered: delivered.length, left: (await ch.checkQueue(q)).messageCount }
  }),
  s('round-robin-between-consumers', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    const seen: string[] = []
    await ch.consume(q, (m) => m && seen.push(`a:${m.content}`), { noAck: true, consumerTag: 'a' })
    await ch.consume(q, (m) => m && seen.push(`b:${m.content}`), { noAck: true, consumerTag: 'b' })
    for (const body of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(80)
    return seen
  }),
  s('exclusive-queue-from-another-connection', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { exclusive: true })
    const other = await t.channel()
    return await t.attempt(() => other.checkQueue(q))
  }),
  s('exclusive-consumer-conflicts', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    await ch.consume(q, () => {}, { exclusive: true })
    const other = await t.channel()
    const second = await t.attempt(() => other.consume(q, () => {}))
    return second
  }),
  s('consumer-tag-reuse-closes-connection', async (t) => {
    const conn = await t.connect()
    const ch = await t.channel(conn)
    const [q] = await queues(t, ch, ['q'])
    await ch.consume(q, () => {}, { consumerTag: 'same' })
    const closed = t.closeOf(conn)
    await t.attempt(() => ch.consume(q, () => {}, { consumerTag: 'same' }))
    return await closed
  }),
  s('purge-and-delete-counts', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(20)
    const purged = await ch.purgeQueue(q)
    ch.sendToQueue(q, Buffer.from('4'))
    await t.sleep(20)
    return { purged, deleted: await ch.deleteQueue(q) }
  }),
  s('message-properties-round-trip', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    ch.sendToQueue(q, Buffer.from('props'), {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: { str: 's', num: 42, neg: -7, bool: true, arr: [1, 'two'], nested: { k: 'v' } },
      deliveryMode: 2,
      priority: 4,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: '60000',
      messageId: 'mid',
      timestamp: 1700000000,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
    })
    await t.sleep(20)
    return await t.drain(ch, q)
  }),
  s('user-id-mismatch-refused', async (t) => {
    const ch = await t.channel()
    const [q] = await queues(t, ch, ['q'])
    const closed = t.closeOf(ch)
    ch.sendToQueue(q, Buffer.from('m'), { userId: 'someone-else' })
    return await closed
  }),
  s('auto-delete-queue-goes-with-last-consumer', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, autoDelete: true })
    const { consumerTag } = await ch.consume(q, () => {})
    const before = await t.attempt(() => ch.checkQueue(q))
    await ch.cancel(consumerTag)
    await t.sleep(50)
    const check = await t.channel()
    return { before, after: await t.attempt(() => check.checkQueue(q)) }
  }),
]
