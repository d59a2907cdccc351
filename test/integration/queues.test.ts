// Queues: declare flags, exclusive/auto-delete lifecycles, passive counts, delete/purge rules,
// bindings. Expectations checked against RabbitMQ 3.10.8.
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { sleep, uniq, waitFor } from '../helpers/broker'
import { channel, confirmChannel, connect, connectWithChannel, expectChannelClose, expectClose } from '../helpers/amqp'

const ctx = useBroker()

describe('queue declare', () => {
  it('server-named queues get an amq.gen- prefix and are unique', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const a = await ch.assertQueue('', { exclusive: true })
    const b = await ch.assertQueue('', { exclusive: true })
    expect(a.queue).toMatch(/^amq\.gen-.+/)
    expect(b.queue).toMatch(/^amq\.gen-.+/)
    expect(a.queue).not.toBe(b.queue)
    expect(a.messageCount).toBe(0)
    expect(a.consumerCount).toBe(0)
  })

  it('declaring an amq.-prefixed queue name → 403', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const name = 'amq.wt-' + uniq()
    const info = await expectClose(ch.assertQueue(name))
    expect(info.code).toBe(403)
    expect(info.message).toContain(`ACCESS_REFUSED - queue name '${name}' contains reserved prefix 'amq.*'`)
  })

  it('durable queue declare/redeclare; declare-ok reports counts', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = ctx.cleanup.q(uniq('q'))
    const ok = await ch.assertQueue(q, { durable: true })
    expect(ok).toEqual({ queue: q, messageCount: 0, consumerCount: 0 })
    ch.sendToQueue(q, Buffer.from('1'))
    ch.sendToQueue(q, Buffer.from('2'))
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 2)
    const again = await ch.assertQueue(q, { durable: true })
    expect(again.messageCount).toBe(2)
  })

  it('passive declare returns exact messageCount/consumerCount (consumers with unacked messages)', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false })
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(String(i)))
    await ch.waitForConfirms()
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 10, consumerCount: 0 })
    const c1 = await channel(conn)
    await c1.prefetch(3)
    const got: number[] = []
    await c1.consume(q, () => got.push(1))
    const c2 = await channel(conn)
    await c2.prefetch(2)
    await c2.consume(q, () => got.push(2))
    await waitFor(() => got.length === 5)
    await sleep(100)
    // messageCount counts ready messages only (not the 5 unacked ones)
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 5, consumerCount: 2 })
  })

  it('passive declare of a missing queue → 404 with reply text', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = uniq('missing')
    const info = await expectClose(ch.checkQueue(q))
    expect(info.code).toBe(404)
    expect(info.message).toContain(`NOT_FOUND - no queue '${q}' in vhost '/'`)
    expect([info.classId, info.methodId]).toEqual([50, 10])
  })

  it('redeclare with different arguments → 406', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 10 } })
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 10 } })
    const info = await expectClose(ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 20 } }))
    expect(info.code).toBe(406)
    expect(info.message).toContain(`PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/'`)
  })

  it('redeclare with a different durable flag → 406', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false })
    const info = await expectClose(ch.assertQueue(q, { durable: true }))
    expect(info.code).toBe(406)
    expect(info.message).toContain(`inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'true' but current is 'false'`)
  })
})

describe('exclusive queues', () => {
  it('another connection declaring, consuming, passive-declaring or deleting it → 405 RESOURCE_LOCKED', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = uniq('excl')
    await ch.assertQueue(q, { exclusive: true })
    const tries: Array<(c: import('amqplib').Channel) => Promise<unknown>> = [
      (c) => c.assertQueue(q, { exclusive: true }),
      (c) => c.assertQueue(q, { exclusive: false }),
      (c) => c.consume(q, () => {}),
      (c) => c.checkQueue(q),
      (c) => c.deleteQueue(q),
      (c) => c.purgeQueue(q),
      (c) => c.get(q),
    ]
    for (const t of tries) {
      const { ch: other } = await connectWithChannel(ctx.url)
      const info = await expectChannelClose(other, t(other))
      expect(info.code).toBe(405)
      expect(info.message).toContain(`RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'`)
    }
    // the owner still uses it fine; other channels of the owning connection too
    await ch.checkQueue(q)
  })

  it('other connections may publish to an exclusive queue but not bind it (405)', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = uniq('excl')
    await ch.assertQueue(q, { exclusive: true })
    const conn2 = await connect(ctx.url)
    const other = await confirmChannel(conn2)
    other.sendToQueue(q, Buffer.from('hi'))
    await other.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(1)
    const info = await expectChannelClose(other, other.bindQueue(q, 'amq.direct', q))
    expect(info.code).toBe(405)
    expect(info.message).toContain('RESOURCE_LOCKED - cannot obtain exclusive access to locked queue')
  })

  it('is deleted when its connection closes', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = uniq('excl')
    await ch.assertQueue(q, { exclusive: true })
    await conn.close()
    const { ch: ch2 } = await connectWithChannel(ctx.url)
    await waitFor(async () => {
      const { ch: probe } = await connectWithChannel(ctx.url)
      return probe.checkQueue(q).then(
        () => false,
        (e: { code?: number }) => e.code === 404,
      )
    })
    void ch2
  })
})

