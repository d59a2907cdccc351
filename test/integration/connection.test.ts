// Connection-level behaviour: handshake, server properties, tune, SASL, heartbeats, vhosts,
// channel multiplexing. Expectations checked against RabbitMQ 3.10.8.
import amqp from 'amqplib'
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { uniq, urlWithCredentials, urlWithVhost, sleep } from '../helpers/broker'
import { channel, closed, connect, connectWithChannel, expectClose, expectConnectionClose } from '../helpers/amqp'
import { RawClient, decodeTable, Enc, methodFrame, PROTOCOL_HEADER } from '../helpers/raw'

const ctx = useBroker()

function port(): number {
  return ctx.broker.port
}
function host(): string {
  return ctx.broker.host
}

describe('connection.start / tune', () => {
  it('server-properties carry product, version, platform and the RabbitMQ capabilities', async () => {
    const conn = await connect(ctx.url)
    const props = (conn as unknown as { connection: { serverProperties: Record<string, unknown> } }).connection.serverProperties
    expect(typeof props.product).toBe('string')
    expect(String(props.product).length).toBeGreaterThan(0)
    expect(typeof props.version).toBe('string')
    expect(String(props.version).length).toBeGreaterThan(0)
    expect(typeof props.platform).toBe('string')
    const caps = props.capabilities as Record<string, unknown>
    expect(caps).toBeTypeOf('object')
    for (const c of [
      'publisher_confirms',
      'exchange_exchange_bindings',
      'basic.nack',
      'consumer_cancel_notify',
      'connection.blocked',
      'per_consumer_qos',
      'authentication_failure_close',
    ]) {
      expect(caps[c], c).toBe(true)
    }
  })

  it('connection.start (raw) is version 0-9, offers PLAIN and AMQPLAIN and en_US', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      c.write(PROTOCOL_HEADER)
      const f = await c.expectMethod(10, 10)
      expect(f.channel).toBe(0)
      expect(f.payload[4]).toBe(0) // version-major
      expect(f.payload[5]).toBe(9) // version-minor
      const [props, off] = decodeTable(f.payload, 6)
      expect(props.capabilities).toBeTypeOf('object')
      const mechLen = f.payload.readUInt32BE(off)
      const mechs = f.payload.subarray(off + 4, off + 4 + mechLen).toString().split(' ')
      expect(mechs).toContain('PLAIN')
      expect(mechs).toContain('AMQPLAIN')
      const locLen = f.payload.readUInt32BE(off + 4 + mechLen)
      const locales = f.payload.subarray(off + 8 + mechLen, off + 8 + mechLen + locLen).toString()
      expect(locales.split(' ')).toContain('en_US')
    } finally {
      c.destroy()
    }
  })

  it('connection.tune proposes channel_max 2047, frame_max 131072, heartbeat 60', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      const tune = await c.handshake()
      expect(tune).toEqual({ channelMax: 2047, frameMax: 131072, heartbeat: 60 })
    } finally {
      await c.close()
    }
  })

  it('amqplib negotiates the same values', async () => {
    const conn = await amqp.connect(ctx.url + '?heartbeat=60')
    conn.on('error', () => {})
    try {
      const inner = (conn as unknown as { connection: { channelMax: number; frameMax: number; heartbeat: number } }).connection
      expect(inner.channelMax).toBe(2047)
      expect(inner.frameMax).toBe(131072)
      expect(inner.heartbeat).toBe(60)
    } finally {
      await conn.close()
    }
  })
})

