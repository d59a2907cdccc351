// Edge cases of the lifecycle features and sender-selected distribution, run against both brokers.
import type { Channel } from 'amqplib'
import type { Scenario, TestBed } from '../harness'

const s = (name: string, run: (t: TestBed) => Promise<unknown>): Scenario => ({ name, run })

const bodies = (messages: unknown[]) => messages.map((m) => (m as { body: string }).body)

async function plainQueue(t: TestBed, ch: Channel, base: string, args: Record<string, unknown> = {}): Promise<string> {
  return (await ch.assertQueue(t.n(base), { durable: false, arguments: args })).queue
}

export const edgeScenarios: Scenario[] = [
  s('cc-and-bcc-route-to-more-queues', async (t) => {
    const ch = await t.channel()
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'direct', { durable: false })
    const main = await plainQueue(t, ch, 'main')
    const cc = await plainQueue(t, ch, 'cc')
    const bcc = await plainQueue(t, ch, 'bcc')
    await ch.bindQueue(main, ex, 'main')
    await ch.bindQueue(cc, ex, 'cc')
    await ch.bindQueue(bcc, ex, 'bcc')
    ch.publish(ex, 'main', Buffer.from('m'), { CC: ['cc'], BCC: ['bcc'] })
    await t.sleep(30)
    return { main: await t.drain(ch, main), cc: await t.drain(ch, cc), bcc: await t.drain(ch, bcc) }
  }),
  s('x-expires-counts-from-declaration', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100 } })
    await t.sleep(300)
    return await t.attempt(() => ch.checkQueue(q))
  }),
  s('confirms-interleave-acks-and-nacks-in-order', async (t) => {
    const ch = await t.confirmChannel()
    const q = await plainQueue(t, ch, 'q', { 'x-max-length-bytes': 3, 'x-overflow': 'reject-publish' })
    const outcomes = await t.publishConfirmed(ch, ['aaaa', 'b', 'cccc', 'd', 'ee', 'f', 'g'].map((body) => ({ routingKey: q, body })))
    return { outcomes, got: bodies(await t.drain(ch, q)) }
  }),
  s('confirms-durable-and-rejecting-queue-together', async (t) => {
    const ch = await t.confirmChannel()
    const ex = t.n('fan')
    await ch.assertExchange(ex, 'fanout', { durable: false })
    const durable = t.n('durable')
    await ch.assertQueue(durable, { durable: true })
    const small = await plainQueue(t, ch, 'small', { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
    await ch.bindQueue(durable, ex, '')
    await ch.bindQueue(small, ex, '')
    const outcomes = await t.publishConfirmed(ch, ['1', '2', '3'].map((body) => ({ exchange: ex, routingKey: '', body, options: { persistent: true } })))
    const got = { durable: bodies(await t.drain(ch, durable)), small: bodies(await t.drain(ch, small)) }
    await ch.deleteQueue(durable)
    return { outcomes, got }
  }),
  s('client-republished-x-death-keeps-counting', async (t) => {
    const ch = await t.channel()
    const dlq = await plainQueue(t, ch, 'dlq')
    const q = await plainQueue(t, ch, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    const rounds: unknown[] = []
    ch.sendToQueue(q, Buffer.from('m'))
    for (let i = 0; i < 2; i++) {
      const got = await ch.get(q, { noAck: false })
      if (!got) break
      ch.reject(got, false)
      await t.sleep(40)
      const dead = await ch.get(dlq, { noAck: true })
      if (!dead) break
      rounds.push(dead.properties.headers)
      // the application puts the message back with the headers it received (a common retry pattern)
      ch.sendToQueue(q, dead.content, { headers: dead.properties.headers })
      await t.sleep(20)
    }
    return rounds
  }),
  s('client-seeded-x-death-table-is-interpreted', async (t) => {
    const ch = await t.channel()
    const dlq = await plainQueue(t, ch, 'dlq')
    const q = await plainQueue(t, ch, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, 'x-message-ttl': 20 })
    ch.sendToQueue(q, Buffer.from('m'), { headers: { 'x-death': [{ count: 5, reason: 'expired', queue: q, exchange: 'elsewhere', 'routing-keys': ['k'] }] } })
    await t.sleep(120)
    return await t.drain(ch, dlq)
  }),
  s('x-death-with-a-non-table-entry-is-lost-on-dead-letter', async (t) => {
    const ch = await t.channel()
    const dlq = await plainQueue(t, ch, 'dlq')
    const q = await plainQueue(t, ch, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, 'x-message-ttl': 20 })
    ch.sendToQueue(q, Buffer.from('m'), { headers: { 'x-death': [{ count: 5, reason: 'expired', queue: q }, 'junk'] } })
    await t.sleep(120)
    return { dead: await t.drain(ch, dlq), source: (await ch.checkQueue(q)).messageCount }
  }),
  s('dead-letter-to-internal-exchange', async (t) => {
    const ch = await t.channel()
    const internal = t.n('internal')
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true })
    const dlq = await plainQueue(t, ch, 'dlq')
    await ch.bindQueue(dlq, internal, '')
    const q = await plainQueue(t, ch, 'q', { 'x-message-ttl': 20, 'x-dead-letter-exchange': internal })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(120)
    return bodies(await t.drain(ch, dlq))
  }),
  s('dead-letter-exchange-deleted-later-drops', async (t) => {
    const ch = await t.channel()
    const dlx = t.n('dlx')
    await ch.assertExchange(dlx, 'fanout', { durable: false })
    const dlq = await plainQueue(t, ch, 'dlq')
    await ch.bindQueue(dlq, dlx, '')
    const q = await plainQueue(t, ch, 'q', { 'x-dead-letter-exchange': dlx })
    ch.sendToQueue(q, Buffer.from('1'))
    ch.sendToQueue(q, Buffer.from('2'))
    const first = await ch.get(q, { noAck: false })
    if (first) ch.reject(first, false)
    await t.sleep(30)
    await ch.deleteExchange(dlx)
    const second = await ch.get(q, { noAck: false })
    if (second) ch.reject(second, false)
    await t.sleep(30)
    return { dead: bodies(await t.drain(ch, dlq)), source: (await ch.checkQueue(q)).messageCount }
  }),
  ...(
    [
      ['max-priority-too-large', { 'x-max-priority': 256 }],
      ['max-priority-string', { 'x-max-priority': 'high' }],
      ['max-priority-negative', { 'x-max-priority': -1 }],
    ] as [string, Record<string, unknown>][]
  ).map(([name, args]) =>
    s(`invalid-arg-${name}`, async (t) => {
      const ch = await t.channel()
      return await t.attempt(() => ch.assertQueue(t.n('q'), { durable: false, arguments: args }))
    }),
  ),
  s('invalid-expiration-closes-channel', async (t) => {
    const ch = await t.channel()
    const q = await plainQueue(t, ch, 'q')
    const closed = t.closeOf(ch)
    ch.sendToQueue(q, Buffer.from('m'), { expiration: 'soon' })
    return await closed
  }),
  s('expiration-with-trailing-text-closes-channel', async (t) => {
    const ch = await t.channel()
    const q = await plainQueue(t, ch, 'q')
    const closed = t.closeOf(ch)
    ch.sendToQueue(q, Buffer.from('m'), { expiration: '10abc' })
    return await closed
  }),
  s('negative-expiration-closes-channel', async (t) => {
    const ch = await t.channel()
    const q = await plainQueue(t, ch, 'q')
    const closed = t.closeOf(ch)
    ch.sendToQueue(q, Buffer.from('m'), { expiration: '-5' })
    return await closed
  }),
  s('messages-waiting-for-prefetch-expire', async (t) => {
    const ch = await t.channel()
    await ch.prefetch(1)
    const dlx = t.n('dlx')
    await ch.assertExchange(dlx, 'fanout', { durable: false })
    const dlq = await plainQueue(t, ch, 'dlq')
    await ch.bindQueue(dlq, dlx, '')
    const q = await plainQueue(t, ch, 'q', { 'x-message-ttl': 80, 'x-dead-letter-exchange': dlx })
    const seen: string[] = []
    const held: import('amqplib').ConsumeMessage[] = []
    await ch.consume(q, (m) => {
      if (!m) return
      seen.push(m.content.toString())
      held.push(m)
    })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(200)
    ch.ack(held[0])
    await t.sleep(50)
    const check = await t.channel()
    return { seen, dead: bodies(await t.drain(check, dlq)) }
  }),
  s('dead-letter-copy-is-not-redelivered', async (t) => {
    const ch = await t.channel()
    const dlq = await plainQueue(t, ch, 'dlq')
    const q = await plainQueue(t, ch, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq })
    ch.sendToQueue(q, Buffer.from('m'))
    const first = await ch.get(q, { noAck: false })
    if (first) ch.nack(first, false, true)
    await t.sleep(20)
    const second = await ch.get(q, { noAck: false })
    if (second) ch.reject(second, false)
    await t.sleep(40)
    return { redeliveredBefore: second && second.fields.redelivered, dead: await t.drain(ch, dlq) }
  }),
  s('dead-letter-target-queue-ttl-adds-second-death', async (t) => {
    const ch = await t.channel()
    const final = await plainQueue(t, ch, 'final')
    const middle = await plainQueue(t, ch, 'middle', { 'x-message-ttl': 30, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': final })
    const q = await plainQueue(t, ch, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': middle })
    ch.sendToQueue(q, Buffer.from('m'), { headers: { original: true } })
    const got = await ch.get(q, { noAck: false })
    if (got) ch.reject(got, false)
    await t.sleep(150)
    return await t.drain(ch, final)
  }),
  s('dead-letter-into-full-reject-publish-queue-is-dropped', async (t) => {
    const ch = await t.channel()
    const full = await plainQueue(t, ch, 'full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
    ch.sendToQueue(full, Buffer.from('occupant'))
    const q = await plainQueue(t, ch, 'q', { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': full })
    ch.sendToQueue(q, Buffer.from('dead'))
    await t.sleep(120)
    return { full: bodies(await t.drain(ch, full)), q: await t.drain(ch, q) }
  }),
  s('single-active-consumer-channel-close-hands-over-unacked', async (t) => {
    const conn = await t.connect()
    const first = await t.channel(conn)
    const q = await plainQueue(t, first, 'q', { 'x-single-active-consumer': true })
    const seen: string[] = []
    await first.consume(q, (m) => m && seen.push(`first:${m.content}:${m.fields.redelivered}`), { noAck: false, consumerTag: 'first' })
    const second = await t.channel(conn)
    await second.consume(q, (m) => m && seen.push(`second:${m.content}:${m.fields.redelivered}`), { noAck: true, consumerTag: 'second' })
    for (const body of ['1', '2']) second.sendToQueue(q, Buffer.from(body))
    await t.sleep(60)
    await first.close()
    await t.sleep(60)
    second.sendToQueue(q, Buffer.from('3'))
    await t.sleep(60)
    return seen
  }),
  s('single-active-consumer-with-basic-get', async (t) => {
    const ch = await t.channel()
    const q = await plainQueue(t, ch, 'q', { 'x-single-active-consumer': true })
    await ch.prefetch(1)
    const seen: string[] = []
    await ch.consume(q, (m) => m && seen.push(String(m.content)), { noAck: false })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(50)
    const other = await t.channel()
    return { seen, got: bodies(await t.drain(other, q)) }
  }),
  s('alternate-exchange-loop-returns', async (t) => {
    const ch = await t.channel()
    const returns: string[] = []
    ch.on('return', (m) => returns.push(`${m.content}:${m.fields.replyCode}`))
    const a = t.n('a')
    const b = t.n('b')
    await ch.assertExchange(a, 'direct', { durable: false, alternateExchange: b })
    await ch.assertExchange(b, 'direct', { durable: false, alternateExchange: a })
    ch.publish(a, 'k', Buffer.from('loop'), { mandatory: true })
    await t.sleep(60)
    return returns
  }),
  s('alternate-exchange-of-bound-exchange', async (t) => {
    const ch = await t.channel()
    const src = t.n('src')
    const dst = t.n('dst')
    const ae = t.n('ae')
    await ch.assertExchange(ae, 'fanout', { durable: false })
    const caught = await plainQueue(t, ch, 'caught')
    await ch.bindQueue(caught, ae, '')
    await ch.assertExchange(src, 'fanout', { durable: false })
    await ch.assertExchange(dst, 'direct', { durable: false, alternateExchange: ae })
    await ch.bindExchange(dst, src, '')
    ch.publish(src, 'nomatch', Buffer.from('m'))
    await t.sleep(50)
    return await t.drain(ch, caught)
  }),
  s('policy-max-length-bytes-and-dead-letter', async (t) => {
    const ch = await t.channel()
    const dlq = await plainQueue(t, ch, 'dlq')
    const q = await plainQueue(t, ch, 'q')
    await t.setPolicy('bytes', { pattern: t.exact('q'), definition: { 'max-length-bytes': 4, 'dead-letter-exchange': '', 'dead-letter-routing-key': dlq }, applyTo: 'queues' })
    for (const body of ['ab', 'cd', 'ef']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(50)
    return { q: bodies(await t.drain(ch, q)), dead: await t.drain(ch, dlq) }
  }),
  s('policy-dead-letter-on-reject', async (t) => {
    const ch = await t.channel()
    const dlq = await plainQueue(t, ch, 'dlq')
    const q = await plainQueue(t, ch, 'q')
    await t.setPolicy('dlx', { pattern: t.exact('q'), definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': dlq }, applyTo: 'queues' })
    ch.sendToQueue(q, Buffer.from('m'))
    const got = await ch.get(q, { noAck: false })
    if (got) ch.reject(got, false)
    await t.sleep(50)
    return await t.drain(ch, dlq)
  }),
  s('policy-message-ttl-lower-than-argument', async (t) => {
    const ch = await t.channel()
    const q = await plainQueue(t, ch, 'q', { 'x-message-ttl': 60000 })
    await t.setPolicy('ttl', { pattern: t.exact('q'), definition: { 'message-ttl': 40 }, applyTo: 'queues' })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(150)
    return { got: await t.drain(ch, q) }
  }),
  s('priority-reject-publish-counts-all-levels', async (t) => {
    const ch = await t.confirmChannel()
    const q = await plainQueue(t, ch, 'q', { 'x-max-priority': 3, 'x-max-length': 2, 'x-overflow': 'reject-publish' })
    const outcomes = await t.publishConfirmed(ch, [
      { routingKey: q, body: 'low', options: { priority: 0 } },
      { routingKey: q, body: 'high', options: { priority: 3 } },
      { routingKey: q, body: 'higher', options: { priority: 9 } },
    ])
    return { outcomes, got: bodies(await t.drain(ch, q)) }
  }),
  s('expiration-zero-with-waiting-consumer', async (t) => {
    const ch = await t.channel()
    const q = await plainQueue(t, ch, 'q')
    const consumed = (await t.startConsuming(ch, q, 1, { timeoutMs: 300 })).messages
    await t.sleep(40)
    const pub = await t.channel()
    pub.sendToQueue(q, Buffer.from('now'), { expiration: '0' })
    return await consumed
  }),
  s('mandatory-dead-lettered-message-is-not-returned', async (t) => {
    const ch = await t.channel()
    const returns: string[] = []
    ch.on('return', (m) => returns.push(String(m.content)))
    const q = await plainQueue(t, ch, 'q', { 'x-message-ttl': 0, 'x-dead-letter-exchange': t.n('missing') })
    ch.publish('', q, Buffer.from('m'), { mandatory: true })
    await t.sleep(60)
    return returns
  }),
]
