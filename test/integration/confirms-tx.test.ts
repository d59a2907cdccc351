// Publisher confirms and transactions. Checked against RabbitMQ 3.10.8.
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { sleep, uniq } from '../helpers/broker'
import { bodies, channel, collect, confirmChannel, connect, connectWithChannel, withTimeout } from '../helpers/amqp'

const ctx = useBroker()

describe('publisher confirms', () => {
  it('every publish is acked (amqplib handles multiple acks); delivery tags count from 1', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    const acks: Array<{ deliveryTag: number; multiple: boolean }> = []
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f))
    const N = 2000
    const results: Promise<void>[] = []
    for (let i = 0; i < N; i++) {
      results.push(
        new Promise<void>((res, rej) => ch.sendToQueue(q, Buffer.from(String(i)), {}, (err) => (err ? rej(err) : res()))),
      )
    }
    await withTimeout(Promise.all(results), 15000, 'confirms')
    // the highest confirmed tag is N, tags are monotonic
    expect(Math.max(...acks.map((a) => a.deliveryTag))).toBe(N)
    for (let i = 1; i < acks.length; i++) expect(acks[i]!.deliveryTag).toBeGreaterThan(acks[i - 1]!.deliveryTag)
    // every tag covered exactly once
    let covered = 0
    let prev = 0
    for (const a of acks) {
      covered += a.multiple ? a.deliveryTag - prev : 1
      prev = a.deliveryTag
    }
    expect(covered).toBe(N)
    expect((await ch.checkQueue(q)).messageCount).toBe(N)
  })

  it('a persistent message to a durable queue is confirmed', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const q = ctx.cleanup.q(uniq('dq'))
    await ch.assertQueue(q, { durable: true })
    await new Promise<void>((res, rej) => ch.sendToQueue(q, Buffer.from('p'), { persistent: true }, (e) => (e ? rej(e) : res())))
    expect((await ch.checkQueue(q)).messageCount).toBe(1)
  })

  it('unroutable messages are confirmed too (after the basic.return when mandatory)', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const order: string[] = []
    ch.on('return', () => order.push('return'))
    await new Promise<void>((res, rej) =>
      ch.publish('amq.direct', uniq('nobody'), Buffer.from('x'), { mandatory: true }, (e) => {
        order.push('ack')
        return e ? rej(e) : res()
      }),
    )
    await new Promise<void>((res, rej) => ch.publish('amq.direct', uniq('nobody'), Buffer.from('x'), {}, (e) => (e ? rej(e) : res())))
    expect(order).toEqual(['return', 'ack'])
  })

  it('confirm.select on a transactional channel → 406', async () => {
    const { conn } = await connectWithChannel(ctx.url)
    const ch = await channel(conn)
    const raw = ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }
    // tx.select (90,10) then confirm.select (85,10)
    await raw.rpc(0x005a000a, {}, 0x005a000b)
    const err = await raw.rpc(0x0055000a, { nowait: false }, 0x0055000b).then(
      () => undefined,
      (e: { code?: number; message: string }) => e,
    )
    expect(err?.code).toBe(406)
    expect(err?.message).toContain('PRECONDITION_FAILED - cannot switch from tx to confirm mode')
  })
})

describe('transactions', () => {
  async function txChannel(url: string) {
    const conn = await connect(url)
    const ch = await channel(conn)
    const raw = ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }
    return {
      conn,
      ch,
      select: () => raw.rpc(0x005a000a, {}, 0x005a000b),
      commit: () => raw.rpc(0x005a0014, {}, 0x005a0015),
      rollback: () => raw.rpc(0x005a001e, {}, 0x005a001f),
    }
  }

  it('published messages appear only after commit; rollback discards', async () => {
    const t = await txChannel(ctx.url)
    const q = (await t.ch.assertQueue('', { exclusive: true })).queue
    const observer = await channel(t.conn)
    await t.select()
    t.ch.sendToQueue(q, Buffer.from('1'))
    t.ch.sendToQueue(q, Buffer.from('2'))
    await sleep(150)
    expect((await observer.checkQueue(q)).messageCount).toBe(0)
    await t.commit()
    expect((await observer.checkQueue(q)).messageCount).toBe(2)
    t.ch.sendToQueue(q, Buffer.from('3'))
    await t.rollback()
    expect((await observer.checkQueue(q)).messageCount).toBe(2)
    t.ch.sendToQueue(q, Buffer.from('4'))
    await t.commit()
    const c = await collect(observer, q, { noAck: true })
    expect(bodies(await c.waitFor(3))).toEqual(['1', '2', '4'])
  })

  it('acks inside a transaction take effect on commit; rollback keeps them unacked', async () => {
    const t = await txChannel(ctx.url)
    const q = (await t.ch.assertQueue('', { exclusive: true })).queue
    for (let i = 0; i < 3; i++) t.ch.sendToQueue(q, Buffer.from(String(i)))
    await sleep(100)
    await t.select()
    const c = await collect(t.ch, q)
    await c.waitFor(3)
    const observer = await channel(t.conn)
    t.ch.ack(c.msgs[0]!)
    await t.rollback()
    // rolled-back ack: message still unacked, not ready
    expect((await observer.checkQueue(q)).messageCount).toBe(0)
    t.ch.ack(c.msgs[1]!)
    await t.commit()
    await t.ch.close()
    // msg 0 (ack rolled back) and msg 2 (never acked) come back; msg 1 is gone
    const m = await collect(observer, q, { noAck: true })
    const got = await m.waitFor(2)
    expect(bodies(got).sort()).toEqual(['0', '2'])
    expect(got.every((x) => x.fields.redelivered)).toBe(true)
  })

  it('tx.commit / tx.rollback without tx.select → 406', async () => {
    const t = await txChannel(ctx.url)
    const err = await t.commit().then(
      () => undefined,
      (e: { code?: number; message: string }) => e,
    )
    expect(err?.code).toBe(406)
    expect(err?.message).toContain('PRECONDITION_FAILED - channel is not transactional')
    const t2 = await txChannel(ctx.url)
    const err2 = await t2.rollback().then(
      () => undefined,
      (e: { code?: number }) => e,
    )
    expect(err2?.code).toBe(406)
  })

  it('tx.select on a confirm channel → 406', async () => {
    const conn = await connect(ctx.url)
    const ch = await confirmChannel(conn)
    const raw = ch as unknown as { rpc(m: number, f: object, e: number): Promise<unknown> }
    const err = await raw.rpc(0x005a000a, {}, 0x005a000b).then(
      () => undefined,
      (e: { code?: number; message: string }) => e,
    )
    expect(err?.code).toBe(406)
    expect(err?.message).toContain('PRECONDITION_FAILED - cannot switch from confirm to tx mode')
  })
})