describe('SASL', () => {
  it('PLAIN works (amqplib default)', async () => {
    const { ch } = await connectWithChannel(ctx.url)
    const q = await ch.assertQueue('', { exclusive: true })
    expect(q.queue).toMatch(/^amq\.gen-/)
  })

  it('PLAIN works (raw)', async () => {
    const c = await RawClient.connect(port(), host())
    await c.handshake({ mechanism: 'PLAIN' })
    await c.openChannel(1)
    await c.close()
  })

  it('AMQPLAIN works (amqplib credentials.amqplain)', async () => {
    const conn = await connect(ctx.url, { credentials: amqp.credentials.amqplain('guest', 'guest') })
    const ch = await channel(conn)
    await ch.checkExchange('amq.direct')
  })

  it('AMQPLAIN works (raw)', async () => {
    const c = await RawClient.connect(port(), host())
    await c.handshake({ mechanism: 'AMQPLAIN' })
    await c.openChannel(1)
    await c.close()
  })

  it('wrong password: amqplib connect is refused with 403 ACCESS_REFUSED', async () => {
    const err = await amqp.connect(urlWithCredentials(ctx.url, 'guest', 'wrong')).then(
      (c) => {
        void c.close()
        throw new Error('connected with a wrong password')
      },
      (e: Error) => e,
    )
    expect(err.message).toMatch(/ACCESS_REFUSED|403/)
  })

  it('wrong password (raw): connection.close 403 ACCESS_REFUSED with class/method 0/0, then socket closed', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      c.write(PROTOCOL_HEADER)
      await c.expectMethod(10, 10)
      c.write(
        methodFrame(
          0,
          10,
          11,
          new Enc()
            .table({ capabilities: { authentication_failure_close: true } })
            .shortstr('PLAIN')
            .longstr('\0guest\0nope')
            .shortstr('en_US')
            .build(),
        ),
      )
      const close = await c.expectClose()
      expect(close.closeClass).toBe(10)
      expect(close.replyCode).toBe(403)
      expect(close.replyText).toMatch(/^ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/)
      expect([close.classId, close.methodId]).toEqual([0, 0])
      c.sendConnectionCloseOk()
      await c.waitEnd()
    } finally {
      c.destroy()
    }
  })

  it('unknown user is refused too', async () => {
    const err = await amqp.connect(urlWithCredentials(ctx.url, 'nobody-' + uniq(), 'x')).then(
      (c) => {
        void c.close()
        throw new Error('connected as an unknown user')
      },
      (e: Error) => e,
    )
    expect(err.message).toMatch(/ACCESS_REFUSED|403/)
  })
})

describe('vhosts', () => {
  it('guest works over loopback on the default vhost "/"', async () => {
    const { ch } = await connectWithChannel(urlWithVhost(ctx.url, '/'))
    await ch.checkExchange('amq.topic')
  })

  it('a missing vhost is refused with 530 NOT_ALLOWED (raw: reply text and class/method 10/40)', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      const vhost = 'missing-' + uniq()
      const err = await c.handshake({ vhost }).then(
        () => undefined,
        (e: Error) => e,
      )
      expect(err?.message).toContain('10.50')
      // handshake() consumed the close frame; reproduce with a fresh client to read it
    } finally {
      c.destroy()
    }
    const c2 = await RawClient.connect(port(), host())
    try {
      c2.write(PROTOCOL_HEADER)
      await c2.expectMethod(10, 10)
      c2.write(methodFrame(0, 10, 11, new Enc().table({}).shortstr('PLAIN').longstr('\0guest\0guest').shortstr('en_US').build()))
      await c2.expectMethod(10, 30)
      c2.write(methodFrame(0, 10, 31, new Enc().u16(2047).u32(131072).u16(0).build()))
      c2.write(methodFrame(0, 10, 40, new Enc().shortstr('nope-vhost').shortstr('').bit(false).build()))
      const close = await c2.expectClose()
      expect(close.replyCode).toBe(530)
      expect(close.replyText).toBe("NOT_ALLOWED - vhost nope-vhost not found")
      expect([close.classId, close.methodId]).toEqual([10, 40])
    } finally {
      c2.destroy()
    }
  })

  it('a missing vhost is refused through amqplib', async () => {
    const err = await amqp.connect(urlWithVhost(ctx.url, 'no-such-vhost')).then(
      (c) => {
        void c.close()
        throw new Error('connected to a missing vhost')
      },
      (e: Error) => e,
    )
    // amqplib 0.10 reports 'Expected ConnectionOpenOk; got <ConnectionClose channel:0>'
    expect(err.message).toMatch(/530|NOT_ALLOWED|ConnectionClose/)
  })
})

describe('protocol header', () => {
  it('a wrong protocol version gets AMQP0091 back and the socket closed', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      c.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 8, 0]))
      await c.waitEnd()
      expect(c.rawBytes).toEqual(PROTOCOL_HEADER)
    } finally {
      c.destroy()
    }
  })

  it('a non-AMQP greeting (HTTP) gets AMQP0091 back and the socket closed', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
      await c.waitEnd()
      expect(c.rawBytes).toEqual(PROTOCOL_HEADER)
    } finally {
      c.destroy()
    }
  })
})