describe('auto-delete queues', () => {
  it('stays if never consumed; is deleted when its last consumer cancels', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = ctx.cleanup.q(uniq('ad'))
    await ch.assertQueue(q, { autoDelete: true, durable: false })
    await sleep(200)
    await ch.checkQueue(q)
    const c1 = await ch.consume(q, () => {})
    const ch2 = await channel(conn)
    const c2 = await ch2.consume(q, () => {})
    await ch.cancel(c1.consumerTag)
    expect((await ch.checkQueue(q)).consumerCount).toBe(1)
    await ch2.cancel(c2.consumerTag)
    const ch3 = await channel(conn)
    await waitFor(() =>
      ch3.checkQueue(q).then(
        () => false,
        (e: { code?: number }) => e.code === 404,
      ),
    )
  })

  it('is deleted when the consuming channel closes', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = ctx.cleanup.q(uniq('ad'))
    await ch.assertQueue(q, { autoDelete: true, durable: false })
    const cch = await channel(conn)
    await cch.consume(q, () => {})
    await cch.close()
    await waitFor(async () => {
      const probe = await channel(conn)
      return probe.checkQueue(q).then(
        () => false,
        (e: { code?: number }) => e.code === 404,
      )
    })
    void ch
  })
})

describe('queue delete / purge', () => {
  it('delete returns the message count; deleting a missing queue is ok', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false })
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from('x'))
    await ch.waitForConfirms()
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 3 })
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 0 })
    expect(await ch.deleteQueue(uniq('never'))).toEqual({ messageCount: 0 })
  })

  it('delete if-unused with a consumer → 406; if-empty with messages → 406', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false })
    const cons = await channel(conn)
    await cons.consume(q, () => {}, { noAck: false })
    const c1 = await channel(conn)
    const info = await expectClose(c1.deleteQueue(q, { ifUnused: true }))
    expect(info.code).toBe(406)
    expect(info.message).toContain(`PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`)
    await cons.close()
    ch.sendToQueue(q, Buffer.from('x'))
    await ch.waitForConfirms()
    const c2 = await channel(conn)
    const info2 = await expectClose(c2.deleteQueue(q, { ifEmpty: true }))
    expect(info2.code).toBe(406)
    expect(info2.message).toContain(`PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`)
    // if-unused without consumers and if-empty after purge succeed
    const c3 = await channel(conn)
    expect(await c3.purgeQueue(q)).toEqual({ messageCount: 1 })
    expect(await c3.deleteQueue(q, { ifUnused: true, ifEmpty: true })).toEqual({ messageCount: 0 })
  })

  it('purge returns the number of ready messages removed (not unacked ones)', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false })
    for (let i = 0; i < 7; i++) ch.sendToQueue(q, Buffer.from(String(i)))
    await ch.waitForConfirms()
    const getter = await channel(conn)
    const m = await getter.get(q)
    expect(m).not.toBe(false)
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 6 })
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 0 })
    // the unacked message comes back when its channel closes
    await getter.close()
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 1)
  })

  it('purge of a missing queue → 404', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    expect((await expectClose(ch.purgeQueue(uniq('missing')))).code).toBe(404)
  })
})

describe('bindings', () => {
  it('bind/unbind with arguments; unbind needs the same arguments; unbinding a missing binding is ok', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('hx'))
    await ch.assertExchange(x, 'headers', { durable: false })
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    const args = { 'x-match': 'any', color: 'red' }
    await ch.bindQueue(q, x, '', args)
    ch.publish(x, '', Buffer.from('1'), { headers: { color: 'red' } })
    await ch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(1)
    // unbinding with other arguments removes nothing (and is not an error)
    await ch.unbindQueue(q, x, '', { 'x-match': 'any', color: 'blue' })
    ch.publish(x, '', Buffer.from('2'), { headers: { color: 'red' } })
    await ch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(2)
    await ch.unbindQueue(q, x, '', args)
    ch.publish(x, '', Buffer.from('3'), { headers: { color: 'red' } })
    await ch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(2)
    // missing binding, again
    await ch.unbindQueue(q, x, '', args)
    await ch.unbindQueue(q, 'amq.direct', 'never-bound')
  })

  it('the same key with different arguments makes distinct bindings on a direct exchange', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const x = ctx.cleanup.x(uniq('dx'))
    await ch.assertExchange(x, 'direct', { durable: false })
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.bindQueue(q, x, 'k', { a: 1 })
    await ch.bindQueue(q, x, 'k', { a: 2 })
    await ch.unbindQueue(q, x, 'k', { a: 1 })
    ch.publish(x, 'k', Buffer.from('still routed'))
    await ch.waitForConfirms()
    expect((await ch.checkQueue(q)).messageCount).toBe(1)
  })

  it('binding a missing queue → 404; binding to a missing exchange → 404', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = uniq('missing')
    const info = await expectClose(ch.bindQueue(q, 'amq.direct', 'k'))
    expect(info.code).toBe(404)
    expect(info.message).toContain(`NOT_FOUND - no queue '${q}' in vhost '/'`)
    expect([info.classId, info.methodId]).toEqual([50, 20])
    const { ch: ch2 } = await connectWithChannel(ctx.url)
    const real = (await ch2.assertQueue('', { exclusive: true })).queue
    const x = uniq('missingx')
    const info2 = await expectClose(ch2.bindQueue(real, x, 'k'))
    expect(info2.code).toBe(404)
    expect(info2.message).toContain(`NOT_FOUND - no exchange '${x}' in vhost '/'`)
  })

  it('unbinding a missing queue or from a missing exchange is ok (RabbitMQ 3.10.8)', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    await ch.unbindQueue(uniq('missing'), 'amq.direct', 'k')
    await ch.unbindQueue(uniq('missing'), uniq('missingx'), 'k')
    await ch.checkExchange('amq.direct')
  })
})
