// Protocol errors: hard (connection) vs soft (channel) errors, reply codes/texts and the
// class/method ids of the offending method. Raw frames where amqplib cannot express the case.
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { uniq } from '../helpers/broker'
import { channel, closed, connect, connectWithChannel, expectConnectionClose } from '../helpers/amqp'
import { RawClient, Enc, methodFrame, bodyFrame, headerFrame } from '../helpers/raw'

const ctx = useBroker()

async function raw(): Promise<RawClient> {
  const c = await RawClient.connect(ctx.broker.port, ctx.broker.host)
  await c.handshake()
  return c
}

describe('connection errors (hard)', () => {
  it('basic.publish immediate=true → 540 NOT_IMPLEMENTED connection close (60/40)', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.sendPublish(1, '', 'nowhere', 'x', { immediate: true })
      const close = await c.expectClose()
      expect(close).toMatchObject({ channel: 0, closeClass: 10, replyCode: 540, replyText: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 })
    } finally {
      c.destroy()
    }
  })

  it('basic.qos prefetch_size≠0 → 540 (60/10)', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(methodFrame(1, 60, 10, new Enc().u32(1000).u16(10).bit(false).build()))
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 540, classId: 60, methodId: 10 })
      expect(close.replyText).toBe('NOT_IMPLEMENTED - prefetch_size!=0 (1000)')
    } finally {
      c.destroy()
    }
  })

  it('basic.recover requeue=false → 540 (60/110)', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(methodFrame(1, 60, 110, new Enc().bit(false).build()))
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 540, classId: 60, methodId: 110 })
      expect(close.replyText).toBe('NOT_IMPLEMENTED - requeue=false')
    } finally {
      c.destroy()
    }
  })

  it('reusing a consumer tag on a channel → 530 NOT_ALLOWED connection close (amqplib)', async () => {
    const conn = await connect(ctx.url)
    const ch = await channel(conn)
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.consume(q, () => {}, { consumerTag: 'dup' })
    const info = await expectConnectionClose(conn, ch.consume(q, () => {}, { consumerTag: 'dup' }))
    expect(info.code).toBe(530)
    expect(info.message).toContain("NOT_ALLOWED - attempt to reuse consumer tag 'dup'")
  })

  it('the same consumer tag on two different channels is fine', async () => {
    const { conn, ch } = await connectWithChannel(ctx.url)
    const q = (await ch.assertQueue('', { exclusive: true })).queue
    await ch.consume(q, () => {}, { consumerTag: 'same' })
    const ch2 = await channel(conn)
    await ch2.consume(q, () => {}, { consumerTag: 'same' })
    expect((await ch.checkQueue(q)).consumerCount).toBe(2)
  })

  it('channel.open on an already-open channel id → 504 CHANNEL_ERROR (20/10)', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.sendChannelOpen(1)
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 504, replyText: "CHANNEL_ERROR - second 'channel.open' seen", classId: 20, methodId: 10 })
    } finally {
      c.destroy()
    }
  })

  it('a method on an unopened channel → 504 (class/method of that method)', async () => {
    const c = await raw()
    try {
      c.sendQueueDeclare(5, uniq('q'), { exclusive: true })
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 504, replyText: "CHANNEL_ERROR - expected 'channel.open'", classId: 50, methodId: 10 })
    } finally {
      c.destroy()
    }
  })

  it('a method on a channel the client has closed → 504', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(methodFrame(1, 20, 40, new Enc().u16(200).shortstr('bye').u16(0).u16(0).build()))
      await c.expectMethod(20, 41)
      c.sendQueueDeclare(1, uniq('q'), { exclusive: true })
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 504, classId: 50, methodId: 10 })
    } finally {
      c.destroy()
    }
  })

  it('a content body frame without a header → 505 UNEXPECTED_FRAME', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(bodyFrame(1, 'orphan body'))
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 505, classId: 0, methodId: 0 })
      expect(close.replyText).toBe('UNEXPECTED_FRAME - expected method frame, got non method frame instead')
    } finally {
      c.destroy()
    }
  })

  it('a content header without a preceding publish → 505', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(headerFrame(1, 60, 3))
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 505 })
    } finally {
      c.destroy()
    }
  })

  it('a method frame where the body was expected → 505', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(methodFrame(1, 60, 40, new Enc().u16(0).shortstr('').shortstr('x').bit(false).bit(false).build()))
      c.write(headerFrame(1, 60, 10))
      c.write(methodFrame(1, 60, 40, new Enc().u16(0).shortstr('').shortstr('x').bit(false).bit(false).build()))
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 505, classId: 60, methodId: 40 })
    } finally {
      c.destroy()
    }
  })

  it('garbage bytes after the handshake → 501 FRAME_ERROR; the broker keeps serving other connections', async () => {
    const c = await raw()
    try {
      c.write(Buffer.from('\x09\x00\x00\x00\x00\x00\x01xyz this is not a frame', 'binary'))
      const close = await c.expectClose()
      expect(close).toMatchObject({ closeClass: 10, replyCode: 501, classId: 0, methodId: 0 })
      expect(close.replyText).toMatch(/^FRAME_ERROR - /)
    } finally {
      c.destroy()
    }
    const c2 = await raw()
    try {
      c2.write(Buffer.from([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x14, 0x00, 0x0a, 0x00])) // bad frame-end
      const close = await c2.expectClose()
      expect(close.replyCode).toBe(501)
    } finally {
      c2.destroy()
    }
    const { ch } = await connectWithChannel(ctx.url)
    await ch.checkExchange('amq.direct')
  })

  it('a frame larger than frame_max → 501 FRAME_ERROR', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(methodFrame(1, 60, 40, new Enc().u16(0).shortstr('').shortstr('x').bit(false).bit(false).build()))
      c.write(headerFrame(1, 60, 200_000))
      c.write(bodyFrame(1, Buffer.alloc(200_000)))
      const close = await c.expectClose()
      expect(close.replyCode).toBe(501)
    } finally {
      c.destroy()
    }
  })

  it('an unknown method id → the connection is dropped (RabbitMQ 3.10.8: TCP close, no connection.close)', async () => {
    const c = await raw()
    try {
      await c.openChannel(1)
      c.write(methodFrame(1, 60, 250))
      await c.waitEnd(5000)
    } finally {
      c.destroy()
    }
    const { ch } = await connectWithChannel(ctx.url)
    await ch.checkExchange('amq.direct')
  })

  it('a connection error on one connection leaves other connections alone', async () => {
    const { ch: survivor } = await connectWithChannel(ctx.url)
    const q = (await survivor.assertQueue('', { exclusive: true })).queue
    const c = await raw()
    try {
      await c.openChannel(1)
      c.sendPublish(1, '', q, 'x', { immediate: true })
      expect((await c.expectClose()).replyCode).toBe(540)
    } finally {
      c.destroy()
    }
    survivor.sendToQueue(q, Buffer.from('ok'))
    const m = await survivor.get(q, { noAck: true })
    expect(m && m.content.toString()).toBe('ok')
  })
})

describe('no-error cases', () => {
  it('deleting a missing queue or exchange and cancelling an unknown consumer tag are not errors', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    await ch.deleteQueue(uniq('missing'))
    await ch.deleteExchange(uniq('missing'))
    await ch.cancel('no-such-consumer-tag')
    await ch.checkExchange('amq.direct')
  })

  it('channel close frames carry the class and method id of the offending method', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    void ch.checkQueue(uniq('missing')).catch(() => undefined)
    const info = await closed(ch)
    expect(info).toMatchObject({ code: 404, classId: 50, methodId: 10 })
  })

  it('raw: a soft error is a channel.close on that channel; close-ok frees it for reuse', async () => {
    const c = await raw()
    try {
      await c.openChannel(3)
      c.sendQueueDeclare(3, uniq('missing'), { passive: true })
      const close = await c.expectClose()
      expect(close).toMatchObject({ channel: 3, closeClass: 20, replyCode: 404, classId: 50, methodId: 10 })
      c.write(methodFrame(3, 20, 41))
      await c.openChannel(3)
    } finally {
      await c.close()
    }
  })
})
