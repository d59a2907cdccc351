// Message lifecycle scenarios: TTLs, queue expiry, dead-lettering and x-death, length limits and overflow,
// single active consumer, alternate exchanges, policies, argument validation.
import type { Channel } from 'amqplib'
import type { Scenario, TestBed } from '../harness'

const s = (name: string, run: (t: TestBed) => Promise<unknown>): Scenario => ({ name, run })

/** A queue `name` with a fanout dead-letter exchange feeding queue `dlq`; returns their names. */
async function withDlx(t: TestBed, ch: Channel, args: Record<string, unknown> = {}, queueOptions: Record<string, unknown> = {}) {
  const q = t.n('q')
  const dlx = t.n('dlx')
  const dlq = t.n('dlq')
  await ch.assertExchange(dlx, 'fanout', { durable: false })
  await ch.assertQueue(dlq, { durable: false })
  await ch.bindQueue(dlq, dlx, '')
  await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx, ...args }, ...queueOptions })
  return { q, dlx, dlq }
}

async function count(ch: Channel, queue: string) {
  const ok = await ch.checkQueue(queue)
  return { messages: ok.messageCount, consumers: ok.consumerCount }
}

export const lifecycleScenarios: Scenario[] = [
  // --- message TTL ----------------------------------------------------------------------------------------------
  s('ttl-queue-expired-messages-are-not-got', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 300 } })
    // confirmed, so both are in the queue: RabbitMQ's queue process answers queue.declare before deliveries still in
    // its mailbox (gen_server2 priorities), so an unconfirmed count may miss some
    await t.publishConfirmed(ch, [{ routingKey: q, body: 'a' }, { routingKey: q, body: 'b' }])
    const before = await count(ch, q)
    await t.sleep(500)
    return { before, after: await count(ch, q), got: await t.drain(ch, q) }
  }),
  s('ttl-queue-only-older-messages-expire', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 400 } })
    ch.sendToQueue(q, Buffer.from('old'))
    await t.sleep(250)
    ch.sendToQueue(q, Buffer.from('new'))
    await t.sleep(250)
    return await t.drain(ch, q)
  }),
  s('ttl-zero-without-consumer-drops', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 0 } })
    ch.sendToQueue(q, Buffer.from('gone'))
    await t.sleep(50)
    return { got: await t.drain(ch, q), count: await count(ch, q) }
  }),
  s('ttl-zero-with-waiting-consumer-delivers', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 0 } })
    const consumed = (await t.startConsuming(ch, q, 2, { timeoutMs: 400 })).messages
    await t.sleep(50)
    const pub = await t.channel()
    pub.sendToQueue(q, Buffer.from('one'))
    pub.sendToQueue(q, Buffer.from('two'))
    return await consumed
  }),
  s('ttl-zero-dead-letters-as-expired', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-message-ttl': 0 })
    ch.sendToQueue(q, Buffer.from('x'), { messageId: 'm1', headers: { h: 1 } })
    await t.sleep(100)
    return { source: await t.drain(ch, q), dead: await t.drain(ch, dlq) }
  }),
  s('per-message-expiration', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '60' })
    ch.sendToQueue(q, Buffer.from('zero'), { expiration: '0' })
    ch.sendToQueue(q, Buffer.from('long'), { expiration: '60000' })
    ch.sendToQueue(q, Buffer.from('none'))
    await t.sleep(200)
    return await t.drain(ch, q)
  }),
  s('per-message-expiration-applies-at-head', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('keeps'))
    ch.sendToQueue(q, Buffer.from('expires'), { expiration: '50' })
    ch.sendToQueue(q, Buffer.from('after'))
    await t.sleep(150)
    const first = await ch.get(q, { noAck: true })
    return { firstCount: first && first.fields.messageCount, rest: await t.drain(ch, q) }
  }),
  s('per-message-and-queue-ttl-lower-wins', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-message-ttl': 60000 })
    ch.sendToQueue(q, Buffer.from('m'), { expiration: '50' })
    await t.sleep(200)
    return { source: await t.drain(ch, q), dead: await t.drain(ch, dlq) }
  }),
  s('expired-with-expiration-gets-original-expiration', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch)
    ch.sendToQueue(q, Buffer.from('m'), { expiration: '40', correlationId: 'c', priority: 3, persistent: true, contentType: 'text/plain' })
    await t.sleep(200)
    return await t.drain(ch, dlq)
  }),
  s('ttl-expiry-without-any-reader-dead-letters-to-consumer', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-message-ttl': 60 })
    const consumed = (await t.startConsuming(await t.channel(), dlq, 2, { timeoutMs: 1000 })).messages
    await t.sleep(30)
    ch.sendToQueue(q, Buffer.from('1'))
    ch.sendToQueue(q, Buffer.from('2'))
    return await consumed
  }),
  s('requeued-message-keeps-its-expiry', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-message-ttl': 100 })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(20)
    const got = await ch.get(q, { noAck: false })
    await t.sleep(150)
    if (got) ch.nack(got, false, true)
    await t.sleep(50)
    return { source: await t.drain(ch, q), dead: await t.drain(ch, dlq) }
  }),
  s('unacked-message-does-not-expire', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-message-ttl': 50 })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(10)
    const got = await ch.get(q, { noAck: false })
    await t.sleep(120)
    const dead = await t.drain(ch, dlq)
    if (got) ch.ack(got)
    return { got: !!got, dead, count: await count(ch, q) }
  }),

  // --- queue expiry -----------------------------------------------------------------------------------------
  s('x-expires-deletes-unused-queue', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 150 } })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(50)
    const early = await t.attempt(() => ch.checkQueue(q))
    await t.sleep(300)
    const late = await t.attempt(() => ch.checkQueue(q))
    return { early, late }
  }),
  s('x-expires-waits-for-consumers', async (t) => {
    const conn = await t.connect()
    const ch = await t.channel(conn)
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 300 } })
    const { consumerTag } = await ch.consume(q, () => {}, { noAck: true })
    await t.sleep(450)
    const withConsumer = await count(ch, q)
    await ch.cancel(consumerTag)
    await t.sleep(80)
    const shortlyAfter = await t.attempt(() => ch.checkQueue(q))
    await t.sleep(600)
    const check = await t.channel(conn)
    return { withConsumer, shortlyAfter, late: await t.attempt(() => check.checkQueue(q)) }
  }),
  s('x-expires-restarted-by-get-and-redeclare', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 400 } })
    await t.sleep(250)
    await ch.get(q)
    await t.sleep(250)
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 400 } })
    await t.sleep(250)
    const alive = await t.attempt(() => ch.checkQueue(q))
    await t.sleep(700)
    const check = await t.channel()
    return { alive, late: await t.attempt(() => check.checkQueue(q)) }
  }),

  // --- dead-lettering -------------------------------------------------------------------------------------------
  s('dlx-reject-without-requeue', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch)
    ch.publish('', q, Buffer.from('r'), { headers: { keep: 'me' }, messageId: 'id1', timestamp: 1700000000, type: 't', appId: 'app' })
    const got = await ch.get(q, { noAck: false })
    if (got) ch.reject(got, false)
    await t.sleep(50)
    return { dead: await t.drain(ch, dlq), source: await count(ch, q) }
  }),
  s('dlx-nack-multiple-without-requeue', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch)
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    const messages = await t.consume(ch, q, 3, { noAck: false, timeoutMs: 500 })
    ch.nackAll(false)
    await t.sleep(80)
    return { messages: messages.length, dead: await t.drain(ch, dlq) }
  }),
  s('dlx-nack-with-requeue-does-not-dead-letter', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch)
    ch.sendToQueue(q, Buffer.from('m'))
    const got = await ch.get(q, { noAck: false })
    if (got) ch.nack(got, false, true)
    await t.sleep(50)
    return { dead: await t.drain(ch, dlq), source: await t.drain(ch, q) }
  }),
  s('dlx-routing-key-replaces-keys', async (t) => {
    const ch = await t.channel()
    const dlx = t.n('dlx')
    const dlq = t.n('dlq')
    const q = t.n('q')
    await ch.assertExchange(dlx, 'direct', { durable: false })
    await ch.assertQueue(dlq, { durable: false })
    await ch.bindQueue(dlq, dlx, 'dead')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead', 'x-message-ttl': 20 } })
    const ex = t.n('ex')
    await ch.assertExchange(ex, 'topic', { durable: false })
    await ch.bindQueue(q, ex, 'a.#')
    ch.publish(ex, 'a.b.c', Buffer.from('m'))
    await t.sleep(150)
    return await t.drain(ch, dlq)
  }),
  s('dlx-original-routing-key-through-direct', async (t) => {
    const ch = await t.channel()
    const dlx = t.n('dlx')
    const hit = t.n('hit')
    const miss = t.n('miss')
    const q = t.n('q')
    await ch.assertExchange(dlx, 'direct', { durable: false })
    await ch.assertQueue(hit, { durable: false })
    await ch.assertQueue(miss, { durable: false })
    await ch.bindQueue(hit, dlx, q)
    await ch.bindQueue(miss, dlx, 'other')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 20 } })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(150)
    return { hit: await t.drain(ch, hit), miss: await t.drain(ch, miss) }
  }),
  s('dlx-missing-exchange-drops', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': t.n('nowhere'), 'x-message-ttl': 20 } })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(120)
    return { count: await count(ch, q), got: await t.drain(ch, q) }
  }),
  s('dlx-default-exchange-with-routing-key', async (t) => {
    const ch = await t.channel()
    const target = t.n('target')
    const q = t.n('q')
    await ch.assertQueue(target, { durable: false })
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': target } })
    ch.sendToQueue(q, Buffer.from('m'))
    const got = await ch.get(q, { noAck: false })
    if (got) ch.reject(got, false)
    await t.sleep(50)
    return await t.drain(ch, target)
  }),
  s('dlx-cc-header-recorded-in-routing-keys', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-message-ttl': 20 })
    ch.sendToQueue(q, Buffer.from('m'), { CC: ['cc.one', 'cc.two'] })
    await t.sleep(150)
    return await t.drain(ch, dlq)
  }),
  s('dlx-x-death-accumulates-across-rejections', async (t) => {
    const ch = await t.channel()
    const q1 = t.n('q1')
    const q2 = t.n('q2')
    await ch.assertQueue(q1, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 } })
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q1 } })
    ch.sendToQueue(q1, Buffer.from('ping'))
    const steps: unknown[] = []
    let from = q1
    for (let i = 0; i < 4; i++) {
      const got = await ch.get(from, { noAck: false })
      if (!got) break
      steps.push({ from: i, headers: got.properties.headers, routingKey: got.fields.routingKey, exchange: got.fields.exchange })
      ch.reject(got, false)
      await t.sleep(40)
      from = from === q1 ? q2 : q1
    }
    return steps
  }),
  s('dlx-expired-cycle-to-self-is-dropped', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q, 'x-message-ttl': 30 } })
    ch.sendToQueue(q, Buffer.from('m'))
    await t.sleep(200)
    return { count: await count(ch, q), got: await t.drain(ch, q) }
  }),
  s('dlx-expired-cycle-between-queues-is-dropped', async (t) => {
    const ch = await t.channel()
    const x1 = t.n('x1')
    const x2 = t.n('x2')
    const q1 = t.n('q1')
    const q2 = t.n('q2')
    const watch = t.n('watch')
    await ch.assertExchange(x1, 'fanout', { durable: false })
    await ch.assertExchange(x2, 'fanout', { durable: false })
    await ch.assertQueue(q1, { durable: false, arguments: { 'x-dead-letter-exchange': x1, 'x-message-ttl': 40 } })
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-dead-letter-exchange': x2, 'x-message-ttl': 40 } })
    await ch.assertQueue(watch, { durable: false })
    await ch.bindQueue(q2, x1, '')
    await ch.bindQueue(q1, x2, '')
    await ch.bindQueue(watch, x2, '')
    ch.sendToQueue(q1, Buffer.from('m'))
    await t.sleep(300)
    return { q1: await count(ch, q1), q2: await count(ch, q2), watch: await t.drain(ch, watch) }
  }),
  s('dlx-cycle-with-reject-is-allowed', async (t) => {
    const ch = await t.channel()
    const q1 = t.n('q1')
    const q2 = t.n('q2')
    await ch.assertQueue(q1, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 } })
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q1, 'x-message-ttl': 30 } })
    ch.sendToQueue(q1, Buffer.from('m'))
    const got = await ch.get(q1, { noAck: false })
    if (got) ch.reject(got, false)
    await t.sleep(200)
    return { q1: await t.drain(ch, q1), q2: await count(ch, q2) }
  }),
  s('dlx-chain-of-expiries-orders-x-death-newest-first', async (t) => {
    const ch = await t.channel()
    const q1 = t.n('q1')
    const q2 = t.n('q2')
    const q3 = t.n('q3')
    await ch.assertQueue(q3, { durable: false })
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q3, 'x-message-ttl': 30 } })
    await ch.assertQueue(q1, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2, 'x-message-ttl': 30 } })
    ch.sendToQueue(q1, Buffer.from('m'), { expiration: '10000' })
    await t.sleep(250)
    return await t.drain(ch, q3)
  }),
  s('dlx-persistent-copy-keeps-properties', async (t) => {
    const ch = await t.channel()
    const dlq = t.n('dlq')
    const q = t.n('q')
    await ch.assertQueue(dlq, { durable: true })
    await ch.assertQueue(q, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })
    ch.sendToQueue(q, Buffer.from('p'), { persistent: true, contentType: 'application/json', headers: { a: 'b' } })
    const got = await ch.get(q, { noAck: false })
    if (got) ch.nack(got, false, false)
    await t.sleep(60)
    const dead = await t.drain(ch, dlq)
    await ch.deleteQueue(q)
    await ch.deleteQueue(dlq)
    return dead
  }),
  s('delete-and-purge-do-not-dead-letter', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch)
    ch.sendToQueue(q, Buffer.from('1'))
    ch.sendToQueue(q, Buffer.from('2'))
    const purged = await ch.purgeQueue(q)
    ch.sendToQueue(q, Buffer.from('3'))
    await t.sleep(30)
    const deleted = await ch.deleteQueue(q)
    await t.sleep(50)
    return { purged, deleted, dead: await t.drain(ch, dlq) }
  }),

  // --- length limits --------------------------------------------------------------------------------------------
  s('max-length-drop-head', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 2 } })
    for (const body of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(body))
    return await t.drain(ch, q)
  }),
  s('max-length-drop-head-dead-letters-maxlen', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-max-length': 1 })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(50)
    return { source: await t.drain(ch, q), dead: await t.drain(ch, dlq) }
  }),
  s('max-length-bytes-drop-head', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length-bytes': 10 } })
    for (const body of ['aaaa', 'bbbb', 'cccc', 'dd', 'eeeeeeeeeeee']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    return await t.drain(ch, q)
  }),
  s('max-length-reject-publish-nacks', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } })
    const outcomes = await t.publishConfirmed(ch, ['1', '2', '3', '4'].map((body) => ({ routingKey: q, body })))
    const got = await ch.get(q, { noAck: true })
    const more = await t.publishConfirmed(ch, [{ routingKey: q, body: '5' }, { routingKey: q, body: '6' }])
    return { outcomes, more, rest: await t.drain(ch, q), first: got && got.content.toString() }
  }),
  s('max-length-reject-publish-without-confirms-drops', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    return await t.drain(ch, q)
  }),
  s('max-length-reject-publish-dlx', async (t) => {
    const ch = await t.confirmChannel()
    const { q, dlq } = await withDlx(t, ch, { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx' })
    const outcomes = await t.publishConfirmed(ch, ['1', '2', '3'].map((body) => ({ routingKey: q, body })))
    await t.sleep(50)
    return { outcomes, source: await t.drain(ch, q), dead: await t.drain(ch, dlq) }
  }),
  s('max-length-bytes-reject-publish', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length-bytes': 6, 'x-overflow': 'reject-publish' } })
    const outcomes = await t.publishConfirmed(ch, ['aaa', 'bbb', 'c', 'dd'].map((body) => ({ routingKey: q, body })))
    return { outcomes, rest: await t.drain(ch, q) }
  }),
  s('reject-publish-any-queue-nacks-but-others-keep-it', async (t) => {
    const ch = await t.confirmChannel()
    const ex = t.n('fan')
    const small = t.n('small')
    const big = t.n('big')
    await ch.assertExchange(ex, 'fanout', { durable: false })
    await ch.assertQueue(small, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    await ch.assertQueue(big, { durable: false })
    await ch.bindQueue(small, ex, '')
    await ch.bindQueue(big, ex, '')
    const outcomes = await t.publishConfirmed(ch, ['1', '2', '3'].map((body) => ({ exchange: ex, routingKey: '', body })))
    return { outcomes, small: await t.drain(ch, small), big: await t.drain(ch, big) }
  }),
  s('reject-publish-mandatory-is-not-returned', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    const returns: string[] = []
    ch.on('return', (message) => returns.push(message.content.toString()))
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } })
    const outcomes = await t.publishConfirmed(ch, [{ routingKey: q, body: 'm', options: { mandatory: true } }])
    await t.sleep(50)
    return { outcomes, returns }
  }),
  s('max-length-zero-drop-head-with-and-without-consumer', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 0 } })
    ch.sendToQueue(q, Buffer.from('lost'))
    await t.sleep(30)
    const before = await count(ch, q)
    const consumed = (await t.startConsuming(await t.channel(), q, 1, { timeoutMs: 400 })).messages
    await t.sleep(50)
    ch.sendToQueue(q, Buffer.from('taken'))
    return { before, consumed: await consumed }
  }),
  s('max-length-zero-reject-publish-with-consumer', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } })
    const consumed = (await t.startConsuming(await t.channel(), q, 1, { timeoutMs: 300 })).messages
    await t.sleep(50)
    const outcomes = await t.publishConfirmed(ch, [{ routingKey: q, body: 'refused' }])
    return { outcomes, consumed: await consumed }
  }),
  s('max-length-counts-ready-messages-only', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })
    await t.publishConfirmed(ch, [{ routingKey: q, body: '1' }])
    const got = await ch.get(q, { noAck: false })
    const outcomes = await t.publishConfirmed(ch, [{ routingKey: q, body: '2' }, { routingKey: q, body: '3' }])
    if (got) ch.ack(got)
    return { outcomes, rest: await t.drain(ch, q) }
  }),
  s('max-length-requeue-over-limit-drops-head', async (t) => {
    const ch = await t.channel()
    const { q, dlq } = await withDlx(t, ch, { 'x-max-length': 1 })
    ch.sendToQueue(q, Buffer.from('first'))
    const got = await ch.get(q, { noAck: false })
    ch.sendToQueue(q, Buffer.from('second'))
    await t.sleep(30)
    if (got) ch.nack(got, false, true)
    await t.sleep(50)
    return { source: await t.drain(ch, q), dead: await t.drain(ch, dlq) }
  }),
  s('priority-queue-with-max-length-and-ttl', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    const q2 = t.n('q2')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 5, 'x-max-length': 2 } })
    ch.sendToQueue(q, Buffer.from('p1'), { priority: 1 })
    ch.sendToQueue(q, Buffer.from('p5'), { priority: 5 })
    ch.sendToQueue(q, Buffer.from('p3'), { priority: 3 })
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-max-priority': 5, 'x-message-ttl': 60 } })
    ch.sendToQueue(q2, Buffer.from('low'), { priority: 0 })
    ch.sendToQueue(q2, Buffer.from('high'), { priority: 4 })
    const fresh = await t.drain(ch, q2, { max: 1 })
    await t.sleep(150)
    return { limited: await t.drain(ch, q), fresh, expired: await t.drain(ch, q2) }
  }),

  // --- single active consumer -----------------------------------------------------------------------------------
  s('single-active-consumer-takes-over-on-cancel', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } })
    const seen: string[] = []
    await ch.consume(q, (m) => m && seen.push(`first:${m.content}`), { noAck: true, consumerTag: 'first' })
    await ch.consume(q, (m) => m && seen.push(`second:${m.content}`), { noAck: true, consumerTag: 'second' })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(80)
    await ch.cancel('first')
    for (const body of ['4', '5']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(80)
    return { seen, count: await count(ch, q) }
  }),
  s('single-active-consumer-blocked-does-not-pass-on', async (t) => {
    const ch = await t.channel()
    await ch.prefetch(1)
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } })
    const seen: string[] = []
    await ch.consume(q, (m) => m && seen.push(`first:${m.content}`), { noAck: false, consumerTag: 'first' })
    await ch.consume(q, (m) => m && seen.push(`second:${m.content}`), { noAck: false, consumerTag: 'second' })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(100)
    return { seen, count: await count(ch, q) }
  }),

  // --- queue arguments ------------------------------------------------------------------------------------------
  s('queue-mode-and-type-accepted', async (t) => {
    const ch = await t.channel()
    const lazy = await ch.assertQueue(t.n('lazy'), { durable: false, arguments: { 'x-queue-mode': 'lazy' } })
    const def = await ch.assertQueue(t.n('default'), { durable: false, arguments: { 'x-queue-mode': 'default' } })
    const classic = await ch.assertQueue(t.n('classic'), { durable: false, arguments: { 'x-queue-type': 'classic' } })
    ch.sendToQueue(lazy.queue, Buffer.from('m'))
    return { lazy, def, classic, got: await t.drain(ch, lazy.queue) }
  }),
  ...(
    [
      ['max-length-negative', { 'x-max-length': -1 }],
      ['max-length-string', { 'x-max-length': 'abc' }],
      ['max-length-bytes-double', { 'x-max-length-bytes': 1.5 }],
      ['overflow-unknown', { 'x-overflow': 'foo' }],
      ['message-ttl-negative', { 'x-message-ttl': -5 }],
      ['message-ttl-double', { 'x-message-ttl': 2.5 }],
      ['expires-zero', { 'x-expires': 0 }],
      ['expires-negative', { 'x-expires': -3 }],
      ['dlx-not-a-string', { 'x-dead-letter-exchange': 5 }],
      ['dlrk-without-dlx', { 'x-dead-letter-routing-key': 'rk' }],
      ['dlrk-not-a-string', { 'x-dead-letter-exchange': 'x', 'x-dead-letter-routing-key': 7 }],
      ['queue-mode-unknown', { 'x-queue-mode': 'weird' }],
      ['queue-type-unknown', { 'x-queue-type': 'weird' }],
      ['single-active-consumer-string', { 'x-single-active-consumer': 'yes' }],
    ] as [string, Record<string, unknown>][]
  ).map(([name, args]) =>
    s(`invalid-arg-${name}`, async (t) => {
      const ch = await t.channel()
      return await t.attempt(() => ch.assertQueue(t.n('q'), { durable: false, arguments: args }))
    }),
  ),
  s('inequivalent-message-ttl-on-redeclare', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 100 } })
    return await t.attempt(() => ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 200 } }))
  }),

  // --- alternate exchanges --------------------------------------------------------------------------------------
  s('alternate-exchange-takes-unroutable', async (t) => {
    const ch = await t.channel()
    const ae = t.n('ae')
    const ex = t.n('ex')
    const caught = t.n('caught')
    const routed = t.n('routed')
    await ch.assertExchange(ae, 'fanout', { durable: false })
    await ch.assertQueue(caught, { durable: false })
    await ch.bindQueue(caught, ae, '')
    await ch.assertExchange(ex, 'direct', { durable: false, alternateExchange: ae })
    await ch.assertQueue(routed, { durable: false })
    await ch.bindQueue(routed, ex, 'known')
    ch.publish(ex, 'known', Buffer.from('routed'))
    ch.publish(ex, 'unknown', Buffer.from('caught'))
    await t.sleep(50)
    return { routed: await t.drain(ch, routed), caught: await t.drain(ch, caught) }
  }),
  s('alternate-exchange-and-mandatory', async (t) => {
    const ch = await t.channel()
    const returns: unknown[] = []
    ch.on('return', (m) => returns.push({ body: m.content.toString(), replyCode: m.fields.replyCode, replyText: m.fields.replyText, exchange: m.fields.exchange, routingKey: m.fields.routingKey }))
    const ae = t.n('ae')
    const ex = t.n('ex')
    const exMissingAe = t.n('ex-missing-ae')
    const caught = t.n('caught')
    await ch.assertExchange(ae, 'direct', { durable: false })
    await ch.assertQueue(caught, { durable: false })
    await ch.bindQueue(caught, ae, 'yes')
    await ch.assertExchange(ex, 'direct', { durable: false, alternateExchange: ae })
    await ch.assertExchange(exMissingAe, 'direct', { durable: false, alternateExchange: t.n('missing') })
    ch.publish(ex, 'yes', Buffer.from('by-ae'), { mandatory: true })
    ch.publish(ex, 'no', Buffer.from('nowhere'), { mandatory: true })
    ch.publish(exMissingAe, 'yes', Buffer.from('missing-ae'), { mandatory: true })
    await t.sleep(100)
    return { returns, caught: await t.drain(ch, caught) }
  }),
  s('alternate-exchange-chain', async (t) => {
    const ch = await t.channel()
    const ae2 = t.n('ae2')
    const ae1 = t.n('ae1')
    const ex = t.n('ex')
    const last = t.n('last')
    await ch.assertExchange(ae2, 'fanout', { durable: false })
    await ch.assertQueue(last, { durable: false })
    await ch.bindQueue(last, ae2, '')
    await ch.assertExchange(ae1, 'direct', { durable: false, alternateExchange: ae2 })
    await ch.assertExchange(ex, 'topic', { durable: false, alternateExchange: ae1 })
    ch.publish(ex, 'a.b', Buffer.from('m'))
    await t.sleep(50)
    return await t.drain(ch, last)
  }),
  s('alternate-exchange-invalid-type', async (t) => {
    const ch = await t.channel()
    return await t.attempt(() => ch.assertExchange(t.n('ex'), 'direct', { durable: false, arguments: { 'alternate-exchange': 5 } }))
  }),

  // --- policies ---------------------------------------------------------------------------------------------------
  s('policy-message-ttl-applies-to-new-messages', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    ch.sendToQueue(q, Buffer.from('before'))
    await t.sleep(30)
    await t.setPolicy('ttl', { pattern: t.exact('q'), definition: { 'message-ttl': 50 }, applyTo: 'queues' })
    ch.sendToQueue(q, Buffer.from('after'))
    await t.sleep(200)
    return await t.drain(ch, q)
  }),
  s('policy-max-length-lower-of-argument-and-policy', async (t) => {
    const ch = await t.channel()
    const a = t.n('a')
    const b = t.n('b')
    await ch.assertQueue(a, { durable: false, arguments: { 'x-max-length': 5 } })
    await ch.assertQueue(b, { durable: false, arguments: { 'x-max-length': 1 } })
    await t.setPolicy('len', { pattern: t.exactAny('a', 'b'), definition: { 'max-length': 2 }, applyTo: 'queues' })
    for (const body of ['1', '2', '3', '4']) {
      ch.sendToQueue(a, Buffer.from(body))
      ch.sendToQueue(b, Buffer.from(body))
    }
    await t.sleep(30)
    return { a: await t.drain(ch, a), b: await t.drain(ch, b) }
  }),
  s('policy-applies-to-existing-messages-on-max-length', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    for (const body of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    await t.setPolicy('len', { pattern: t.exact('q'), definition: { 'max-length': 1 } })
    await t.sleep(30)
    return await t.drain(ch, q)
  }),
  s('policy-dead-letter-exchange-argument-wins', async (t) => {
    const ch = await t.channel()
    const byArg = t.n('by-arg')
    const byPolicy = t.n('by-policy')
    const q = t.n('q')
    const q2 = t.n('q2')
    await ch.assertQueue(byArg, { durable: false })
    await ch.assertQueue(byPolicy, { durable: false })
    await t.setPolicy('dlx', { pattern: t.exactAny('q', 'q2'), definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': byPolicy, 'message-ttl': 20 } })
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': byArg } })
    await ch.assertQueue(q2, { durable: false })
    ch.sendToQueue(q, Buffer.from('from-q'))
    ch.sendToQueue(q2, Buffer.from('from-q2'))
    await t.sleep(150)
    return { byArg: await t.drain(ch, byArg), byPolicy: await t.drain(ch, byPolicy) }
  }),
  s('policy-highest-priority-wins-and-removal-restores', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await ch.assertQueue(q, { durable: false })
    await t.setPolicy('low', { pattern: t.exact('q'), definition: { 'max-length': 3 }, priority: 1 })
    await t.setPolicy('high', { pattern: t.exact('q'), definition: { 'max-length': 1 }, priority: 2 })
    for (const body of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    const withHigh = await t.drain(ch, q)
    await t.clearPolicy('high')
    for (const body of ['4', '5', '6', '7']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    const withLow = await t.drain(ch, q)
    await t.clearPolicy('low')
    for (const body of ['8', '9']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    return { withHigh, withLow, none: await t.drain(ch, q) }
  }),
  s('policy-expires-deletes-queue', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await t.setPolicy('exp', { pattern: t.exact('q'), definition: { expires: 100 }, applyTo: 'queues' })
    await ch.assertQueue(q, { durable: false })
    await t.sleep(350)
    return await t.attempt(() => ch.checkQueue(q))
  }),
  s('policy-apply-to-exchanges-ignores-queues', async (t) => {
    const ch = await t.channel()
    const q = t.n('q')
    await t.setPolicy('ex-only', { pattern: t.exact('q'), definition: { 'max-length': 1 }, applyTo: 'exchanges' })
    await ch.assertQueue(q, { durable: false })
    for (const body of ['1', '2']) ch.sendToQueue(q, Buffer.from(body))
    await t.sleep(30)
    return await t.drain(ch, q)
  }),
  s('policy-overflow-reject-publish', async (t) => {
    const ch = await t.confirmChannel()
    const q = t.n('q')
    await t.setPolicy('rej', { pattern: t.exact('q'), definition: { 'max-length': 1, overflow: 'reject-publish' }, applyTo: 'queues' })
    await ch.assertQueue(q, { durable: false })
    const outcomes = await t.publishConfirmed(ch, ['1', '2'].map((body) => ({ routingKey: q, body })))
    return { outcomes, rest: await t.drain(ch, q) }
  }),
  s('policy-alternate-exchange-and-argument-wins', async (t) => {
    const ch = await t.channel()
    const aeArg = t.n('ae-arg')
    const aePolicy = t.n('ae-policy')
    const qArg = t.n('q-arg')
    const qPolicy = t.n('q-policy')
    const ex1 = t.n('ex1')
    const ex2 = t.n('ex2')
    for (const [ae, q] of [[aeArg, qArg], [aePolicy, qPolicy]]) {
      await ch.assertExchange(ae, 'fanout', { durable: false })
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, ae, '')
    }
    await t.setPolicy('ae', { pattern: t.exactAny('ex1', 'ex2'), definition: { 'alternate-exchange': aePolicy }, applyTo: 'exchanges' })
    await ch.assertExchange(ex1, 'direct', { durable: false, alternateExchange: aeArg })
    await ch.assertExchange(ex2, 'direct', { durable: false })
    ch.publish(ex1, 'x', Buffer.from('one'))
    ch.publish(ex2, 'x', Buffer.from('two'))
    await t.sleep(50)
    return { arg: await t.drain(ch, qArg), policy: await t.drain(ch, qPolicy) }
  }),
]