describe('heartbeats', () => {
  it('with heartbeat=1 the server sends heartbeats and drops a silent client after ~2 missed intervals', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      await c.handshake({ heartbeat: 1 })
      const t0 = Date.now()
      await c.waitEnd(8000)
      const elapsed = c.endedAt! - t0
      // RabbitMQ 3.10.8: heartbeat frames every ~0.5 s, TCP close (no connection.close) after ~3 s.
      expect(c.heartbeatsReceived).toBeGreaterThanOrEqual(2)
      expect(elapsed).toBeGreaterThanOrEqual(1500)
      expect(elapsed).toBeLessThan(6000)
    } finally {
      c.destroy()
    }
  })

  it('a client that keeps sending heartbeats stays connected', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      await c.handshake({ heartbeat: 1 })
      const hb = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce])
      const timer = setInterval(() => c.write(hb), 400)
      await sleep(3500)
      clearInterval(timer)
      expect(c.ended).toBe(false)
      await c.openChannel(1)
    } finally {
      await c.close()
    }
  })

  it('heartbeat=0 in tune-ok disables heartbeats', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      await c.handshake({ heartbeat: 0 })
      await sleep(1500)
      expect(c.heartbeatsReceived).toBe(0)
      expect(c.ended).toBe(false)
    } finally {
      await c.close()
    }
  })
})

describe('connection.update-secret', () => {
  it('answers update-secret-ok (amqplib)', async () => {
    const conn = await connect(ctx.url)
    await conn.updateSecret(Buffer.from('guest'), 'rotation')
    const ch = await channel(conn)
    await ch.checkExchange('amq.direct')
  })

  it('answers update-secret-ok (raw, 10.71)', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      await c.handshake()
      c.write(methodFrame(0, 10, 70, new Enc().longstr('guest').shortstr('rotation').build()))
      const f = await c.expectMethod(10, 71)
      expect(f.channel).toBe(0)
    } finally {
      await c.close()
    }
  })
})

describe('channels', () => {
  it('many channels on one connection keep independent state', async () => {
    const conn = await connect(ctx.url)
    const chans = await Promise.all(Array.from({ length: 20 }, () => channel(conn)))
    // per-channel state: prefetch and confirm mode / consumers
    const q = ctx.cleanup.q(uniq('q'))
    await chans[0]!.assertQueue(q, { autoDelete: false })
    for (let i = 0; i < 20; i++) chans[0]!.sendToQueue(q, Buffer.from(String(i)))
    await chans[1]!.prefetch(1)
    const got1: string[] = []
    const got2: string[] = []
    await chans[1]!.consume(q, (m) => m && got1.push(m.content.toString()))
    await chans[2]!.prefetch(100)
    await chans[2]!.consume(q, (m) => m && got2.push(m.content.toString()))
    await sleep(300)
    // channel 1 (prefetch 1, never acks) holds exactly one message, channel 2 the rest
    expect(got1.length).toBe(1)
    expect(got1.length + got2.length).toBe(20)
  })

  it('a channel error closes only that channel', async () => {
    const conn = await connect(ctx.url)
    const a = await channel(conn)
    const b = await channel(conn)
    const info = await expectClose(a.checkQueue(uniq('missing')))
    expect(info.code).toBe(404)
    expect((await closed(a)).code).toBe(404)
    // b and the connection still work
    await b.checkExchange('amq.fanout')
    const c = await channel(conn)
    await c.checkExchange('amq.direct')
  })

  it("one connection's error does not affect another connection", async () => {
    const c1 = await connect(ctx.url)
    const c2 = await connect(ctx.url)
    const ch2 = await channel(c2)
    const q = ctx.cleanup.q(uniq('q'))
    await ch2.assertQueue(q)
    const ch1 = await channel(c1)
    // connection error on c1: unknown exchange type → 503 COMMAND_INVALID
    const info = await expectConnectionClose(c1, ch1.assertExchange(uniq('x'), 'no-such-type'))
    expect(info.code).toBe(503)
    ch2.sendToQueue(q, Buffer.from('still here'))
    const m = await ch2.get(q, { noAck: true })
    expect(m && m.content.toString()).toBe('still here')
  })

  it('channel.close by the client then reopening works; channel ids are reusable', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      await c.handshake()
      await c.openChannel(1)
      c.write(methodFrame(1, 20, 40, new Enc().u16(200).shortstr('bye').u16(0).u16(0).build()))
      await c.expectMethod(20, 41)
      await c.openChannel(1)
      await c.openChannel(2047)
    } finally {
      await c.close()
    }
  })

  it('connection.close by the client gets close-ok', async () => {
    const c = await RawClient.connect(port(), host())
    try {
      await c.handshake()
      c.write(methodFrame(0, 10, 50, new Enc().u16(200).shortstr('bye').u16(0).u16(0).build()))
      await c.expectMethod(10, 51)
      // RabbitMQ leaves closing the TCP socket to the client after close-ok
    } finally {
      c.destroy()
    }
  })
})

