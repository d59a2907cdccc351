// ack / nack / reject / recover semantics. Checked against RabbitMQ 3.10.8.
import { describe, expect, it } from 'vitest'
import type { Channel } from 'amqplib'
import { useBroker } from '../helpers/setup'
import { sleep, uniq, waitFor } from '../helpers/broker'
import { bodies, channel, closed, collect, confirmChannel, connect, connectWithChannel } from '../helpers/amqp'

const ctx = useBroker()

async function queueWith(ch: Channel, n: number, durable = false): Promise<string> {
  const q = ctx.cleanup.q(uniq('q'))
  await ch.assertQueue(q, { durable })
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(String(i)))
  await waitFor(async () => (await ch.checkQueue(q)).messageCount === n)
  return q
}

async function getAll(ch: Channel, q: string): Promise<Array<{ body: string; redelivered: boolean }>> {
  const out: Array<{ body: string; redelivered: boolean }> = []
  for (;;) {
    const m = await ch.get(q, { noAck: true })
    if (!m) return out
    out.push({ body: m.content.toString(), redelivered: m.fields.redelivered })
  }
}

describe('ack / nack / reject', () => {
  it('ack multiple acks everything up to the tag', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 5)
    const c = await collect(ch, q)
    await c.waitFor(5)
    ch.ack(c.msgs[2]!, true) // 0,1,2
    const obs = await channel(conn)
    await ch.cancel(c.tag)
    await ch.close()
    expect(await getAll(obs, q)).toEqual([
      { body: '3', redelivered: true },
      { body: '4', redelivered: true },
    ])
  })

  it('ackAll acks every outstanding delivery', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 4)
    const c = await collect(ch, q)
    await c.waitFor(4)
    ch.ackAll()
    await ch.close()
    const obs = await channel(conn)
    expect((await obs.checkQueue(q)).messageCount).toBe(0)
  })

  it('requeued messages keep their original position and come back with redelivered=true', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 5)
    const got: Array<{ body: string; redelivered: boolean }> = []
    // take 0,1,2 with basic.get, reject 1 (requeue), nack 0 (requeue)
    const m0 = await ch.get(q)
    const m1 = await ch.get(q)
    const m2 = await ch.get(q)
    if (!m0 || !m1 || !m2) throw new Error('expected messages')
    ch.reject(m1, true)
    ch.nack(m0, false, true)
    ch.ack(m2)
    got.push(...(await getAll(ch, q)))
    expect(got).toEqual([
      { body: '0', redelivered: true },
      { body: '1', redelivered: true },
      { body: '3', redelivered: false },
      { body: '4', redelivered: false },
    ])
  })

  it('nack multiple with requeue=true requeues all up to the tag, in order', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 4)
    const c = await collect(ch, q)
    await c.waitFor(4)
    await ch.cancel(c.tag)
    ch.nack(c.msgs[2]!, true, true) // 0,1,2 back
    await sleep(100)
    expect(await getAll(ch, q)).toEqual([
      { body: '0', redelivered: true },
      { body: '1', redelivered: true },
      { body: '2', redelivered: true },
    ])
    ch.ack(c.msgs[3]!)
  })

  it('reject / nack with requeue=false discard the message', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 3)
    const m0 = await ch.get(q)
    const m1 = await ch.get(q)
    if (!m0 || !m1) throw new Error('expected messages')
    ch.reject(m0, false)
    ch.nack(m1, false, false)
    expect(await getAll(ch, q)).toEqual([{ body: '2', redelivered: false }])
  })

  it('nackAll requeues every outstanding delivery', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 3)
    await ch.get(q)
    await ch.get(q)
    ch.nackAll(true)
    expect(await getAll(ch, q)).toEqual([
      { body: '0', redelivered: true },
      { body: '1', redelivered: true },
      { body: '2', redelivered: false },
    ])
  })

  it('a requeued message is redelivered to a consumer with redelivered=true', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 1)
    await ch.prefetch(1)
    const c = await collect(ch, q)
    await c.waitFor(1)
    ch.nack(c.msgs[0]!, false, true)
    await c.waitFor(2)
    expect(c.msgs[1]!.content.toString()).toBe('0')
    expect(c.msgs[1]!.fields.redelivered).toBe(true)
    expect(c.msgs[1]!.fields.deliveryTag).toBe(2)
    ch.ack(c.msgs[1]!)
  })

  it('basic.recover (requeue=true) redelivers unacked messages', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 3)
    const c = await collect(ch, q)
    await c.waitFor(3)
    ch.ack(c.msgs[1]!)
    await ch.recover()
    await c.waitFor(5)
    const again = c.msgs.slice(3)
    expect(bodies(again)).toEqual(['0', '2'])
    expect(again.every((m) => m.fields.redelivered)).toBe(true)
  })

  it('unacked messages return to the queue (in order, redelivered) when the channel closes', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 4)
    const c = await collect(ch, q)
    await c.waitFor(4)
    ch.ack(c.msgs[1]!)
    await ch.close()
    const obs = await channel(conn)
    expect(await getAll(obs, q)).toEqual([
      { body: '0', redelivered: true },
      { body: '2', redelivered: true },
      { body: '3', redelivered: true },
    ])
  })

  it('unacked messages return to the queue when the connection closes', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = ctx.cleanup.q(uniq('q'))
    await ch.assertQueue(q, { durable: false })
    const pub = await confirmChannel(conn)
    for (let i = 0; i < 3; i++) pub.sendToQueue(q, Buffer.from(String(i)))
    await pub.waitForConfirms()
    const conn2 = await connect(ctx.url)
    const ch2 = await channel(conn2)
    const c = await collect(ch2, q)
    await c.waitFor(3)
    await conn2.close()
    await waitFor(async () => (await pub.checkQueue(q)).messageCount === 3)
    expect(await getAll(pub, q)).toEqual([
      { body: '0', redelivered: true },
      { body: '1', redelivered: true },
      { body: '2', redelivered: true },
    ])
  })

  it('ack with an unknown delivery tag → 406 PRECONDITION_FAILED channel close', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 1)
    const m = await ch.get(q)
    if (!m) throw new Error('expected a message')
    ch.ack({ ...m, fields: { ...m.fields, deliveryTag: 42 } })
    const info = await closed(ch)
    expect(info.code).toBe(406)
    expect(info.message).toContain('PRECONDITION_FAILED - unknown delivery tag 42')
    expect([info.classId, info.methodId]).toEqual([60, 80])
    // the message that was never acked is back
    const obs = await channel(conn)
    expect(await getAll(obs, q)).toEqual([{ body: '0', redelivered: true }])
  })

  it('double ack → 406', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 1)
    const m = await ch.get(q)
    if (!m) throw new Error('expected a message')
    ch.ack(m)
    ch.ack(m)
    const info = await closed(ch)
    expect(info.code).toBe(406)
    expect(info.message).toContain('PRECONDITION_FAILED - unknown delivery tag 1')
  })

  it('acking a no-ack delivery → 406 unknown delivery tag', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 1)
    const m = await ch.get(q, { noAck: true })
    if (!m) throw new Error('expected a message')
    ch.ack(m)
    expect((await closed(ch)).code).toBe(406)
  })

  it('reject / nack of an unknown tag → 406', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 1)
    const m = await ch.get(q)
    if (!m) throw new Error('expected a message')
    ch.reject({ ...m, fields: { ...m.fields, deliveryTag: 7 } }, true)
    const info = await closed(ch)
    expect(info.code).toBe(406)
    expect([info.classId, info.methodId]).toEqual([60, 90])
    const { ch: ch2 } = await connectWithChannel(ctx.url)
    const m2 = await ch2.get(q)
    if (!m2) throw new Error('expected a message')
    ch2.nack({ ...m2, fields: { ...m2.fields, deliveryTag: 9 } })
    const info2 = await closed(ch2)
    expect(info2.code).toBe(406)
    expect([info2.classId, info2.methodId]).toEqual([60, 120])
  })

  it('ack multiple with tag 0 acks everything outstanding', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = await queueWith(ch, 3)
    const c = await collect(ch, q)
    await c.waitFor(3)
    ch.ack({ ...c.msgs[0]!, fields: { ...c.msgs[0]!.fields, deliveryTag: 0 } }, true)
    await ch.close()
    const obs = await channel(conn)
    expect((await obs.checkQueue(q)).messageCount).toBe(0)
  })
})
